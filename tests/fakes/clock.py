"""The one fake clock of the tests: injected as `clock` (time) and `clock.sleep`."""

from __future__ import annotations

import threading


class FakeClock:
    """Time stands still until a test moves it; every sleep is recorded. By default a sleep
    also advances time (a waiter then sees the time it waited for); `advance_on_sleep=False`
    keeps time still so a test can check what would be waited for."""

    def __init__(self, now: float = 1000.0, *, advance_on_sleep: bool = True) -> None:
        self.now = now
        self.advance_on_sleep = advance_on_sleep
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if self.advance_on_sleep:
                self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
