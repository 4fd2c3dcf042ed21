"""The provider router: which provider makes an image, how many at once, and what to do when
one fails.

Rules, in order:
1. Capability: only providers whose `supports(request)` is true are considered (exact pixel
   sizes never reach a provider that only takes aspect ratios).
2. Balance: successive requests rotate round-robin over the capable providers.
3. Health: a provider whose circuit breaker is open (it failed N times in a row) is skipped
   until its rest is over, so one dead provider does not slow the whole run.
4. Retries: a transient error (429, 5xx, timeout, dropped connection) is retried on the same
   provider with exponential backoff + full jitter, honouring Retry-After (bounded). A
   permanent error (bad input, safety block, no image) is never retried on that provider.
5. Failover: when a provider's attempts are spent, or it answered permanently, the next
   capable provider gets the request. When every one has failed: GenerationFailed, with the
   reason from each provider.

Per-provider semaphores bound concurrent calls; a token bucket bounds the call rate where the
provider has one (Replicate: 600 creates/minute). Backoff sleeps happen outside the semaphore
so a waiting retry never holds a slot another image could use.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from .base import (
    GenerationFailed,
    ImageProvider,
    ImageRequest,
    ImageResult,
    PermanentProviderError,
    TransientProviderError,
)
from .common import RateLimitedError
from .limits import CircuitBreaker, Clock, RetryPolicy, Sleep, TokenBucket
from .settings import ProviderSettings

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4


@dataclass
class _LaneStats:
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
    stats: _LaneStats = field(default_factory=_LaneStats)

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


@dataclass
class _LaneOutcome:
    result: ImageResult | None
    calls: int
    reason: str = ""


class ImageRouter:
    """Thread-safe: one router may serve many threads and many runs at once."""

    def __init__(
        self,
        providers: Sequence[ImageProvider],
        *,
        concurrency: Mapping[str, int] | None = None,
        rate_limits: Mapping[str, TokenBucket] | None = None,
        retry: RetryPolicy | None = None,
        breaker_failures: int = 5,
        breaker_rest_seconds: float = 30.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not providers:
            raise ValueError("ImageRouter needs at least one provider")
        names = [p.name for p in providers]
        if len(set(names)) != len(names):
            raise ValueError(f"provider names must be unique, got {names}")
        concurrency = concurrency or {}
        rate_limits = rate_limits or {}
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._lanes = [
            ProviderLane(
                provider=p,
                concurrency=concurrency.get(p.name, DEFAULT_CONCURRENCY),
                breaker=CircuitBreaker(breaker_failures, breaker_rest_seconds, clock=clock),
                bucket=rate_limits.get(p.name),
            )
            for p in providers
        ]
        self._rotation: dict[tuple[str, ...], int] = {}
        self._rotation_lock = threading.Lock()

    # -- public -----------------------------------------------------------------------------

    @property
    def provider_names(self) -> list[str]:
        return [lane.name for lane in self._lanes]

    @property
    def max_parallel(self) -> int:
        """How many generations can usefully run at once: size the caller's thread pool to it."""
        return sum(lane.concurrency for lane in self._lanes)

    def lane(self, name: str) -> ProviderLane:
        for lane in self._lanes:
            if lane.name == name:
                return lane
        raise KeyError(name)

    def stats(self) -> dict[str, dict[str, object]]:
        """Per-provider counters and breaker state (for logs, metadata and tests)."""
        out: dict[str, dict[str, object]] = {}
        for lane in self._lanes:
            with lane.stats_lock:
                counters = dict(vars(lane.stats))
            counters["breaker"] = lane.breaker.state
            counters["concurrency"] = lane.concurrency
            out[lane.name] = counters
        return out

    def generate(self, request: ImageRequest) -> ImageResult:
        """Make one image, or raise GenerationFailed(reason, attempts, providers_tried)."""
        capable = [lane for lane in self._lanes if lane.provider.supports(request)]
        if not capable:
            raise GenerationFailed(
                f"no enabled provider can make {_describe(request)} "
                f"(enabled: {', '.join(self.provider_names)})",
                attempts=0,
                providers_tried=[],
            )
        attempts = 0
        tried: list[str] = []
        reasons: list[str] = []
        order = self._in_turn(capable)
        for position, lane in enumerate(order):
            if not lane.breaker.allow():
                wait = lane.breaker.seconds_until_retry()
                reasons.append(f"{lane.name}: resting after repeated failures ({wait:.0f}s left)")
                continue
            tried.append(lane.name)
            outcome = self._run_on_lane(lane, request, later=order[position + 1 :])
            attempts += outcome.calls
            if outcome.result is not None:
                return replace(outcome.result, attempts=attempts)
            reasons.append(f"{lane.name}: {outcome.reason}")
            logger.info(
                "image failed on %s (%s); trying the next provider", lane.name, outcome.reason
            )
        raise GenerationFailed("; ".join(reasons), attempts=attempts, providers_tried=tried)

    # -- internals --------------------------------------------------------------------------

    def _in_turn(self, capable: list[ProviderLane]) -> list[ProviderLane]:
        """Round-robin: rotate the capable list one step per request (per capability set,
        so exact-size requests that only one provider takes do not skew the others)."""
        key = tuple(lane.name for lane in capable)
        with self._rotation_lock:
            turn = self._rotation.get(key, 0)
            self._rotation[key] = turn + 1
        start = turn % len(capable)
        return capable[start:] + capable[:start]

    def _run_on_lane(
        self, lane: ProviderLane, request: ImageRequest, later: Sequence[ProviderLane] = ()
    ) -> _LaneOutcome:
        calls = 0
        last: TransientProviderError | None = None
        for attempt in range(1, self.retry.max_attempts + 1):
            # The first call was admitted by generate(); later ones re-check health so a
            # provider that just tripped its breaker is left at once.
            if attempt > 1 and not lane.breaker.allow():
                return _LaneOutcome(None, calls, f"{_reason(last)}; provider now resting")
            calls += 1
            try:
                result = self._call(lane, request)
            except RateLimitedError as exc:
                last = exc
                lane.breaker.release_probe()  # busy is not broken: no breaker failure
            except TransientProviderError as exc:
                last = exc
                lane.breaker.record_failure()
            except PermanentProviderError as exc:
                lane.breaker.release_probe()
                return _LaneOutcome(None, calls, exc.reason)
            else:
                lane.breaker.record_success()
                return _LaneOutcome(result, calls)

            if attempt < self.retry.max_attempts:
                if last.retry_after is None and any(alt.is_idle_and_healthy() for alt in later):
                    # Backing off here while another capable provider sits idle only adds
                    # latency: move the image there now (a server's Retry-After is respected).
                    return _LaneOutcome(None, calls, f"{last.reason}; moved to an idle provider")
                with self._rng_lock:
                    delay = self.retry.delay(attempt, last.retry_after, self._rng)
                logger.warning(
                    "%s attempt %d/%d failed (%s); retrying in %.2fs",
                    lane.name,
                    attempt,
                    self.retry.max_attempts,
                    last.reason,
                    delay,
                )
                self._sleep(delay)
        return _LaneOutcome(None, calls, f"{_reason(last)} (after {calls} attempts)")

    def _call(self, lane: ProviderLane, request: ImageRequest) -> ImageResult:
        with lane.slots:
            if lane.bucket is not None:
                lane.bucket.acquire()
            with lane.stats_lock:
                lane.stats.calls += 1
                lane.stats.in_flight += 1
                lane.stats.max_in_flight = max(lane.stats.max_in_flight, lane.stats.in_flight)
            outcome = "transient"
            try:
                result = lane.provider.generate(request)
                outcome = "success"
                return result
            except PermanentProviderError:
                outcome = "permanent"
                raise
            except TransientProviderError:
                raise
            except Exception as exc:
                # A provider bug must fail this image, not the whole run. Only the type is
                # logged: an unknown exception's text might carry anything.
                logger.error("%s raised unexpected %s", lane.name, type(exc).__name__)
                raise TransientProviderError(
                    f"unexpected {type(exc).__name__} in {lane.name}", provider=lane.name
                ) from None
            finally:
                with lane.stats_lock:
                    lane.stats.in_flight -= 1
                    if outcome == "success":
                        lane.stats.successes += 1
                    elif outcome == "permanent":
                        lane.stats.permanent_failures += 1
                    else:
                        lane.stats.transient_failures += 1


