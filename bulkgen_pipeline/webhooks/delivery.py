"""Sending the webhook outbox: claim what is due, check the address again, sign, POST, record.

A delivery succeeds on a 2xx answer. Anything else (another status, a redirect, a timeout, a
refused address, a user without a secret) is recorded as a failed attempt and tried again on
the schedule in `db.webhooks.RETRY_SCHEDULE_S`. Each attempt is signed anew with the user's
current secret and the attempt's time, as Standard Webhooks asks, so a rotated secret applies
to retries too. One job's deliveries go out in order; different jobs' in parallel.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

import httpx

from bulkgen_pipeline.db.engine import Database
from bulkgen_pipeline.db.models import utcnow
from bulkgen_pipeline.db.webhooks import (
    DeliveryView,
    claim_due,
    has_due,
    record_attempt,
    webhook_secret,
)
from bulkgen_pipeline.webhooks.policy import WebhookUrlRejected, check_webhook_url
from bulkgen_pipeline.webhooks.signing import SECRET_PREFIX, sign
from bulkgen_pipeline.webhooks.transport import REQUEST_TIMEOUT, SEND_TIMEOUT_S, webhook_client

log = logging.getLogger(__name__)

# Claimed per pass. The claim lasts db.webhooks.CLAIM_SECONDS (60 s); with this many workers
# and a 10 s request timeout a pass ends well inside it, so no other sender re-sends meanwhile.
CLAIM_BATCH = 16
PARALLEL_JOBS = 8
MAX_ERROR_CHARS = 500
NO_SECRET_ERROR = (
    "the user has no webhook secret; create one with "
    "`bulkgen users rotate-webhook-secret --user <id>`"
)


def _redact(text: str, secret: str | None) -> str:
    """`text` without the secret (whole or its key part) and cut to a readable length."""
    if secret:
        for part in (secret, secret.removeprefix(SECRET_PREFIX)):
            if part:
                text = text.replace(part, "[redacted]")
    return text[:MAX_ERROR_CHARS]


def _describe_failure(exc: httpx.HTTPError) -> str:
    """A sentence for the merchant's status page (never an exception's class name)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {SEND_TIMEOUT_S:g} s"
    what = "could not connect" if isinstance(exc, httpx.ConnectError) else "the request failed"
    return f"{what}: {exc}" if str(exc) else what


def _describe_status(response: httpx.Response) -> str:
    if response.is_redirect:
        return (
            f"answered HTTP {response.status_code}, a redirect; redirects are not followed, "
            "give the final address as webhook_url"
        )
    return f"answered HTTP {response.status_code}; only 2xx counts as delivered"


def _attempt(
    database: Database,
    delivery: DeliveryView,
    *,
    allow_private: bool,
    client: httpx.Client,
    now: datetime | None,
) -> None:
    attempted_at = now or utcnow()
    status_code: int | None = None
    secret: str | None = None
    started = time.monotonic()
    duration_ms: int | None = None
    try:
        check_webhook_url(delivery.url, allow_private=allow_private)
        with database.session(readonly=True) as session:
            secret = webhook_secret(session, delivery.user_id)
        if not secret:
            error: str | None = NO_SECRET_ERROR
        else:
            body = delivery.payload.encode("utf-8")
            headers = {"content-type": "application/json"}
            headers.update(sign(secret, delivery.webhook_id, attempted_at, body))
            started = time.monotonic()
            response = client.post(
                delivery.url,
                content=body,
                headers=headers,
                timeout=REQUEST_TIMEOUT,
                follow_redirects=False,
            )
            duration_ms = round((time.monotonic() - started) * 1000)
            status_code = response.status_code
            error = None if response.is_success else _describe_status(response)
    except WebhookUrlRejected as exc:
        error = f"refused: webhook_url {exc}"
    except httpx.HTTPError as exc:
        duration_ms = round((time.monotonic() - started) * 1000)
        error = _describe_failure(exc)
    except Exception as exc:  # recorded and retried like any failure; the pass goes on
        log.warning("webhook %s: unexpected %s", delivery.webhook_id, type(exc).__name__)
        error = "could not send the request (an unexpected error; see the API's log)"
    if error is not None:
        error = _redact(error, secret)
    with database.session() as session:
        outcome = record_attempt(
            session,
            delivery.id,
            delivered=error is None,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
            now=attempted_at,
        )
    if error is not None:
        log.info(
            "webhook %s for job %s: attempt failed (%s), now %s",
            delivery.webhook_id,
            delivery.run_id,
            error,
            outcome,
        )


def _deliver_in_order(
    database: Database,
    deliveries: list[DeliveryView],
    *,
    allow_private: bool,
    client: httpx.Client,
    now: datetime | None,
) -> None:
    for delivery in deliveries:
        _attempt(database, delivery, allow_private=allow_private, client=client, now=now)


def deliver_due(
    database: Database,
    *,
    allow_private: bool,
    client: httpx.Client,
    now: datetime | None = None,
) -> int:
    """Attempt every delivery due at `now` (default: the clock); returns how many were
    attempted. `allow_private` is BULKGEN_WEBHOOK_ALLOW_PRIVATE; `client` is normally
    `transport.webhook_client(allow_private=...)`."""
    with database.session(readonly=True) as session:
        if not has_due(session, now):
            return 0
    with database.session() as session:
        due = claim_due(session, now=now, limit=CLAIM_BATCH)
    if not due:
        return 0
    by_job: dict[str, list[DeliveryView]] = defaultdict(list)
    for delivery in due:
        by_job[delivery.run_id].append(delivery)
    groups = list(by_job.values())
    send = partial(_deliver_in_order, database, allow_private=allow_private, client=client, now=now)
    if len(groups) == 1:
        send(groups[0])
    else:
        with ThreadPoolExecutor(min(PARALLEL_JOBS, len(groups))) as pool:
            list(pool.map(send, groups))  # list(): re-raise a worker's exception here
    return len(due)


class WebhookSender:
    """Delivers due webhooks from a daemon thread until stopped (the API runs one)."""

    def __init__(self, database: Database, *, allow_private: bool, interval_s: float = 1.0):
        self.database = database
        self.allow_private = allow_private
        self.interval_s = interval_s
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="bulkgen-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = SEND_TIMEOUT_S + 5) -> None:
        """Stop after the attempt in flight, if any (a request ends within its timeout)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        with webhook_client(allow_private=self.allow_private) as client:
            while not self._stopping.is_set():
                try:
                    attempted = deliver_due(
                        self.database, allow_private=self.allow_private, client=client
                    )
                except Exception as exc:  # keep sending; the next pass retries
                    # Only the kind of error: a database error's text carries SQL parameters.
                    log.warning("webhook sender pass failed: %s", type(exc).__name__)
                    attempted = 0
                if attempted < CLAIM_BATCH:  # a full batch means more may be due right now
                    self._stopping.wait(self.interval_s)
