"""The router, driven through the real SDKs against the fake servers."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bulkgen_pipeline.providers.base import GenerationFailed, ImageRequest, ImageResult
from bulkgen_pipeline.providers.google_provider import GoogleProvider
from bulkgen_pipeline.providers.limits import RetryPolicy, TokenBucket
from bulkgen_pipeline.providers.preview import LocalPreviewProvider
from bulkgen_pipeline.providers.replicate_provider import ReplicateProvider
from bulkgen_pipeline.providers.router import ImageRouter
from tests.fakes._http import png_bytes
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.replicate_server import FakeReplicate


def ratio(seed: int = 1, aspect: str = "1:1") -> ImageRequest:
    return ImageRequest(prompt=f"bag {seed}", seed=seed, aspect_ratio=aspect)


def exact(seed: int = 1) -> ImageRequest:
    return ImageRequest(prompt=f"bag {seed}", seed=seed, width=512, height=512)


def make_router(providers: list[Any], clock: Any, **kwargs: Any) -> ImageRouter:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, base_seconds=1, max_seconds=8))
    return ImageRouter(providers, clock=clock, sleep=clock.sleep, rng=random.Random(0), **kwargs)


def run_all(router: ImageRouter, requests: list[ImageRequest], threads: int) -> list[Any]:
    def one(request: ImageRequest) -> ImageResult | GenerationFailed:
        try:
            return router.generate(request)
        except GenerationFailed as exc:
            return exc

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, requests))


# -- capability and balance ---------------------------------------------------------------


def test_exact_sizes_go_only_to_providers_that_take_them(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    router = make_router([google_provider, replicate_provider], fake_clock)
    results = [router.generate(exact(seed)) for seed in range(6)]
    assert {r.provider for r in results} == {"replicate"}
    assert fake_gemini.counts["generate"] == 0
    assert fake_replicate.counts["create"] == 6


def test_exact_size_nobody_can_make_fails_at_once(google_provider, fake_clock) -> None:
    router = make_router([google_provider], fake_clock)
    with pytest.raises(GenerationFailed) as info:
        router.generate(exact())
    assert "no enabled provider can make exact 512x512" in info.value.reason
    assert (info.value.attempts, info.value.providers_tried) == (0, [])


def test_aspect_ratios_alternate_round_robin(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    router = make_router([replicate_provider, google_provider], fake_clock)
    providers = [router.generate(ratio(seed)).provider for seed in range(20)]
    assert providers == ["replicate", "google"] * 10
    assert fake_replicate.counts["create"] == fake_gemini.counts["generate"] == 10


def test_a_ratio_only_one_provider_takes_does_not_skew_the_rotation(
    google_provider, replicate_provider, fake_clock
) -> None:
    router = make_router([replicate_provider, google_provider], fake_clock)
    assert router.generate(ratio(1, "9:21")).provider == "replicate"  # flux-only ratio
    providers = [router.generate(ratio(seed)).provider for seed in range(4)]
    assert providers == ["replicate", "google", "replicate", "google"]


def test_round_robin_balance_under_threads(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_replicate.latency = fake_gemini.latency = 0.02
    router = make_router([replicate_provider, google_provider], fake_clock)
    results = run_all(router, [ratio(seed) for seed in range(40)], threads=router.max_parallel)
    assert Counter(r.provider for r in results) == {"replicate": 20, "google": 20}


# -- retries ------------------------------------------------------------------------------


def test_retry_honours_retry_after(replicate_provider, fake_replicate, fake_clock) -> None:
    fake_replicate.failures.fail_next(1, 429, retry_after=7)
    result = make_router([replicate_provider], fake_clock).generate(ratio())
    assert result.attempts == 2
    assert fake_clock.sleeps == [7.0]
    assert fake_replicate.counts["create"] == 2


def test_retry_after_is_bounded(google_provider, fake_gemini, fake_clock) -> None:
    fake_gemini.failures.fail_next(1, 429, retry_after=3600)
    router = make_router(
        [google_provider], fake_clock, retry=RetryPolicy(max_attempts=2, max_retry_after_seconds=30)
    )
    assert router.generate(ratio()).attempts == 2
    assert fake_clock.sleeps == [30.0]


def test_retry_after_really_waits(replicate_provider, fake_replicate) -> None:
    fake_replicate.failures.fail_next(1, 503, retry_after=1)
    router = ImageRouter([replicate_provider])  # real clock, real sleep
    started = time.monotonic()
    result = router.generate(ratio())
    waited = time.monotonic() - started
    assert result.attempts == 2
    assert 1.0 <= waited < 3.0


def test_5xx_backs_off_exponentially_with_jitter(
    replicate_provider, fake_replicate, fake_clock
) -> None:
    fake_replicate.failures.fail_next(2, 500)
    result = make_router([replicate_provider], fake_clock).generate(ratio())
    assert result.attempts == 3
    first, second = fake_clock.sleeps
    assert 0 < first <= 1 and 0 < second <= 2  # base 1 s, doubling, full jitter


def test_permanent_errors_are_not_retried(replicate_provider, fake_replicate, fake_clock) -> None:
    fake_replicate.reject_input = "prompt too long"
    with pytest.raises(GenerationFailed, match="prompt too long") as info:
        make_router([replicate_provider], fake_clock).generate(ratio())
    assert info.value.attempts == 1
    assert fake_replicate.counts["create"] == 1
    assert fake_clock.sleeps == []


def test_safety_block_is_a_failure_reason(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_gemini.block = "prompt"
    fake_replicate.safety_block = True
    router = make_router([google_provider, replicate_provider], fake_clock)
    with pytest.raises(GenerationFailed) as info:
        router.generate(ratio())
    assert "google: google blocked the prompt (SAFETY)" in info.value.reason
    assert "replicate: replicate safety filter blocked the image" in info.value.reason
    assert info.value.attempts == 2  # one call each: a block is not retried
    assert info.value.providers_tried == ["google", "replicate"]


def test_permanent_error_on_one_provider_fails_over_to_the_next(
    google_provider, replicate_provider, fake_gemini, fake_clock
) -> None:
    fake_gemini.block = "candidate"
    router = make_router([google_provider, replicate_provider], fake_clock)
    result = router.generate(ratio())
    assert (result.provider, result.attempts) == ("replicate", 2)
    assert fake_gemini.counts["generate"] == 1


# -- failover and circuit breaker --------------------------------------------------------


def test_failover_when_one_provider_is_down(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_gemini.failures.down_status = 503
    router = make_router([google_provider, replicate_provider], fake_clock, breaker_failures=3)
    results = [router.generate(ratio(seed)) for seed in range(12)]
    assert {r.provider for r in results} == {"replicate"}
    # Images whose turn was google's fail there once and move straight to the idle replicate,
    # with no backoff; the others start on replicate.
    assert [r.attempts for r in results[:6]] == [2, 1, 2, 1, 2, 1]
    assert all(r.attempts == 1 for r in results[6:])
    assert fake_clock.sleeps == []
    # The breaker opened after 3 failures: the dead provider got no more calls.
    assert fake_gemini.counts["generate"] == 3
    assert router.lane("google").breaker.state == "open"


def test_failover_when_a_host_refuses_connections(replicate_provider, fake_clock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    dead = GoogleProvider("AIza-dead-key", base_url=dead_url)
    router = make_router([dead, replicate_provider], fake_clock)
    result = router.generate(ratio())
    assert (result.provider, result.attempts) == ("replicate", 2)


def test_all_down_fails_with_every_providers_reason(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_gemini.failures.down_status = 500
    fake_replicate.failures.down_status = 503
    router = make_router(
        [replicate_provider, google_provider], fake_clock, retry=RetryPolicy(max_attempts=2)
    )
    with pytest.raises(GenerationFailed) as info:
        router.generate(ratio())
    failed = info.value
    assert failed.providers_tried == ["replicate", "google"]
    # replicate: one call, then straight to the idle google; google, the last, spends its retries.
    assert failed.attempts == 3
    assert "replicate: replicate HTTP 503" in failed.reason
    assert "moved to an idle provider; google: google HTTP 500" in failed.reason
    assert "google: google HTTP 500" in failed.reason
    assert "after 2 attempts" in failed.reason


def test_circuit_breaker_opens_then_closes_after_rest(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_gemini.failures.down_status = 503
    router = make_router(
        [google_provider, replicate_provider],
        fake_clock,
        retry=RetryPolicy(max_attempts=1),
        breaker_failures=2,
        breaker_rest_seconds=30,
    )
    for seed in range(8):
        assert router.generate(ratio(seed)).provider == "replicate"
    assert fake_gemini.counts["generate"] == 2
    breaker = router.lane("google").breaker
    assert breaker.state == "open"

    fake_gemini.failures.down_status = None  # google recovers
    fake_clock.advance(29)
    router.generate(ratio(100)), router.generate(ratio(101))
    assert fake_gemini.counts["generate"] == 2  # still resting
    fake_clock.advance(1)
    providers = [router.generate(ratio(seed)).provider for seed in range(200, 204)]
    assert breaker.state == "closed"
    assert Counter(providers) == {"google": 2, "replicate": 2}
    assert fake_gemini.counts["generate"] == 4
    assert fake_clock.sleeps == []  # a resting provider next to a healthy one: no wait


def test_with_max_wait_zero_all_resting_fails_fast(
    replicate_provider, fake_replicate, fake_clock
) -> None:
    fake_replicate.failures.down_status = 503
    router = make_router(
        [replicate_provider],
        fake_clock,
        retry=RetryPolicy(max_attempts=1),
        breaker_failures=1,
        breaker_max_wait_seconds=0,
    )
    with pytest.raises(GenerationFailed):
        router.generate(ratio())
    fake_replicate.failures.down_status = None  # recovered, but still resting
    with pytest.raises(GenerationFailed) as info:
        router.generate(ratio())
    assert info.value.reason == "replicate: resting after repeated failures (30s left)"
    assert info.value.attempts == 0
    assert fake_replicate.counts["create"] == 1
    assert fake_clock.sleeps == []


# -- waiting out a rest when no capable provider is healthy --------------------------------


class Spy:
    """Wraps a real provider and records when each call starts and ends."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.events: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def supports(self, request: ImageRequest) -> bool:
        return bool(self.inner.supports(request))

    def generate(self, request: ImageRequest) -> ImageResult:
        with self._lock:
            self.events.append(("start", request.seed))
        try:
            return self.inner.generate(request)
        finally:
            with self._lock:
                self.events.append(("end", request.seed))