def _reason(error: TransientProviderError | None) -> str:
    return error.reason if error is not None else "unknown failure"


def _describe(request: ImageRequest) -> str:
    if request.wants_exact_size:
        return f"exact {request.width}x{request.height} images"
    return f"aspect ratio {request.aspect_ratio!r} images"


def build_router(
    settings: ProviderSettings,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    rng: random.Random | None = None,
) -> ImageRouter:
    """The router for these settings, with one provider instance (one SDK client) each."""
    providers: list[ImageProvider] = []
    rate_limits: dict[str, TokenBucket] = {}
    for name in settings.providers:
        if name == "replicate":
            from .replicate_provider import ReplicateProvider

            providers.append(ReplicateProvider.from_settings(settings))
            per_second = settings.replicate_creates_per_minute / 60.0
            # Capacity of one second's worth: a burst of `concurrency` starts at once, and
            # sustained creates never exceed the account limit.
            rate_limits[name] = TokenBucket(
                per_second, max(1.0, per_second), clock=clock, sleep=sleep
            )
        elif name == "google":
            from .google_provider import GoogleProvider

            providers.append(GoogleProvider.from_settings(settings))
        elif name == "local":
            from .preview import LocalPreviewProvider

            providers.append(LocalPreviewProvider())
        else:  # settings validation makes this unreachable; kept as a guard
            raise ValueError(f"unknown provider {name!r}")
    return ImageRouter(
        providers,
        concurrency={name: settings.concurrency_for(name) for name in settings.providers},
        rate_limits=rate_limits,
        retry=RetryPolicy(
            max_attempts=settings.max_attempts,
            base_seconds=settings.backoff_base_seconds,
            max_seconds=settings.backoff_max_seconds,
            max_retry_after_seconds=settings.max_retry_after_seconds,
        ),
        breaker_failures=settings.breaker_failures,
        breaker_rest_seconds=settings.breaker_rest_seconds,
        clock=clock,
        sleep=sleep,
        rng=rng,
    )
