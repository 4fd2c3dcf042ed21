"""Flow control for the router: rate limit, circuit breaker, backoff.

All three take an injectable clock (and the bucket a sleep) so tests can drive time instead of
waiting for it. All are safe to share between threads.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class TokenBucket:
    """Classic token bucket: `rate` tokens per second, at most `capacity` saved up.

    Used for Replicate's create limit (600/minute): a burst of `capacity` goes out at once,
    after that creates are spaced 1/rate apart. Waiting happens outside the lock so one slow
    caller never blocks the others' bookkeeping.
    """

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._stamp = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until it exists. Returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            # Reserve the token now (the balance may go negative): callers queue up in order
            # and each sleeps exactly until its own token would have been minted.
            self._tokens -= 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait


# Consecutive failures that rest a provider. Why 10 and why "in a row":
# - Random faults at rate p start a run of N failures at a given call with probability p^N, so
#   M calls see at most M * p^N false trips. At p = 0.2: 0.2^5 = 3.2e-4 (N = 5 tripped about
#   once per 70 runs of ~45 calls, each trip parking a lone provider's images for a 30 s rest);
#   0.2^10 = 1.0e-7, about one false trip per 10 million calls. Even at p = 0.3, 0.3^10 = 5.9e-6.
# - A dead provider fails every call, so it rests after exactly 10 calls: with 8 in flight that
#   is two rounds of refused connections or instant 5xx, well under a second.
# - Any rule that trips on at least K failures in a window of W >= K calls fires whenever K in a
#   row does, and more often: for the failures a dead provider needs before it rests, a run of
#   consecutive failures is the rule random faults satisfy least often.
DEFAULT_BREAKER_FAILURES = 10


class CircuitBreaker:
    """Rests a provider after `failures` consecutive failures, for `rest_seconds`.

    closed -> (N failures in a row) -> open -> (rest over) -> half-open: one probe call is let
    through; its success closes the breaker, its failure opens it for another rest. Calls that
    give no verdict on health (429 "busy", a permanent error about the request) neither break
    nor extend a run of failures.
    """

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

    def __init__(
        self,
        failures: int = DEFAULT_BREAKER_FAILURES,
        rest_seconds: float = 30.0,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.failures = failures
        self.rest_seconds = rest_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._state = self.CLOSED
        self._consecutive = 0
        self._opened_at = 0.0
        self._probe_out = False
        self.times_opened = 0

    @property
    def state(self) -> str:
        with self._lock:
            return self._current_state()

    def _current_state(self) -> str:
        if self._state == self.OPEN and self._clock() - self._opened_at >= self.rest_seconds:
            self._state = self.HALF_OPEN
            self._probe_out = False
        return self._state

    def allow(self) -> bool:
        """May a call go to this provider now? In half-open, only the first caller may."""
        with self._lock:
            state = self._current_state()
            if state == self.CLOSED:
                return True
            if state == self.HALF_OPEN and not self._probe_out:
                self._probe_out = True
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self._state = self.CLOSED
            self._consecutive = 0
            self._probe_out = False

    def record_failure(self) -> None:
        with self._lock:
            state = self._current_state()
            self._consecutive += 1
            if state == self.OPEN:
                return  # a call that started before the breaker opened; the rest stands
            if state == self.HALF_OPEN or self._consecutive >= self.failures:
                self.times_opened += 1
                self._state = self.OPEN
                self._opened_at = self._clock()
                self._probe_out = False

    def release_probe(self) -> None:
        """A half-open probe ended without a verdict on health (e.g. a permanent error)."""
        with self._lock:
            self._probe_out = False

    def seconds_until_retry(self) -> float:
        with self._lock:
            if self._current_state() != self.OPEN:
                return 0.0
            return max(0.0, self.rest_seconds - (self._clock() - self._opened_at))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded, honouring a server's Retry-After."""

    max_attempts: int = 3
    base_seconds: float = 1.0
    max_seconds: float = 20.0
    max_retry_after_seconds: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based).

        Full jitter (uniform 0..cap) spreads a burst of failures out so retries from many
        threads do not hit the provider in lock-step. A Retry-After from the server wins,
        capped so a hostile or buggy value cannot park a worker for an hour.
        """
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after_seconds)
        cap = min(self.max_seconds, self.base_seconds * (2 ** (attempt - 1)))
        return rng.uniform(0.0, cap)