def test_a_short_outage_of_the_only_provider_is_waited_out(
    replicate_provider, fake_replicate, fake_clock
) -> None:
    fake_replicate.failures.fail_next(5, 503)  # five failures, then the provider is back
    router = make_router(
        [replicate_provider], fake_clock, retry=RetryPolicy(max_attempts=1), breaker_failures=5
    )
    for seed in range(5):
        with pytest.raises(GenerationFailed, match="HTTP 503"):
            router.generate(ratio(seed))
    breaker = router.lane("replicate").breaker
    assert breaker.state == "open"

    results = [router.generate(ratio(seed)) for seed in range(10, 20)]
    # The first image waited out the 30 s rest and was the probe; the rest went straight on.
    assert fake_clock.sleeps == [pytest.approx(30.0)]
    assert [(r.provider, r.attempts) for r in results] == [("replicate", 1)] * 10
    assert [r.seed for r in results] == list(range(10, 20))
    assert fake_replicate.counts["create"] == 15
    stats = router.stats()["replicate"]
    assert (stats["calls"], stats["successes"], stats["transient_failures"]) == (15, 10, 5)
    assert breaker.state == "closed" and breaker.times_opened == 1


def test_an_image_whose_retries_tripped_the_breaker_waits_and_uses_its_last_attempt(
    replicate_provider, fake_replicate, fake_clock
) -> None:
    fake_replicate.failures.fail_next(5, 503)
    router = make_router([replicate_provider], fake_clock, breaker_failures=5)  # 3 attempts
    with pytest.raises(GenerationFailed, match=r"HTTP 503 .*\(after 3 attempts\)"):
        router.generate(ratio(1))  # failures 1-3: a real failure, the breaker still closed
    # Failures 4 and 5 open the breaker: no backoff, the image waits for the rest instead and
    # its third attempt is the probe.
    result = router.generate(ratio(2))
    assert (result.provider, result.attempts) == ("replicate", 3)
    *backoffs, rest = fake_clock.sleeps
    assert len(backoffs) == 3 and all(0 <= b <= 2 for b in backoffs)
    assert rest == pytest.approx(30.0)
    assert [router.generate(ratio(seed)).attempts for seed in range(3, 11)] == [1] * 8
    assert fake_replicate.counts["create"] == 14
    assert len(fake_clock.sleeps) == 4


