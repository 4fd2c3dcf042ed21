"""Run-worker heartbeats: how the run launcher tells a working run from one whose worker died.

The child executing a run writes `running` under the run's key every few seconds, with an
expiry; when the run ends it writes `done`. Dagster's run monitoring asks the launcher for the
worker's health of every STARTED run: a key that expired means nobody works on it any more.
The keys live in the broker's Redis, which every worker and the daemon reach already.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)

# The default of BULKGEN_WORKER_HEARTBEAT_EXPIRES_SECONDS; a slot beats six times in that span
# (every 5 s by default): six missed beats, since a busy machine is not a dead worker.
HEARTBEAT_EXPIRES_S = 30
BEATS_PER_EXPIRY = 6
DONE_KEPT_S = 24 * 3600

RUNNING = "running"
DONE = "done"


def heartbeat_key(run_id: str) -> str:
    return f"bulkgen:run-worker:{run_id}"


def read_heartbeat(redis_client: Any, run_id: str) -> dict[str, Any] | None:
    raw = redis_client.get(heartbeat_key(run_id))
    return None if raw is None else json.loads(raw)


class RunHeartbeat:
    """Beats for one run while its context is open, then records that it ended."""

    def __init__(
        self,
        redis_client: Any,
        run_id: str,
        *,
        expires: int = HEARTBEAT_EXPIRES_S,
        every: float | None = None,
    ):
        self.redis, self.run_id, self.expires = redis_client, run_id, expires
        self.every = expires / BEATS_PER_EXPIRY if every is None else every
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat_until_stopped, name=f"bulkgen-heartbeat-{run_id[:8]}", daemon=True
        )

    def _write(self, state: str, expires: float) -> None:
        value = {"state": state, "pid": os.getpid(), "host": socket.gethostname()}
        self.redis.set(heartbeat_key(self.run_id), json.dumps(value), ex=int(expires))

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self._write(RUNNING, self.expires)
            except Exception:  # a Redis blip: the next beat tries again, the key outlives six
                log.warning("could not record the heartbeat of run %s", self.run_id, exc_info=True)

    def __enter__(self) -> RunHeartbeat:
        self._write(RUNNING, self.expires)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self._write(DONE, DONE_KEPT_S)
        except Exception:
            log.warning("could not record that run %s ended", self.run_id, exc_info=True)
