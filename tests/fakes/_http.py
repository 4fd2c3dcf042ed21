"""Shared plumbing for the fake provider servers: a threaded stdlib HTTP server on 127.0.0.1,
a failure plan (scheduled, N-th request, seeded ratio, down), request records and an in-flight
gauge. No third-party dependencies, so the fakes run anywhere the tests run.
"""

from __future__ import annotations

import io
import json
import random
import sys
import threading
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from PIL import Image


@dataclass(frozen=True)
class Failure:
    status: int
    retry_after: float | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FailurePlan:
    """Decides, per counted request, whether the fake answers with an error.

    Precedence: `down` > scheduled next-N > N-th request > seeded random mix. The random mix is
    a seeded fault plan: one draw per request picks at most one of its failures (e.g. 20 % HTTP
    500 and 10 % 429 with Retry-After). By default the draws follow the order requests arrive
    in; keyed by request (`by_key=True`, the handler passing what identifies the request), the
    k-th try of one request always draws the same, however threads interleave, so a test's
    outcome per image is reproducible.
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._scheduled: deque[Failure] = deque()
        self.nth: dict[int, Failure] = {}
        self.mix: list[tuple[float, Failure]] = []  # (probability, failure), drawn in order
        self.by_key = False
        self._mix_seed = seed
        self._tries: Counter[str] = Counter()  # request key -> tries seen (by_key mode)
        # by_key mode: request key -> status -> errors answered to that request
        self.injected_by_key: dict[str, Counter[int]] = {}
        self.down_status: int | None = None
        self.seen = 0
        self.injected: Counter[int] = Counter()  # status -> errors answered, for assertions

    def fail_next(self, n: int, status: int = 500, retry_after: float | None = None) -> None:
        with self._lock:
            self._scheduled.extend(Failure(status, retry_after) for _ in range(n))

    def fail_nth(self, n: int, status: int = 500, retry_after: float | None = None) -> None:
        """Fail the n-th counted request (1-based, counted from server start)."""
        with self._lock:
            self.nth[n] = Failure(status, retry_after)

    def set_ratio(self, ratio: float, status: int = 500, seed: int | None = None) -> None:
        self.set_mix([(ratio, Failure(status))] if ratio else [], seed=seed)

    def set_mix(
        self,
        mix: Sequence[tuple[float, Failure]],
        *,
        seed: int | None = None,
        by_key: bool = False,
    ) -> None:
        """Fail each request at random: with probability p_i with failure_i (sum(p_i) <= 1)."""
        if sum(p for p, _ in mix) > 1 or any(p < 0 for p, _ in mix):
            raise ValueError("fault probabilities must be >= 0 and sum to at most 1")
        with self._lock:
            self.mix = list(mix)
            self.by_key = by_key
            if seed is not None:
                self._rng = random.Random(seed)
                self._mix_seed = seed

    def decide(self, key: str | None = None) -> Failure | None:
        with self._lock:
            self.seen += 1
            failure = self._decide(key)
            if failure is not None:
                self.injected[failure.status] += 1
                if self.by_key and key is not None:
                    self.injected_by_key.setdefault(key, Counter())[failure.status] += 1
            return failure

    def _decide(self, key: str | None) -> Failure | None:
        if self.down_status is not None:
            return Failure(self.down_status)
        if self._scheduled:
            return self._scheduled.popleft()
        if self.seen in self.nth:
            return self.nth[self.seen]
        if not self.mix:
            return None
        if self.by_key and key is not None:
            tries = self._tries[key]
            self._tries[key] += 1
            # A str seed hashes with SHA-512: the same on every run, whatever PYTHONHASHSEED.
            draw = random.Random(f"{self._mix_seed}/{key}/{tries}").random()
        else:
            draw = self._rng.random()
        for probability, failure in self.mix:
            if draw < probability:
                return failure
            draw -= probability
        return None


@lru_cache(maxsize=64)
def png_bytes(width: int, height: int, shade: int = 120) -> bytes:
    """A small real PNG (cached: the fakes must not spend the benchmark's time on Pillow)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 90, 200 - shade // 2)).save(out, format="PNG")
    return out.getvalue()


def small_size_for_ratio(ratio: str | None, long_side: int = 64) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in (ratio or "1:1").split(":"))
    except ValueError:
        w, h = 1, 1
    if w >= h:
        return long_side, max(1, round(long_side * h / w))
    return max(1, round(long_side * w / h)), long_side


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler must never block interpreter exit
    allow_reuse_address = True
    # The stdlib's listen backlog is 5: a burst of a hundred clients overflowed it (connections
    # reset, or retried a second later), which no real provider does.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or drop a keep-alive connection are part of the tests;
        # only real handler bugs deserve the stdlib's traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class JsonHandler(BaseHTTPRequestHandler):
    """Base handler: JSON in/out, quiet logs, tolerant of clients that hang up (timeouts)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK adds
    # ~40 ms to every response, which would swamp the latencies the tests inject.
    disable_nagle_algorithm = True
    fake: FakeServer  # set on the subclass built per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return raw.decode("utf-8", "replace")

    def send_bytes(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client timed out and left

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def record(self, body: Any) -> None:
        self.fake._record(RecordedRequest(self.command, self.path, dict(self.headers), body))


class FakeServer:
    """Start/stop, counters and knobs common to both fakes.

    Knobs are plain attributes: set them from a test at any time (handlers read them per
    request). `failures` is the FailurePlan for the counted endpoint (create / generate).
    """

    handler_class: ClassVar[type[JsonHandler]] = JsonHandler  # overridden by subclasses

    def __init__(self, *, seed: int = 0, latency: float = 0.0) -> None:
        self.seed = seed
        self.latency = latency
        self.hang_seconds = 0.0  # a counted request sleeps this long first (client timeouts)
        self.echo_auth = False  # error bodies echo the credential (to prove we redact it)
        self.failures = FailurePlan(seed)
        self.counts: Counter[str] = Counter()
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._in_flight = 0
        self.max_in_flight_seen = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeServer:
        handler = type("BoundHandler", (self.handler_class,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes every hanging / latency sleep at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- helpers for handlers ---------------------------------------------------------------

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def count(self, key: str) -> int:
        with self._lock:
            self.counts[key] += 1
            return self.counts[key]

    def enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight_seen = max(self.max_in_flight_seen, self._in_flight)

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def recorded(self, method: str | None = None, contains: str = "") -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and contains in r.path
            ]