def test_many_threads_wait_for_one_probe_then_all_succeed(
    replicate_provider, fake_replicate, fake_clock
) -> None:
    spy = Spy(replicate_provider)
    fake_replicate.failures.fail_next(2, 503)
    router = make_router(
        [spy],
        fake_clock,
        retry=RetryPolicy(max_attempts=1),
        breaker_failures=2,
        # Generous: the fake clock adds up every thread's sleep, though real threads sleep
        # side by side.
        breaker_max_wait_seconds=3600,
    )
    for seed in range(2):
        with pytest.raises(GenerationFailed):
            router.generate(ratio(seed))
    assert router.lane("replicate").breaker.state == "open"
    spy.events.clear()
    fake_replicate.latency = 0.2  # the probe takes a while: everyone else must wait for it

    results = run_all(router, [ratio(seed) for seed in range(100, 108)], threads=8)

    assert all(isinstance(r, ImageResult) for r in results), results
    assert [r.seed for r in results] == list(range(100, 108))
    assert all(r.attempts == 1 for r in results)
    # Exactly one probe went out first, and nothing else started before it had succeeded.
    (_, probe_seed), second = spy.events[:2]
    assert spy.events[0] == ("start", probe_seed) and second == ("end", probe_seed)
    assert sorted(seed for kind, seed in spy.events if kind == "start") == list(range(100, 108))
    assert fake_replicate.counts["create"] == 2 + 8
    assert all(0 < s <= 30 for s in fake_clock.sleeps)  # only rests were slept, never spun
    assert router.lane("replicate").breaker.state == "closed"


