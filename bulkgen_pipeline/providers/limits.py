"""Flow control for the router: rate limit, circuit breaker, backoff.

All three take an injectable clock (and the bucket a sleep) so tests can drive time instead of
waiting for it. All are safe to share between threads.
"""

from __future__ import annotations

import itertools
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


# Consecutive failures that rest a provider, and why 10 "in a row" with the in-flight rule
# (CircuitBreaker). Numbers from benchmarks/bench_breaker.py: 30-image runs, C = 8, production
# backoff, 20 % HTTP 500 + 10 % 429 at random, 20 000 runs per row.
# - At 20 % 500 + 10 % 429 (429s count neither way) a call fails with p = 0.2 / 0.9 = 0.22;
#   a run of N failures has probability p^N per call: 0.22^5 = 5e-4, 0.22^10 = 3e-7.
# - But failures come back at once and successes only after the provider's latency L, so in
#   the order answers arrive failures bunch up: N = 5 rested a healthy provider in 9.7 % of runs
#   at L = 1 s and 13.7 % at L = 5 s (the issue saw 1 run in 5), N = 10 in 0.01 % and 0.1 %.
# - The in-flight rule puts answers back in the order calls went out: a failure cannot rest
#   the provider while a call sent before it is still out (it may yet prove the provider
#   alive). With it N = 10 rested it in none of the runs, at L = 1 s or 5 s.
# - A dead provider fails every call, so it still rests after exactly 10 calls: with 8 in
#   flight, two rounds of refused connections or instant 5xx, well under a second.
# - Among rules that rest a provider after K failures (K in a window of W >= K calls), K in a
#   row is the one random faults satisfy least often.
DEFAULT_BREAKER_FAILURES = 10


class CircuitBreaker:
    """Rests a provider after `failures` consecutive failures, for `rest_seconds`.

    closed -> (N failures in a row) -> open -> (rest over) -> half-open: one probe call is let
    through; its success closes the breaker, its failure opens it for another rest. Calls that
    give no verdict on health (429 "busy", a permanent error about the request) neither break
    nor extend a run of failures.

    In-flight rule: a call takes a ticket when it goes out (`call_started`) and hands it to its
    verdict. The N-th failure in a row rests the provider only if no call that went out before
    it is still waiting for its answer: a slow success still out would show the provider alive,
    and without the rule quick failures would overtake it and rest a healthy provider.
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
        self._tickets = itertools.count(1)
        self._in_flight: set[int] = set()  # tickets of calls still waiting for an answer
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

    def call_started(self) -> int:
        """A call goes out now: its ticket, to pass to its verdict (tickets rise in order)."""
        with self._lock:
            ticket = next(self._tickets)
            self._in_flight.add(ticket)
            return ticket

    def record_success(self, ticket: int | None = None) -> None:
        with self._lock:
            self._in_flight.discard(ticket or 0)
            self._state = self.CLOSED
            self._consecutive = 0
            self._probe_out = False

    def record_failure(self, ticket: int | None = None) -> None:
        with self._lock:
            self._in_flight.discard(ticket or 0)
            state = self._current_state()
            self._consecutive += 1
            if state == self.OPEN:
                return  # a call that started before the breaker opened; the rest stands
            earlier_call_out = ticket is not None and any(t < ticket for t in self._in_flight)
            if state == self.HALF_OPEN or (
                self._consecutive >= self.failures and not earlier_call_out
            ):
                self.times_opened += 1
                self._state = self.OPEN
                self._opened_at = self._clock()
                self._probe_out = False

    def release_probe(self, ticket: int | None = None) -> None:
        """A call ended without a verdict on health (a 429, a permanent error)."""
        with self._lock:
            self._in_flight.discard(ticket or 0)
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
