"""PostgreSQL becoming unreachable under a running app: every API route and console page answers
503 with Retry-After (never 500), and the same app serves again once the database is back.

The outage is real: the app reaches PostgreSQL through a TCP proxy that the test cuts (live
connections dropped, new ones refused) and restores on the same port."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import uuid
from types import TracebackType

import pytest

from bulkgen_pipeline import db

from ..conftest import PG_HOST, PG_PORT
from .conftest import deployment

pytestmark = pytest.mark.postgres

JOBS = "/api/bulk-generation/jobs"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL until `cut()`; `restore()` listens again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._listening = threading.Event()

    def __enter__(self) -> CuttableProxy:
        self.restore()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cut()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._listening.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and drop every open one, as a dead database host would."""
        self._listening.clear()
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            open_sockets, self._sockets = self._sockets, set()
        for sock in open_sockets:
            _close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while self._listening.is_set() and listener is self._listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _assert_unavailable(answer, what: str) -> None:
    assert answer.status_code == 503, (what, answer.status_code, answer.text[:300])
    assert int(answer.headers["retry-after"]) > 0, what


def test_a_database_outage_answers_503_with_retry_after_and_the_app_recovers(
    tmp_path, new_postgres_database, monkeypatch
):
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    direct_url = new_postgres_database()
    with CuttableProxy((PG_HOST, PG_PORT)) as proxy:
        proxied_url = direct_url.replace(f"@{PG_HOST}:{PG_PORT}/", f"@127.0.0.1:{proxy.port}/")
        assert proxied_url != direct_url
        with deployment(tmp_path, proxied_url, served=True) as api:  # its streams over TCP
            shop = api.merchant(credits=10)
            preset_id = shop.preset(generation_count=1)
            job_id = shop.start(preset_id).json()["job_id"]
            console = api.client()  # signed in to the console with a cookie only
            token = CSRF.search(console.get("/signin").text).group(1)
            signed_in = console.post("/signin", data={"api_key": shop.api_key, "csrf_token": token})
            assert signed_in.status_code == 303

            api_calls = [
                ("GET", "/api/me", None),
                ("GET", f"/api/bulk-generation/jobs/{job_id}/status", None),
                ("GET", f"/api/bulk-generation/jobs/{job_id}/events", None),
                ("POST", "/api/bulk-generation/start", {"preset_id": preset_id}),
                ("POST", f"/api/bulk-generation/jobs/{job_id}/cancel", None),
                ("GET", "/api/bulk-generation/runs", None),
                ("GET", "/api/presets", None),
                ("POST", "/api/batches", {"prompts": [{"text": "a red mug on a desk"}]}),
                ("DELETE", f"/api/presets/{uuid.uuid4()}", None),
            ]
            stream_ended: list[str] = []

            def follow_events() -> None:
                try:
                    with shop.client.stream("GET", f"{JOBS}/{job_id}/events") as stream:
                        for _ in stream.iter_lines():
                            pass
                    stream_ended.append("cleanly")
                except Exception as exc:
                    stream_ended.append(f"aborted: {exc!r}")

            follower = threading.Thread(target=follow_events)
            follower.start()
            time.sleep(1)  # the stream is following the queued job
            proxy.cut()
            # A stream already open ends, and the client reconnects with Last-Event-ID.
            follower.join(timeout=15)
            assert stream_ended == ["cleanly"]
            for method, path, body in api_calls:
                answer = shop.client.request(method, path, json=body)
                _assert_unavailable(answer, f"{method} {path}")
                detail = answer.json()["detail"]
                assert "database" in detail and "Error" not in detail, detail
                assert answer.json().keys() == {"detail"}
            # An API call made with the console's cookie (the user is read in a middleware).
            _assert_unavailable(console.get("/api/me"), "GET /api/me with the cookie")
            for path in ("/presets", "/runs", f"/runs/{job_id}", "/account"):
                page = console.get(path)
                _assert_unavailable(page, path)
                assert page.headers["content-type"].startswith("text/html")
                assert "temporarily unavailable" in page.text.lower()
                assert "Traceback" not in page.text and "psycopg2" not in page.text
            assert shop.client.get("/healthz").status_code == 503

            proxy.restore()
            # The same app, the same pool: no restart.
            assert shop.client.get("/api/me").json()["credits"]["reserved"] == 1
            status = shop.client.get(f"/api/bulk-generation/jobs/{job_id}/status")
            assert status.status_code == 200 and status.json()["status"] == "queued"
            assert shop.start(preset_id).status_code == 202
            assert console.get("/presets").status_code == 200
            assert console.get(f"/runs/{job_id}").status_code == 200
            assert shop.client.get("/healthz").status_code == 200
        db.shared_database(proxied_url).dispose()