def test_a_short_outage_under_concurrent_load_costs_at_most_one_image(
    replicate_provider, fake_replicate, fake_clock
) -> None:
    """The reviewer's case: 503 five times, then healthy; ten images at once."""
    fake_replicate.failures.fail_next(5, 503)
    router = make_router(
        [replicate_provider], fake_clock, breaker_failures=5, breaker_max_wait_seconds=3600
    )
    results = run_all(router, [ratio(seed) for seed in range(10)], threads=10)
    made = [r for r in results if isinstance(r, ImageResult)]
    failed = [r for r in results if isinstance(r, GenerationFailed)]
    # Only an image that spent all 3 attempts before the breaker opened may fail.
    assert len(failed) <= 1
    assert all("(after 3 attempts)" in f.reason for f in failed)
    assert fake_replicate.counts["create"] == 5 + len(made)
    assert router.lane("replicate").breaker.state == "closed"


def test_a_provider_that_stays_down_fails_after_the_max_wait(
    replicate_provider, fake_replicate, fake_clock
) -> None:
    fake_replicate.failures.down_status = 503
    router = make_router(
        [replicate_provider],
        fake_clock,
        retry=RetryPolicy(max_attempts=5),
        breaker_failures=1,
        breaker_rest_seconds=30,
        breaker_max_wait_seconds=60,
    )
    with pytest.raises(GenerationFailed) as info:
        router.generate(ratio())
    failed = info.value
    # Call 1 rests the provider; a probe after each 30 s rest (calls 2 and 3) fails; then the
    # 60 s are up.
    assert fake_clock.sleeps == [pytest.approx(30.0), pytest.approx(30.0)]
    assert failed.attempts == 3 and failed.providers_tried == ["replicate"]
    assert fake_replicate.counts["create"] == 3
    assert failed.reason.startswith("replicate: replicate HTTP 503")
    assert failed.reason.endswith("resting after repeated failures (30s left, waited 60s)")


