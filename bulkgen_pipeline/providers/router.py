"""The provider router: which provider makes an image, how many at once, and what to do when
one fails.

Rules, in order:
1. Capability: only providers whose `supports(request)` is true are considered (exact pixel
   sizes never reach a provider that only takes aspect ratios).
2. Balance: successive requests rotate round-robin over the capable providers.
3. Health: a provider whose circuit breaker is open (it failed N times in a row) is skipped
   until its rest is over, so one dead provider does not slow the whole run. When every
   capable provider is resting, the image waits (at most `breaker_max_wait_seconds`) for the
   first one to let a probe call through instead of failing at once: a short outage of the
   only provider then delays the run instead of failing the rest of it. While another thread's
   probe is out, waiters block on a condition until its verdict (polling every 0.25 s).
4. Retries (lane_retries.py): a transient error (5xx, timeout, dropped connection) is retried
   on the same provider with exponential backoff + full jitter and spends one of the image's
   attempts there. A 429, or any answer with Retry-After, is the provider asking us to wait:
   the image waits (Retry-After, bounded, or the backoff) and retries without spending an
   attempt. A permanent error (bad input, safety block, no image) is never retried there.
5. Deadline: every wait an image makes (backoff, Retry-After, a rest) must end within
   `image_deadline_seconds` of its start; a wait that would not leaves that provider for good.
6. Failover: when a provider's attempts are spent, it answered permanently, or the deadline
   came, the next capable provider gets the request. When every one has failed:
   GenerationFailed, with the reason from each provider and whether it was transient (worth
   another pass later) or permanent.

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

from .base import FailureKind, GenerationFailed, ImageProvider, ImageRequest, ImageResult
from .lane_retries import LaneRetrier
from .lanes import ProviderLane
from .limits import (
    DEFAULT_BREAKER_FAILURES,
    CircuitBreaker,
    Clock,
    RetryPolicy,
    Sleep,
    TokenBucket,
)
from .models import ModelCatalogue
from .registry import ProviderRegistry
from .settings import RouterSettings

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 4


class ImageRouter:
    """Thread-safe: one router may serve many threads and many runs at once."""

    # How often an image waiting for another thread's half-open probe re-checks the breaker
    # even without being notified (a safety net; the verdict itself wakes it at once).
    PROBE_POLL_SECONDS = 0.25

    def __init__(
        self,
        providers: Sequence[ImageProvider],
        *,
        concurrency: Mapping[str, int] | None = None,
        rate_limits: Mapping[str, TokenBucket] | None = None,
        retry: RetryPolicy | None = None,
        breaker_failures: int = DEFAULT_BREAKER_FAILURES,
        breaker_rest_seconds: float = 30.0,
        breaker_max_wait_seconds: float = 60.0,
        image_deadline_seconds: float = 300.0,
        model_credits: Mapping[str, int] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not providers:
            raise ValueError("ImageRouter needs at least one provider")
        if not breaker_max_wait_seconds >= 0:  # also rejects NaN
            raise ValueError("breaker_max_wait_seconds must be >= 0")
        if not image_deadline_seconds > 0:  # also rejects NaN
            raise ValueError("image_deadline_seconds must be > 0")
        names = [p.name for p in providers]
        if len(set(names)) != len(names):
            raise ValueError(f"provider names must be unique, got {names}")
        concurrency = concurrency or {}
        rate_limits = rate_limits or {}
        self.retry = retry or RetryPolicy()
        self.breaker_max_wait_seconds = breaker_max_wait_seconds
        self.image_deadline_seconds = image_deadline_seconds
        self.model_credits = dict(model_credits or {})
        self._clock = clock
        self._sleep = sleep
        # Notified whenever a call's verdict reaches a breaker, so images waiting for another
        # thread's half-open probe wake as soon as it is decided.
        self._breaker_changed = threading.Condition()
        self._retrier = LaneRetrier(
            retry=self.retry,
            image_deadline_seconds=image_deadline_seconds,
            clock=clock,
            sleep=sleep,
            rng=rng or random.Random(),
        )
        self._lanes = [
            ProviderLane(
                provider=p,
                concurrency=concurrency.get(p.name, DEFAULT_CONCURRENCY),
                breaker=CircuitBreaker(breaker_failures, breaker_rest_seconds, clock=clock),
                bucket=rate_limits.get(p.name),
                on_verdict=self._wake_waiters,
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
    def catalogue(self) -> ModelCatalogue:
        """The models the enabled providers serve (GET /api/models), priced per image."""
        return ModelCatalogue.of(
            (spec for lane in self._lanes for spec in lane.provider.models()),
            credits=self.model_credits,
        )

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
            counters["times_rested"] = lane.breaker.times_opened
            counters["concurrency"] = lane.concurrency
            out[lane.name] = counters
        return out

    def generate(self, request: ImageRequest) -> ImageResult:
        """Make one image, or raise GenerationFailed(reason, attempts, providers_tried, kind)."""
        capable = [lane for lane in self._lanes if lane.provider.supports(request)]
        if not capable:
            raise GenerationFailed(
                f"no enabled provider can make {_describe(request)} "
                f"(enabled: {', '.join(self.provider_names)})",
                attempts=0,
                providers_tried=[],
                kind=FailureKind.PERMANENT,
            )
        image = _ImageAttempts(
            request,
            capable,
            deadline=self._clock() + self.image_deadline_seconds,
            left={lane.name: self.retry.max_attempts for lane in capable},
        )
        queue = self._in_turn(capable)
        admitted: ProviderLane | None = None  # a lane whose breaker already let us through
        wait_started: float | None = None
        while True:
            result = self._try_in_turn(image, queue, admitted)
            if result is not None:
                return replace(result, attempts=image.attempts)
            # Every capable provider has been tried or skipped. The ones still open to this
            # image were resting; wait for them only if no capable provider is healthy (a
            # healthy one already gave its verdict, and waiting would not change it).
            resting = [lane for lane in capable if image.left[lane.name] > 0]
            done = [lane for lane in capable if image.left[lane.name] == 0]
            if (
                self.breaker_max_wait_seconds <= 0
                or not resting
                or any(lane.breaker.state == CircuitBreaker.CLOSED for lane in done)
            ):
                break
            if wait_started is None:
                wait_started = self._clock()
                logger.warning(
                    "every provider that can make this image is resting; waiting up to %.0fs "
                    "for %s to take a probe call",
                    self.breaker_max_wait_seconds,
                    ", ".join(lane.name for lane in resting),
                )
            admitted = self._await_admission(
                resting, min(wait_started + self.breaker_max_wait_seconds, image.deadline)
            )
            if admitted is None:
                waited = self._clock() - wait_started
                for lane in resting:
                    image.reasons[lane.name] = _resting_reason(
                        lane, image.errors.get(lane.name), waited
                    )
                break
            # The admitted lane goes first (it holds the probe); the others queue behind it.
            queue = [admitted] + [lane for lane in resting if lane is not admitted]
        raise image.failure()

    def _try_in_turn(
        self, image: _ImageAttempts, queue: list[ProviderLane], admitted: ProviderLane | None
    ) -> ImageResult | None:
        """Try the lanes of `queue` in turn, each within what the image may still spend on it,
        until one makes the image; skip those resting (`admitted` already passed its breaker).
        None when none did: `image` says why."""
        while queue:
            lane = queue.pop(0)
            if lane is admitted:
                admitted = None
            elif not lane.breaker.allow():
                wait = lane.breaker.seconds_until_retry()
                image.reasons[lane.name] = f"resting after repeated failures ({wait:.0f}s left)"
                continue
            if lane.name not in image.tried:
                image.tried.append(lane.name)
            outcome = self._retrier.run(
                lane,
                image.request,
                tuple(queue),
                budget=image.left[lane.name],
                deadline=image.deadline,
            )
            image.attempts += outcome.calls
            if outcome.result is not None:
                return outcome.result
            image.left[lane.name] = outcome.budget_left if outcome.resting else 0
            if not outcome.transient:
                image.refused.add(lane.name)
            if outcome.error:
                image.errors[lane.name] = outcome.error
            image.reasons[lane.name] = outcome.reason
            logger.info(
                "image failed on %s (%s); trying the next provider", lane.name, outcome.reason
            )
        return None

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

    def _await_admission(
        self, lanes: Sequence[ProviderLane], deadline: float
    ) -> ProviderLane | None:
        """Wait until one of these resting lanes lets a call through (and return it: the
        caller holds its probe, or the breaker has closed), or None once `deadline` passes or
        cannot be met. While a breaker is open this sleeps (injected sleep) until the rest is
        over; while another thread's probe is out it waits for that probe's verdict."""
        while True:
            with self._breaker_changed:
                # Checked under the condition's lock: a verdict recorded after this check is
                # notified after it, so the wait below cannot miss it.
                for lane in lanes:
                    if lane.breaker.allow():
                        return lane
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return None
                rest = min(lane.breaker.seconds_until_retry() for lane in lanes)
                if rest <= 0:  # half-open with the probe out: wait for its verdict
                    self._breaker_changed.wait(min(self.PROBE_POLL_SECONDS, remaining))
                    continue
            if rest > remaining:
                return None  # no provider will be back before the deadline: fail now
            self._sleep(rest)

    def _wake_waiters(self) -> None:
        """A call's verdict reached a breaker: wake the images waiting on one."""
        with self._breaker_changed:
            self._breaker_changed.notify_all()


