"""Retrying one image on one provider: which answers spend an attempt, how long to wait between
tries, and when to leave the provider. The router decides which provider comes next.

- A 5xx, a timeout or a dropped connection spends one of the image's attempts there, then the
  image backs off (exponential, full jitter) or, when a later capable provider is idle and
  healthy, moves there at once.
- A 429, or any answer with Retry-After, is the provider asking us to wait: the image waits
  (Retry-After, bounded, or the backoff) and retries without spending an attempt. The image's
  deadline bounds those waits instead.
- A permanent answer (bad input, safety block, no image) ends the image's time on the provider.
- A failure that rests the provider (its breaker opens) ends it too, keeping the attempts left.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from .base import ImageRequest, ImageResult, PermanentProviderError, TransientProviderError
from .common import RateLimitedError
from .lanes import ProviderLane
from .limits import CircuitBreaker, Clock, RetryPolicy, Sleep

logger = logging.getLogger(__name__)


@dataclass
class LaneOutcome:
    result: ImageResult | None
    calls: int
    # Attempts the image may still spend on this lane (kept only when it left it resting).
    budget_left: int = 0
    reason: str = ""
    # The breaker opened while this image still had attempts left on the lane: it may come
    # back to the lane once the provider lets a probe through again.
    resting: bool = False
    # False when the lane's last word was permanent (bad input, safety block, no image).
    transient: bool = True
    error: str = ""  # the last provider error, without the router's commentary


@dataclass
class LaneRetrier:
    """The retry loop on one lane. Thread-safe: one serves every image of a router."""

    retry: RetryPolicy
    image_deadline_seconds: float
    clock: Clock
    sleep: Sleep
    rng: random.Random

    def __post_init__(self) -> None:
        self._rng_lock = threading.Lock()

    def run(
        self,
        lane: ProviderLane,
        request: ImageRequest,
        later: Sequence[ProviderLane],
        *,
        budget: int,
        deadline: float,
    ) -> LaneOutcome:
        """Calls on one provider until it makes the image, refuses it, spends the image's
        `budget` of attempts there, rests, or the next wait would overrun `deadline`. The
        first call was admitted by the caller (breaker allowed)."""
        calls = 0
        busy_in_a_row = 0  # 429s without Retry-After, for their backoff's exponent
        last: TransientProviderError | None = None
        while True:
            # Later calls re-check health so a provider that just tripped its breaker is left
            # at once.
            if calls and not lane.breaker.allow():
                return _left_resting(calls, budget, last)
            calls += 1
            try:
                # The lane records the call's verdict on its breaker.
                result = lane.call(request)
            except TransientProviderError as exc:  # RateLimitedError included
                last = exc
            except PermanentProviderError as exc:
                return LaneOutcome(None, calls, reason=exc.reason, transient=False)
            else:
                return LaneOutcome(result, calls)

            asked_to_wait = isinstance(last, RateLimitedError) or last.retry_after is not None
            if not asked_to_wait:
                budget -= 1
                if budget <= 0:
                    spent = self.retry.max_attempts
                    return LaneOutcome(
                        None, calls, reason=f"{last.reason} (after {spent} attempts)"
                    )
                if any(alt.is_idle_and_healthy() for alt in later):
                    # Backing off here while another capable provider sits idle only adds
                    # latency: move the image there now.
                    return LaneOutcome(
                        None, calls, reason=f"{last.reason}; moved to an idle provider"
                    )
            if lane.breaker.state == CircuitBreaker.OPEN:
                # This failure rested the provider: backing off first would only delay the
                # image (it can wait for the rest, or move on, right away).
                return _left_resting(calls, budget, last)
            # The backoff grows with the attempts spent (or, for a bare 429, with the 429s in a
            # row); a Retry-After replaces it.
            busy_in_a_row = busy_in_a_row + 1 if asked_to_wait else 0
            spent = self.retry.max_attempts - budget
            with self._rng_lock:
                delay = self.retry.delay(busy_in_a_row or spent, last.retry_after, self.rng)
            if self.clock() + delay > deadline:
                return LaneOutcome(
                    None,
                    calls,
                    reason=f"{last.reason}; gave up: the next try would start after the "
                    f"image's {self.image_deadline_seconds:g}s deadline",
                )
            logger.warning(
                "%s failed (%s); %s in %.2fs (%d of %d attempts left)",
                lane.name,
                last.reason,
                "asked to wait, retrying" if asked_to_wait else "retrying",
                delay,
                budget,
                self.retry.max_attempts,
            )
            self.sleep(delay)


def _left_resting(calls: int, budget: int, last: TransientProviderError | None) -> LaneOutcome:
    error = last.reason if last is not None else "unknown failure"
    return LaneOutcome(
        None,
        calls,
        budget_left=budget,
        reason=f"{error}; provider now resting",
        resting=True,
        error=error,
    )