def test_a_rest_that_outlasts_the_max_wait_fails_without_sleeping(
    replicate_provider, fake_replicate, fake_clock
) -> None:
    fake_replicate.failures.down_status = 503
    router = make_router(
        [replicate_provider],
        fake_clock,
        retry=RetryPolicy(max_attempts=1),
        breaker_failures=1,
        breaker_rest_seconds=30,
        breaker_max_wait_seconds=10,
    )
    with pytest.raises(GenerationFailed):
        router.generate(ratio(1))
    with pytest.raises(GenerationFailed) as info:
        router.generate(ratio(2))
    assert info.value.reason == "replicate: resting after repeated failures (30s left)"
    assert info.value.attempts == 0
    assert fake_clock.sleeps == []


def test_with_every_provider_resting_the_image_waits_for_the_first_back(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    router = make_router(
        [google_provider, replicate_provider],
        fake_clock,
        retry=RetryPolicy(max_attempts=1),
        breaker_failures=1,
        breaker_rest_seconds=30,
    )
    fake_gemini.failures.fail_next(1, 503)
    assert router.generate(ratio(1)).provider == "replicate"  # google fails and rests
    fake_clock.advance(10)
    fake_replicate.failures.fail_next(1, 503)
    # Replicate's turn: it fails and rests too. Now nobody is healthy: the image waits for
    # google, back first (20 s left against replicate's 30 s).
    result = router.generate(ratio(2))
    assert (result.provider, result.attempts) == ("google", 2)
    assert fake_clock.sleeps == [pytest.approx(20.0)]
    assert router.lane("google").breaker.state == "closed"
    assert router.lane("replicate").breaker.state == "open"


def test_a_resting_provider_is_not_waited_for_when_another_one_answered(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_gemini.failures.fail_next(1, 503)
    router = make_router(
        [google_provider, replicate_provider],
        fake_clock,
        retry=RetryPolicy(max_attempts=1),
        breaker_failures=1,
    )
    router.generate(ratio(1))  # google fails and rests; replicate makes the image
    fake_replicate.reject_input = "prompt too long"  # a healthy provider's final verdict
    with pytest.raises(GenerationFailed) as info:
        router.generate(ratio(2))
    assert "google: resting after repeated failures (30s left)" in info.value.reason
    assert "prompt too long" in info.value.reason
    assert fake_clock.sleeps == []


def test_rate_limits_do_not_trip_the_breaker(google_provider, fake_gemini, fake_clock) -> None:
    router = make_router(
        [google_provider], fake_clock, breaker_failures=2, retry=RetryPolicy(max_attempts=4)
    )
    for seed in (1, 2):
        fake_gemini.failures.fail_next(3, 429, retry_after=1)
        assert router.generate(ratio(seed)).attempts == 4
    assert router.lane("google").breaker.state == "closed"
    assert fake_gemini.counts["generate"] == 8


# -- concurrency, rate, thread safety ------------------------------------------------------


def test_concurrency_limit_is_respected_at_the_provider(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_replicate.latency = fake_gemini.latency = 0.1
    router = make_router(
        [replicate_provider, google_provider], fake_clock, concurrency={"replicate": 3, "google": 2}
    )
    assert router.max_parallel == 5
    results = run_all(router, [ratio(seed) for seed in range(20)], threads=20)
    assert all(isinstance(r, ImageResult) for r in results)
    assert fake_replicate.max_concurrent_predictions() == 3
    assert fake_gemini.max_in_flight_seen == 2
    assert router.stats()["replicate"]["max_in_flight"] == 3


def test_rate_limit_spaces_creates(replicate_provider, fake_replicate, fake_clock) -> None:
    bucket = TokenBucket(rate=2, capacity=1, clock=fake_clock, sleep=fake_clock.sleep)
    router = make_router([replicate_provider], fake_clock, rate_limits={"replicate": bucket})
    for seed in range(3):
        router.generate(ratio(seed))
    assert fake_clock.sleeps == [0.5, 0.5]
    assert fake_replicate.counts["create"] == 3


def test_many_threads_keep_results_and_counters_straight(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_replicate.failures.set_ratio(0.15, 500, seed=1)
    fake_gemini.failures.set_ratio(0.15, 503, seed=2)
    fake_replicate.latency = fake_gemini.latency = 0.005
    router = make_router(
        [replicate_provider, google_provider],
        fake_clock,
        retry=RetryPolicy(max_attempts=4),
        breaker_failures=1000,
    )
    requests = [ratio(seed) for seed in range(80)]
    results = run_all(router, requests, threads=32)

    assert all(isinstance(r, ImageResult) for r in results)
    for request, result in zip(requests, results, strict=True):
        assert result.seed == request.seed
        # The fakes shade each image by seed: no thread got another request's image.
        assert result.image_bytes == png_bytes(64, 64, shade=request.seed % 200)
    stats = router.stats()
    calls = fake_replicate.counts["create"] + fake_gemini.counts["generate"]
    assert sum(s["calls"] for s in stats.values()) == calls
    assert sum(r.attempts for r in results) == calls
    assert sum(s["successes"] for s in stats.values()) == 80
    assert all(s["in_flight"] == 0 for s in stats.values())


def test_a_provider_bug_fails_the_image_not_the_run(fake_clock) -> None:
    class Broken:
        name = "broken"

        def supports(self, request: ImageRequest) -> bool:
            return True

        def generate(self, request: ImageRequest) -> ImageResult:
            raise RuntimeError("internal detail that must not leak")

    router = make_router(
        [Broken(), LocalPreviewProvider()], fake_clock, retry=RetryPolicy(max_attempts=1)
    )
    assert router.generate(ratio()).provider == "local"
    router_alone = make_router([Broken()], fake_clock, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(GenerationFailed, match="failed unexpectedly") as info:
        router_alone.generate(ratio())
    assert "must not leak" not in info.value.reason
    assert "RuntimeError" not in info.value.reason  # a sentence, not a class name


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        ImageRouter([])
    with pytest.raises(ValueError, match="unique"):
        ImageRouter([LocalPreviewProvider(), LocalPreviewProvider()])
    with pytest.raises(ValueError, match="concurrency"):
        ImageRouter([LocalPreviewProvider()], concurrency={"local": 0})
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="breaker_max_wait_seconds"):
            ImageRouter([LocalPreviewProvider()], breaker_max_wait_seconds=bad)


def test_fixture_types(
    fake_replicate: FakeReplicate, fake_gemini: FakeGemini, replicate_provider: ReplicateProvider
) -> None:
    assert fake_replicate.base_url.startswith("http://127.0.0.1:")
    assert fake_gemini.base_url.startswith("http://127.0.0.1:")
    assert replicate_provider.name == "replicate"


def test_a_transient_failure_moves_to_an_idle_provider_without_waiting(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_replicate.failures.fail_next(1, status=500)
    router = make_router([replicate_provider, google_provider], fake_clock)
    result = router.generate(ratio())
    assert (result.provider, result.attempts) == ("google", 2)
    assert fake_clock.sleeps == []


def test_with_the_other_provider_busy_the_image_backs_off_and_retries_in_place(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_replicate.failures.fail_next(1, status=500)
    router = make_router(
        [replicate_provider, google_provider], fake_clock, concurrency={"google": 1}
    )
    with router.lane("google").slots:  # google's only slot is taken
        router.lane("google").stats.in_flight += 1
        result = router.generate(ratio())
        router.lane("google").stats.in_flight -= 1
    assert (result.provider, result.attempts) == ("replicate", 2)
    assert len(fake_clock.sleeps) == 1


def test_a_retry_after_is_respected_even_with_an_idle_provider(
    google_provider, replicate_provider, fake_gemini, fake_replicate, fake_clock
) -> None:
    fake_replicate.failures.fail_next(1, status=429, retry_after=2)
    router = make_router([replicate_provider, google_provider], fake_clock)
    result = router.generate(ratio())
    assert (result.provider, result.attempts) == ("replicate", 2)
    assert fake_clock.sleeps == [2]
