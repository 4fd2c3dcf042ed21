"""Standard Webhooks signatures (https://www.standardwebhooks.com), symmetric scheme `v1`.

A secret is `whsec_` + the base64 of 32 random bytes; those bytes are the HMAC-SHA256 key. The
signed content is `{webhook-id}.{webhook-timestamp}.{body}`, the body exactly as sent. The
`webhook-signature` header is a space-separated list of `v1,<base64 signature>` entries.

`sign` is what bulkgen does before every attempt; `verify` is what a merchant's receiver does
(the README shows it; the tests' receivers use it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bulkgen_pipeline.domain.credentials import SECRET_PREFIX
from bulkgen_pipeline.domain.credentials import new_secret as new_secret  # re-exported

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300  # a delivery older or newer than this is refused (replays)

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


class WebhookVerificationError(ValueError):
    """The request is not a genuine, fresh delivery; the message says which check failed."""


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        # Never echo the secret itself.
        raise ValueError("the webhook secret is not 'whsec_' followed by base64") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def _unix_seconds(timestamp: datetime | int) -> int:
    return int(timestamp.timestamp()) if isinstance(timestamp, datetime) else int(timestamp)


def signature(secret: str, msg_id: str, timestamp: datetime | int, body: bytes | str) -> str:
    """One `v1,<base64>` signature of `body` as sent with these id and timestamp headers."""
    if "." in msg_id:
        # The id is a delimiter-separated part of the signed content; the spec forbids dots.
        raise ValueError("a webhook id may not contain '.'")
    raw = body.encode("utf-8") if isinstance(body, str) else body
    content = f"{msg_id}.{_unix_seconds(timestamp)}.".encode() + raw
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def sign(secret: str, msg_id: str, timestamp: datetime | int, body: bytes | str) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt."""
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(_unix_seconds(timestamp)),
        SIGNATURE_HEADER: signature(secret, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: datetime | float | None = None,
) -> Any:
    """Check a received delivery and return its JSON payload.

    `body` must be the raw bytes received (re-serialised JSON will not match). Raises
    WebhookVerificationError when a header is missing, the timestamp is outside `tolerance_s`
    of `now` (default: the clock) or no `v1` signature matches (compared in constant time)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get(ID_HEADER)
    timestamp_text = lowered.get(TIMESTAMP_HEADER)
    signatures = lowered.get(SIGNATURE_HEADER)
    if not (msg_id and timestamp_text and signatures):
        raise WebhookVerificationError(
            f"missing one of the {ID_HEADER}, {TIMESTAMP_HEADER}, {SIGNATURE_HEADER} headers"
        )
    if not timestamp_text.isascii() or not timestamp_text.isdigit():
        raise WebhookVerificationError(f"{TIMESTAMP_HEADER} is not a Unix time in seconds")
    sent_at = int(timestamp_text)
    current = time.time() if now is None else now.timestamp() if isinstance(now, datetime) else now
    if abs(current - sent_at) > tolerance_s:
        raise WebhookVerificationError(
            f"{TIMESTAMP_HEADER} is more than {tolerance_s:g} s away from now (a replay?)"
        )
    try:
        expected = signature(secret, msg_id, sent_at, body).encode("ascii")
    except ValueError as exc:
        raise WebhookVerificationError(str(exc)) from None
    matched = False
    for candidate in signatures.split(" "):
        # Every entry is compared, so the time taken does not tell which one matched.
        matched |= hmac.compare_digest(expected, candidate.encode("utf-8", "replace"))
    if not matched:
        raise WebhookVerificationError("no v1 signature matches this body and secret")
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    return json.loads(raw)