def _resting_reason(lane: ProviderLane, error: str | None, waited: float) -> str:
    left = lane.breaker.seconds_until_retry()
    text = f"resting after repeated failures ({left:.0f}s left"
    text += f", waited {waited:.0f}s)" if waited > 0 else ")"
    return f"{error}; {text}" if error else text


def _describe(request: ImageRequest) -> str:
    if request.wants_exact_size:
        return f"exact {request.width}x{request.height} images"
    return f"aspect ratio {request.aspect_ratio!r} images"


def build_router(
    settings: RouterSettings,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    rng: random.Random | None = None,
) -> ImageRouter:
    """The router for these settings, with one provider instance (one SDK client) each; which
    providers exist, how each is built and limited, comes from the settings' registry."""
    providers: list[ImageProvider] = []
    rate_limits: dict[str, TokenBucket] = {}
    for name in settings.providers:
        if name not in settings.registry:  # settings validation makes this unreachable
            raise ValueError(f"unknown provider {name!r}")
        providers.append(settings.registry[name].build(settings))
        per_minute = settings.creates_per_minute_for(name)
        if per_minute is not None:
            per_second = per_minute / 60.0
            # Capacity of one second's worth: a burst of `concurrency` starts at once, and
            # sustained creates never exceed the account limit.
            rate_limits[name] = TokenBucket(
                per_second, max(1.0, per_second), clock=clock, sleep=sleep
            )
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
        breaker_max_wait_seconds=settings.breaker_max_wait_seconds,
        image_deadline_seconds=settings.image_deadline_seconds,
        model_credits=settings.model_credits,
        clock=clock,
        sleep=sleep,
        rng=rng,
    )


