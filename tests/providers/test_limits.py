from __future__ import annotations

import random
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkgen_pipeline.providers.limits import CircuitBreaker, RetryPolicy, TokenBucket
from tests.fakes.clock import FakeClock


def still_clock() -> FakeClock:
    """Time moves only when a test says so: what each call would wait is in `sleeps`."""
    return FakeClock(now=0.0, advance_on_sleep=False)


def test_token_bucket_allows_a_burst_then_spaces_calls() -> None:
    clock = still_clock()
    bucket = TokenBucket(rate=10, capacity=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(6)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == pytest.approx([0.1, 0.2, 0.3])  # queued callers each get their slot


def test_token_bucket_refills_with_time() -> None:
    clock = still_clock()
    bucket = TokenBucket(rate=1, capacity=2, clock=clock, sleep=clock.sleep)
    bucket.acquire(), bucket.acquire()
    clock.now += 1.5
    assert bucket.acquire() == 0
    assert bucket.acquire() == pytest.approx(0.5)


def test_token_bucket_rate_holds_under_threads() -> None:
    clock = still_clock()
    bucket = TokenBucket(rate=10, capacity=1, clock=clock, sleep=clock.sleep)
    threads = [threading.Thread(target=bucket.acquire) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 40 calls at 10/s with no time passing: the waits are exactly 0.1, 0.2, ... 3.9 s.
    assert sorted(clock.sleeps) == pytest.approx([0.1 * i for i in range(1, 40)])


def test_breaker_opens_after_consecutive_failures_and_rests() -> None:
    clock = still_clock()
    breaker = CircuitBreaker(failures=3, rest_seconds=10, clock=clock)
    breaker.record_failure(), breaker.record_failure()
    breaker.record_success()  # a success resets the run of failures
    breaker.record_failure(), breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    assert breaker.seconds_until_retry() == 10
    clock.now += 9.9
    assert not breaker.allow()


def test_breaker_half_open_lets_one_probe_through() -> None:
    clock = still_clock()
    breaker = CircuitBreaker(failures=1, rest_seconds=5, clock=clock)
    breaker.record_failure()
    clock.now += 5
    assert breaker.state == "half_open"
    assert breaker.allow()
    assert not breaker.allow()  # only one probe at a time
    breaker.record_failure()  # probe failed: rest again
    assert breaker.state == "open" and breaker.times_opened == 2
    clock.now += 5
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


def test_breaker_late_failure_does_not_extend_the_rest() -> None:
    clock = still_clock()
    breaker = CircuitBreaker(failures=1, rest_seconds=5, clock=clock)
    breaker.record_failure()
    clock.now += 4
    breaker.record_failure()  # from a call that started before the breaker opened
    clock.now += 1
    assert breaker.state == "half_open"


def test_breaker_released_probe_can_be_taken_again() -> None:
    clock = still_clock()
    breaker = CircuitBreaker(failures=1, rest_seconds=1, clock=clock)
    breaker.record_failure()
    clock.now += 1
    assert breaker.allow()
    breaker.release_probe()
    assert breaker.allow()


@given(
    attempt=st.integers(1, 30),
    base=st.floats(0, 10),
    cap=st.floats(0, 60),
    seed=st.integers(0, 2**32),
)
def test_backoff_is_full_jitter_within_the_exponential_cap(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    policy = RetryPolicy(base_seconds=base, max_seconds=cap)
    delay = policy.delay(attempt, None, random.Random(seed))
    assert 0 <= delay <= min(cap, base * 2 ** (attempt - 1)) + 1e-9


@given(retry_after=st.floats(0, 10_000), bound=st.floats(0, 120))
def test_retry_after_wins_but_is_bounded(retry_after: float, bound: float) -> None:
    policy = RetryPolicy(max_retry_after_seconds=bound)
    assert policy.delay(1, retry_after, random.Random(0)) == min(retry_after, bound)


def test_backoff_spreads_out() -> None:
    rng = random.Random(1)
    delays = {
        round(RetryPolicy(base_seconds=1, max_seconds=8).delay(3, None, rng), 6) for _ in range(20)
    }
    assert len(delays) == 20 and max(delays) <= 4


def test_breaker_waits_for_calls_sent_before_a_run_of_failures() -> None:
    clock = still_clock()
    breaker = CircuitBreaker(failures=2, rest_seconds=10, clock=clock)
    slow = breaker.call_started()  # a slow call, still out
    for _ in range(3):  # quick failures sent after it overtake it
        breaker.record_failure(breaker.call_started())
    assert breaker.state == "closed"  # the slow call may yet show the provider alive
    breaker.record_success(slow)
    assert breaker.state == "closed"
    # Later failures count from zero again, and a call sent after them does not hold them.
    first, second = breaker.call_started(), breaker.call_started()
    later = breaker.call_started()
    breaker.record_failure(first)
    breaker.record_failure(second)
    assert breaker.state == "open"
    breaker.release_probe(later)


def test_breaker_rests_once_the_earlier_call_fails_too() -> None:
    clock = still_clock()
    breaker = CircuitBreaker(failures=3, rest_seconds=10, clock=clock)
    slow = breaker.call_started()
    for _ in range(3):
        breaker.record_failure(breaker.call_started())
    assert breaker.state == "closed"
    breaker.record_failure(slow)  # the provider is dead after all
    assert breaker.state == "open" and breaker.times_opened == 1


def test_a_call_without_a_verdict_on_health_no_longer_holds_the_breaker() -> None:
    clock = still_clock()
    breaker = CircuitBreaker(failures=2, rest_seconds=10, clock=clock)
    busy = breaker.call_started()
    breaker.record_failure(breaker.call_started())
    breaker.release_probe(busy)  # answered 429: no verdict, and no longer out
    breaker.record_failure(breaker.call_started())
    assert breaker.state == "open"
