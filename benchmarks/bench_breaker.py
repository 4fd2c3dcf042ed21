"""How often do random faults rest a healthy provider? Simulated runs through the real breaker.

A discrete-event simulation of 30-image runs on one provider (C = 8 calls at once, one thread
per slot as in generate_images, 3 attempts per image and pass, production backoff, a second
pass), where each call answers HTTP 500 with probability 0.2 (at once), 429 with Retry-After
1 s with probability 0.1 (at once), and otherwise succeeds after the provider's latency L. Every
verdict goes to the real CircuitBreaker, with its tickets (the in-flight rule) or without them
(counted in the order answers arrive, the rule before). Reported: the share of runs in which the
breaker opened. Failures come back at once and successes only after L, so in arrival order
failures bunch up far more than p^N suggests; the in-flight rule puts them back in send order.

    python benchmarks/bench_breaker.py [--runs 20000]
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.table import print_table  # noqa: E402
from bulkgen_pipeline.providers.limits import CircuitBreaker, RetryPolicy  # noqa: E402

P_500, P_429, RETRY_AFTER = 0.2, 0.1, 1.0


def _run_rests(
    rng: random.Random,
    *,
    failures: int,
    in_flight_rule: bool,
    latency: float,
    images: int = 30,
    slots: int = 8,
) -> bool:
    """Simulate one run; True if the breaker opened."""
    retry = RetryPolicy()  # production: 3 attempts, backoff base 1 s, cap 20 s
    breaker = CircuitBreaker(failures, rest_seconds=30.0, clock=lambda: 0.0)
    events: list[tuple[float, int, str, int, int | None]] = []
    order = 0
    first_pass = list(range(images))
    second_pass: list[int] = []
    left = dict.fromkeys(first_pass, retry.max_attempts)
    passes = dict.fromkeys(first_pass, 1)

    def at(time: float, kind: str, image: int, ticket: int | None = None) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (time, order, kind, image, ticket))

    def next_image(time: float) -> None:
        queue = first_pass or second_pass
        if queue:
            at(time, "call", queue.pop(0))

    for _ in range(slots):
        next_image(0.0)
    while events:
        time, _, kind, image, ticket = heapq.heappop(events)
        if kind == "call":
            ticket = breaker.call_started() if in_flight_rule else None
            draw = rng.random()
            if draw < P_500:
                at(time, "failure", image, ticket)
            elif draw < P_500 + P_429:
                breaker.release_probe(ticket)
                at(time + RETRY_AFTER, "call", image)
            else:
                at(time + latency, "success", image, ticket)
        elif kind == "success":
            breaker.record_success(ticket)
            next_image(time)
        else:
            breaker.record_failure(ticket)
            if breaker.times_opened:
                return True
            left[image] -= 1
            if left[image]:
                spent = retry.max_attempts - left[image]
                at(time + retry.delay(spent, None, rng), "call", image)
            else:
                if passes[image] == 1:
                    passes[image], left[image] = 2, retry.max_attempts
                    second_pass.append(image)
                next_image(time)
    return False


def run_breaker_benchmarks(runs: int = 20_000, seed: int = 1) -> list[dict[str, Any]]:
    rows = []
    for latency in (1.0, 5.0):
        for failures, in_flight_rule in ((5, False), (10, False), (5, True), (10, True)):
            rng = random.Random(seed)
            rested = sum(
                _run_rests(rng, failures=failures, in_flight_rule=in_flight_rule, latency=latency)
                for _ in range(runs)
            )
            rows.append(
                {
                    "latency s": latency,
                    "breaker": f"{failures} in a row"
                    + (", in-flight rule" if in_flight_rule else ", arrival order"),
                    "runs": runs,
                    "runs that rested it": rested,
                    "share": f"{rested / runs:.4%}",
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20_000)
    args = parser.parse_args(argv)
    print_table(
        "Breaker: 30-image runs under 20 % 500 + 10 % 429 that rested a healthy provider",
        run_breaker_benchmarks(args.runs),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
