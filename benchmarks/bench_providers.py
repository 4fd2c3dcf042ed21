"""Provider router benchmark: how close does a 50-image run get to the concurrency limit?

Runs the real SDKs against the fake Replicate and Gemini servers (tests/fakes) with an
injected provider latency L. With concurrency C, 50 images cannot finish faster than
ceil(50 / C) x L; one at a time they take 50 x L. Target: wall time within 1.3x the limit,
also with 20% of provider calls failing transiently (retried by the router).

    python benchmarks/bench_providers.py [--images 50] [--latency 1.0] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bulkgen_pipeline.providers.base import GenerationFailed, ImageRequest  # noqa: E402
from bulkgen_pipeline.providers.router import build_router  # noqa: E402
from bulkgen_pipeline.providers.settings import ProviderSettings  # noqa: E402
from tests.fakes.gemini_server import FakeGemini  # noqa: E402
from tests.fakes.replicate_server import FakeReplicate  # noqa: E402

TARGET_RATIO = 1.3
RATIOS = ["1:1", "16:9", "4:5", "3:2", "9:16"]


def _scenario(
    name: str,
    providers: list[str],
    *,
    images: int,
    latency: float,
    concurrency: int,
    failure_ratio: float,
) -> dict[str, Any]:
    with (
        FakeReplicate(latency=latency, seed=11) as replicate,
        FakeGemini(latency=latency, seed=12) as gemini,
    ):
        replicate.failures.set_ratio(failure_ratio, 500)
        gemini.failures.set_ratio(failure_ratio, 503)
        env = {
            "BULKGEN_PROVIDERS": ",".join(providers),
            "REPLICATE_API_TOKEN": replicate.token,
            "REPLICATE_BASE_URL": replicate.base_url,
            "GOOGLE_API_KEY": gemini.api_key,
            "GOOGLE_GEMINI_BASE_URL": gemini.base_url,
            "BULKGEN_REPLICATE_CONCURRENCY": str(concurrency),
            "BULKGEN_GOOGLE_CONCURRENCY": str(concurrency),
        }
        router = build_router(ProviderSettings.from_env(env))  # production defaults otherwise
        requests = [
            ImageRequest(prompt=f"product shot {i}", seed=i, aspect_ratio=RATIOS[i % len(RATIOS)])
            for i in range(images)
        ]

        def one(request: ImageRequest) -> bool:
            try:
                router.generate(request)
                return True
            except GenerationFailed:
                return False

        started = time.perf_counter()
        with ThreadPoolExecutor(router.max_parallel) as pool:
            outcomes = list(pool.map(one, requests))
        wall = time.perf_counter() - started
        calls = replicate.counts["create"] + gemini.counts["generate"]

    total_c = concurrency * len(providers)
    limit = math.ceil(images / total_c) * latency
    return {
        "scenario": name,
        "images": images,
        "concurrency": total_c,
        "latency_s": latency,
        "wall_s": round(wall, 2),
        "limit_s": round(limit, 2),
        "ratio_to_limit": round(wall / limit, 2),
        "sequential_s": round(images * latency, 2),
        "succeeded": sum(outcomes),
        "failed": images - sum(outcomes),
        "provider_calls": calls,
        "within_target": wall / limit <= TARGET_RATIO,
    }


def run_provider_benchmarks(
    images: int = 50, latency: float = 1.0, concurrency: int = 8
) -> list[dict[str, Any]]:
    """One row per scenario; the first row is the headline (one provider, C = concurrency)."""
    common: dict[str, Any] = {"images": images, "latency": latency, "concurrency": concurrency}
    c = concurrency
    plan = [
        (f"replicate, C={c}", ["replicate"], 0.0),
        (f"replicate, C={c}, 20% transient failures", ["replicate"], 0.2),
        (f"replicate+google, C={c} each", ["replicate", "google"], 0.0),
        (f"replicate+google, C={c} each, 20% failures", ["replicate", "google"], 0.2),
    ]
    # Retries are expected in the failure scenarios; keep their warnings out of the output.
    quiet = logging.getLogger("bulkgen_pipeline.providers")
    previous = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        return [
            _scenario(name, providers, failure_ratio=ratio, **common)
            for name, providers, ratio in plan
        ]
    finally:
        quiet.setLevel(previous)


def format_table(rows: list[dict[str, Any]]) -> str:
    headers = [
        "scenario",
        "images",
        "C",
        "L s",
        "wall s",
        "limit s",
        "ratio to limit",
        "sequential s",
        "ok/failed",
        "calls",
    ]
    lines = [
        [
            r["scenario"],
            str(r["images"]),
            str(r["concurrency"]),
            f"{r['latency_s']:g}",
            f"{r['wall_s']:.2f}",
            f"{r['limit_s']:.2f}",
            f"{r['ratio_to_limit']:.2f}x",
            f"{r['sequential_s']:.0f}",
            f"{r['succeeded']}/{r['failed']}",
            str(r["provider_calls"]),
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [fmt(headers), "  ".join("-" * w for w in widths)]
    out += [fmt(line) for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--latency", type=float, default=1.0, help="fake provider latency L (s)")
    parser.add_argument("--concurrency", type=int, default=8, help="C per provider")
    args = parser.parse_args(argv)
    rows = run_provider_benchmarks(args.images, args.latency, args.concurrency)
    print(
        "provider router: wall time vs ceil(images / C) x L (target <= "
        f"{TARGET_RATIO}x), fake servers on 127.0.0.1, real SDKs"
    )
    print(format_table(rows))
    missed = [r["scenario"] for r in rows if not r["within_target"]]
    if missed:
        print(f"above {TARGET_RATIO}x the limit: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
