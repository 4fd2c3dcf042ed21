"""A merchant's webhook receiver on 127.0.0.1, a user with a preset, and queued jobs."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bulkgen_pipeline import db as dbm
from bulkgen_pipeline.runs.presets import create_preset
from bulkgen_pipeline.runs.queueing import Webhook, start_run
from bulkgen_pipeline.webhooks.signing import WebhookVerificationError, verify

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    payload: Any  # what `verify` returned; None when verification failed
    problem: str | None  # why verification failed


@dataclass
class Receiver:
    """Verifies every delivery with `secret` the way a merchant would (a bad signature is
    answered 401); `answer(...)` scripts the status codes of the next requests."""

    url: str
    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    _answers: deque[int] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *statuses: int) -> None:
        self._answers.extend(statuses)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        payload, problem = None, None
        try:
            payload = verify(self.secret or "", headers, body)
        except WebhookVerificationError as exc:
            problem = str(exc)
        with self._lock:
            self.received.append(Received(path, headers, body, payload, problem))
            if self._answers:
                return self._answers.popleft()
        return 204 if problem is None else 401

    @property
    def verified(self) -> list[Any]:
        return [r.payload for r in self.received if r.problem is None]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks/bulkgen")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = state.handle(self.path, headers, body)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("location", "/hooks/elsewhere")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Merchant:
    user_id: str
    api_key: str
    webhook_secret: str
    preset_id: str


@pytest.fixture
def merchant(db, monkeypatch) -> Merchant:
    """A user (created the way `bulkgen users create` does) with the sample bags preset."""
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    with db.session() as session:
        created = dbm.create_user(session, "Webhook shop", 100)
    data = json.loads((EXAMPLES / "professional_bags.json").read_text())
    preset_id = create_preset(db, created.user_id, data)
    return Merchant(created.user_id, created.api_key, created.webhook_secret, preset_id)


def queue_job(
    database: dbm.Database,
    merchant: Merchant,
    url: str,
    events: list[str] | None = None,
    *,
    allow_private: bool = True,
) -> str:
    """A job queued through the use case the API calls, subscribed to `url`."""
    return start_run(
        database,
        user_id=merchant.user_id,
        preset_id=merchant.preset_id,
        count=2,
        webhook=Webhook(url, events),
        allow_private_webhooks=allow_private,
        max_active_jobs=10,
    ).job_id


def cancel(database: dbm.Database, run_id: str) -> None:
    """queued → cancelled: the job.cancelled event, and its delivery in the outbox."""
    with database.session() as session:
        dbm.request_cancel(session, run_id)
