"""A provider lane: one provider plus the flow control that belongs to it.

Its slots bound concurrent calls, its token bucket (where the provider has one) bounds the
call rate, its circuit breaker records health (each call's verdict, given where the call
happens so the breaker knows which calls are still out), and its stats count what happened.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .base import (
    ImageProvider,
    ImageRequest,
    ImageResult,
    PermanentProviderError,
    TransientProviderError,
)
from .common import RateLimitedError
from .limits import CircuitBreaker, TokenBucket

logger = logging.getLogger(__name__)


@dataclass
class LaneStats:
    calls: int = 0
    successes: int = 0
    transient_failures: int = 0
    permanent_failures: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


@dataclass
class ProviderLane:
    """One provider plus the flow control that belongs to it."""

    provider: ImageProvider
    concurrency: int
    breaker: CircuitBreaker
    bucket: TokenBucket | None = None
    stats: LaneStats = field(default_factory=LaneStats)
    # Called after every verdict reaches the breaker (the router wakes images waiting on it).
    on_verdict: Callable[[], None] = lambda: None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"{self.name}: concurrency must be >= 1")
        self.slots = threading.BoundedSemaphore(self.concurrency)
        self.stats_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.provider.name

    def is_idle_and_healthy(self) -> bool:
        """A free slot right now and a closed breaker: a good place for a failed image."""
        with self.stats_lock:
            free = self.stats.in_flight < self.concurrency
        return free and self.breaker.state == CircuitBreaker.CLOSED

    def call(self, request: ImageRequest) -> ImageResult:
        """One attempt, under this lane's slot and rate limit, counted in its stats, its
        verdict recorded on the breaker: success, failure, or none (429, permanent)."""
        with self.slots:
            if self.bucket is not None:
                self.bucket.acquire()
            ticket = self.breaker.call_started()
            with self.stats_lock:
                self.stats.calls += 1
                self.stats.in_flight += 1
                self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
            outcome = "transient"
            # No verdict unless one is reached below: busy is not broken, a refused request
            # says nothing about health, and a worker torn down mid-call must still hand back
            # a half-open probe, or the provider would stay closed to everyone.
            verdict = self.breaker.release_probe
            try:
                result = self.provider.generate(request)
                outcome, verdict = "success", self.breaker.record_success
                return result
            except PermanentProviderError:
                outcome = "permanent"
                raise
            except RateLimitedError:
                raise
            except TransientProviderError:
                verdict = self.breaker.record_failure
                raise
            except Exception as exc:
                # A provider bug must fail this image, not the whole run. Only the type is
                # logged: an unknown exception's text might carry anything.
                logger.error("%s raised unexpected %s", self.name, type(exc).__name__)
                verdict = self.breaker.record_failure
                raise TransientProviderError(
                    f"{self.name} failed unexpectedly", provider=self.name
                ) from None
            finally:
                verdict(ticket)
                self.on_verdict()
                with self.stats_lock:
                    self.stats.in_flight -= 1
                    if outcome == "success":
                        self.stats.successes += 1
                    elif outcome == "permanent":
                        self.stats.permanent_failures += 1
                    else:
                        self.stats.transient_failures += 1
