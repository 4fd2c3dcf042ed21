"""Writes that outlast a store's bad moment: a failed write is retried, its bytes kept in memory.

A run's images cost money once made; a store that refuses a write for a few seconds (a full
disk being cleaned, a folder remounted, S3 throttling past boto3's own retries) must not turn
them into failures. `RetryingStore` retries every write with a growing pause for up to
`budget_seconds` before it gives up with the store's error. Reads are not retried: a missing
object is an answer, not a fault.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from .base import DEFAULT_CONTENT_TYPE, DEFAULT_URL_EXPIRY_S, InvalidKey, ObjectStore

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_WRITE_RETRY_S = 60.0
FIRST_PAUSE_S = 0.25
LONGEST_PAUSE_S = 5.0


class RetryingStore:
    """An ObjectStore whose writes are retried for up to `budget_seconds` (0: not retried)."""

    def __init__(
        self,
        store: ObjectStore,
        budget_seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.budget_seconds = budget_seconds
        self._sleep, self._clock = sleep, clock

    def _write(self, what: str, key: str, write: Callable[[], T]) -> T:
        deadline = self._clock() + self.budget_seconds
        pause = FIRST_PAUSE_S
        failures = 0
        while True:
            try:
                result = write()
            except InvalidKey:
                raise  # the caller's mistake: no retry makes it right
            except Exception as exc:
                failures += 1
                if self._clock() + pause > deadline:
                    raise
                if failures == 1:
                    log.warning(
                        "could not %s %s (%s); retrying for up to %.0f s",
                        what,
                        key,
                        type(exc).__name__,
                        self.budget_seconds,
                    )
                self._sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE_S)
                continue
            if failures:
                log.info("%s %s succeeded after %d failed tries", what, key, failures)
            return result

    def put_bytes(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        self._write("store", key, lambda: self.store.put_bytes(key, data, content_type))

    def upload_file(self, key: str, path: Path, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        self._write("upload", key, lambda: self.store.upload_file(key, path, content_type))

    def delete(self, key: str) -> None:
        self._write("delete", key, lambda: self.store.delete(key))

    def get_bytes(self, key: str) -> bytes:
        return self.store.get_bytes(key)

    def exists(self, key: str) -> bool:
        return self.store.exists(key)

    def list_keys(self, prefix: str = "") -> list[str]:
        return self.store.list_keys(prefix)

    def list_versions(self, prefix: str = "") -> dict[str, str]:
        return self.store.list_versions(prefix)

    def local_path(self, key: str) -> Path | None:
        return self.store.local_path(key)

    def open_read(self, key: str) -> BinaryIO:
        return self.store.open_read(key)

    def download_url(
        self, key: str, expires_in: int = DEFAULT_URL_EXPIRY_S, filename: str | None = None
    ) -> str:
        return self.store.download_url(key, expires_in, filename)

    def location(self, key: str) -> str:
        return self.store.location(key)
