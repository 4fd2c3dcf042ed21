"""Standard Webhooks signatures: what bulkgen sends verifies with the reference library and
with `verify`, and `verify` refuses everything that is not a fresh, genuine delivery."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import standardwebhooks

from bulkgen_pipeline.webhooks.signing import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookVerificationError,
    new_secret,
    sign,
    verify,
)

BODY = json.dumps(
    {"type": "job.completed", "timestamp": "2026-01-01T00:00:00+00:00", "data": {"job_id": "j"}},
    separators=(",", ":"),
).encode()
MSG_ID = "msg_0123456789abcdef"


def test_a_new_secret_is_whsec_and_32_random_bytes():
    first, second = new_secret(), new_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32


def test_signatures_verify_with_the_reference_library_and_back():
    secret = new_secret()
    now = datetime.now(UTC)
    headers = sign(secret, MSG_ID, now, BODY)
    assert headers[TIMESTAMP_HEADER] == str(int(now.timestamp()))
    assert headers[SIGNATURE_HEADER].startswith("v1,")
    reference = standardwebhooks.Webhook(secret)
    assert reference.verify(BODY, headers) == json.loads(BODY)
    # and what the reference library signs, `verify` accepts
    theirs = reference.sign(MSG_ID, now, BODY.decode())
    assert theirs == headers[SIGNATURE_HEADER]
    ours = {**headers, SIGNATURE_HEADER: theirs}
    assert verify(secret, ours, BODY) == json.loads(BODY)


def test_verify_accepts_any_matching_entry_and_header_case():
    secret, old = new_secret(), new_secret()
    headers = sign(secret, MSG_ID, datetime.now(UTC), BODY)
    old_signature = sign(old, MSG_ID, datetime.now(UTC), BODY)[SIGNATURE_HEADER]
    rotated = f"{old_signature} {headers[SIGNATURE_HEADER]}"
    upper = {name.upper(): value for name, value in headers.items()}
    assert verify(secret, {**upper, SIGNATURE_HEADER.upper(): rotated}, BODY)["type"] == (
        "job.completed"
    )


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda h, b: (h, b.replace(b"completed", b"failed")), "no v1 signature"),
        (lambda h, b: ({**h, "webhook-id": "msg_other"}, b), "no v1 signature"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), "missing"),
        (lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), "no v1 signature"),
        (lambda h, b: ({**h, "webhook-timestamp": "12e3"}, b), "Unix time"),
        (
            lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) - 301)}, b),
            "away from now",
        ),
        (
            lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 301)}, b),
            "away from now",
        ),
    ],
)
def test_verify_refuses_a_tampered_stale_or_incomplete_delivery(tamper, message):
    secret = new_secret()
    headers = sign(secret, MSG_ID, datetime.now(UTC), BODY)
    bad_headers, bad_body = tamper(headers, BODY)
    with pytest.raises(WebhookVerificationError, match=message):
        verify(secret, bad_headers, bad_body)


def test_verify_refuses_another_secret_without_echoing_either():
    secret, other = new_secret(), new_secret()
    headers = sign(secret, MSG_ID, datetime.now(UTC), BODY)
    with pytest.raises(WebhookVerificationError) as caught:
        verify(other, headers, BODY)
    assert secret not in str(caught.value) and other not in str(caught.value)
    with pytest.raises(WebhookVerificationError, match="not 'whsec_' followed by base64"):
        verify("whsec_not base64!", headers, BODY)


def test_the_timestamp_tolerance_is_measured_from_the_given_now():
    secret = new_secret()
    sent = datetime(2026, 1, 1, tzinfo=UTC)
    headers = sign(secret, MSG_ID, sent, BODY)
    assert verify(secret, headers, BODY, now=sent.timestamp() + 299)["data"] == {"job_id": "j"}
    with pytest.raises(WebhookVerificationError):
        verify(secret, headers, BODY, now=sent.timestamp() + 299, tolerance_s=60)


def test_a_webhook_id_with_a_dot_is_refused():
    # The id is one of the dot-separated parts of the signed content.
    with pytest.raises(ValueError, match="may not contain"):
        sign(new_secret(), "msg.1", 0, BODY)