_shared: dict[tuple[ProviderRegistry, tuple[tuple[str, str], ...]], ImageRouter] = {}
_shared_lock = threading.Lock()


def shared_router(env: Mapping[str, str], registry: ProviderRegistry | None = None) -> ImageRouter:
    """The router of the provider settings in `env`, built once per process and shared: its
    limits hold for every run here, and building one creates every provider's SDK client,
    which a start request's preflight would otherwise pay.

    Two environments share a router when every variable the registry's settings read is the
    same (default registry: `PROVIDERS`), so a new provider's variables count with no change
    here."""
    if registry is None:
        from . import settings as provider_settings  # looked up now: tests may swap the table

        registry = provider_settings.PROVIDERS
    key = (registry, registry.settings_key(env))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = build_router(registry.settings.from_env(env))
        return _shared[key]


@dataclass
class _ImageAttempts:
    """One image's way through the providers: what it spent and what each one said."""

    request: ImageRequest
    capable: list[ProviderLane]
    deadline: float
    # Attempts this image may still spend on each provider; 0 = done with that provider.
    left: dict[str, int]
    attempts: int = 0  # every call made, including the ones that spent no attempt
    tried: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # latest, in first-seen order
    errors: dict[str, str] = field(default_factory=dict)  # last error, for lanes left resting
    refused: set[str] = field(default_factory=set)  # last word on this image was permanent

    def failure(self) -> GenerationFailed:
        every_one_refused = self.refused == {lane.name for lane in self.capable}
        return GenerationFailed(
            "; ".join(f"{name}: {reason}" for name, reason in self.reasons.items()),
            attempts=self.attempts,
            providers_tried=self.tried,
            kind=FailureKind.PERMANENT if every_one_refused else FailureKind.TRANSIENT,
        )
