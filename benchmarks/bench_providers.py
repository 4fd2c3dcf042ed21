"""Provider router benchmark: how close does a 50-image run get to the concurrency limit, and
does every image arrive when providers fail?

Runs the real SDKs against the fake Replicate and Gemini servers (tests/fakes) with an
injected provider latency L. With concurrency C, 50 images cannot finish faster than
ceil(50 / C) x L; one at a time they take 50 x L. Target: wall time within 1.3x the limit,
also with 20% of provider calls failing transiently (retried by the router).

The fault table runs whole runs (generate_images: both passes) of 30 images, 10 times per
scenario, each with a fresh router as each Dagster run is its own process, with the production
retry settings: images delivered and lost, and wall time against the fault-free run. Target:
0 lost with 20 % HTTP 500 + 10 % 429 from Replicate. Faults follow a seeded plan per run.

    python benchmarks/bench_providers.py [--images 50] [--latency 1.0] [--concurrency 8]
    python benchmarks/bench_providers.py --faults [--runs 10] [--run-images 30]
"""

from __future__ import annotations

import argparse
import logging
import math
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.table import print_table  # noqa: E402
from bulkgen_pipeline.domain.layout import RunLayout  # noqa: E402
from bulkgen_pipeline.domain.specs import GenerationSpec  # noqa: E402
from bulkgen_pipeline.providers.base import GenerationFailed, ImageRequest  # noqa: E402
from bulkgen_pipeline.providers.router import build_router  # noqa: E402
from bulkgen_pipeline.providers.settings import ProviderSettings  # noqa: E402
from bulkgen_pipeline.runs.generation import generate_images  # noqa: E402
from bulkgen_pipeline.runs.packaging import GenerationOutcome, RunContext  # noqa: E402
from bulkgen_pipeline.storage.local import LocalObjectStore  # noqa: E402
from tests.fakes._http import Failure  # noqa: E402
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


class Faults(StrEnum):
    NONE = "none"
    REPLICATE_TRANSIENT = "20 % 500 + 10 % 429 from replicate"
    BOTH_TRANSIENT = "20 % 500 + 10 % 429 from both"
    GOOGLE_DEAD = "google refuses connections"


class _NullTracker:
    """Nothing to record: the benchmark reads the outcomes generate_images returns."""

    def started(self, generation: int) -> None:
        pass

    def finished(self, outcome: GenerationOutcome, object_key: str | None) -> None:
        pass

    def should_stop(self) -> bool:
        return False


def _refused_url() -> str:
    """A 127.0.0.1 URL nothing listens on: a provider that is down, connections refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def _fault_run(
    *,
    providers: list[str],
    faults: Faults,
    seed: int,
    images: int,
    latency: float,
    concurrency: int,
    store: LocalObjectStore,
) -> dict[str, Any]:
    """One run of `images` through generate_images under `faults`; what came of it."""
    with (
        FakeReplicate(latency=latency, seed=seed) as replicate,
        FakeGemini(latency=latency, seed=seed) as gemini,
    ):
        google_url = gemini.base_url
        if faults in (Faults.REPLICATE_TRANSIENT, Faults.BOTH_TRANSIENT):
            replicate.inject_faults(server_errors=0.2, rate_limits=0.1, seed=seed)
        if faults is Faults.BOTH_TRANSIENT:
            gemini.failures.set_mix(
                [(0.2, Failure(500)), (0.1, Failure(429, retry_after=1.0))], seed=seed
            )
        elif faults is Faults.GOOGLE_DEAD:
            google_url = _refused_url()
        env = {
            "BULKGEN_PROVIDERS": ",".join(providers),
            "REPLICATE_API_TOKEN": replicate.token,
            "REPLICATE_BASE_URL": replicate.base_url,
            "GOOGLE_API_KEY": gemini.api_key,
            "GOOGLE_GEMINI_BASE_URL": google_url,
            "BULKGEN_REPLICATE_CONCURRENCY": str(concurrency),
            "BULKGEN_GOOGLE_CONCURRENCY": str(concurrency),
        }
        router = build_router(ProviderSettings.from_env(env))  # production defaults otherwise
        passes: Counter[int] = Counter()
        lock = threading.Lock()

        def generate(request: ImageRequest) -> Any:
            with lock:
                passes[request.seed] += 1
            return router.generate(request)

        specs = [
            GenerationSpec(
                generation=g,
                prompt=f"product shot {g}",
                seed=g,
                config={},
                attribute_resolution={},
                dimensions={"aspect_ratio": RATIOS[g % len(RATIOS)]},
            )
            for g in range(1, images + 1)
        ]
        run = RunContext(
            RunLayout("bench", "bags", f"run-{'-'.join(providers)}-{faults.name}-{seed}", None),
            "bench",
            {},
        )
        started = time.perf_counter()
        outcomes, _ = generate_images(
            specs,
            generate=generate,
            store=store,
            run=run,
            tracker=_NullTracker(),
            max_workers=router.max_parallel,
        )
        wall = time.perf_counter() - started
        stats = router.stats()
        injected = replicate.failures.injected + gemini.failures.injected
    return {
        "delivered": sum(o.succeeded for o in outcomes),
        "lost": images - sum(o.succeeded for o in outcomes),
        "second_passes": sum(1 for n in passes.values() if n > 1),
        "rests": sum(int(str(s["times_rested"])) for s in stats.values()),
        "calls": sum(int(str(s["calls"])) for s in stats.values()),
        "injected": injected,
        "wall_s": wall,
    }


FAULT_SCENARIOS = [
    # (name, providers, faults, the fault-free scenario its wall time is compared with)
    ("replicate, no faults", ["replicate"], Faults.NONE, None),
    (
        "replicate, 20% 500 + 10% 429",
        ["replicate"],
        Faults.REPLICATE_TRANSIENT,
        "replicate, no faults",
    ),
    ("replicate+google, no faults", ["replicate", "google"], Faults.NONE, None),
    (
        "replicate+google, both 20% 500 + 10% 429",
        ["replicate", "google"],
        Faults.BOTH_TRANSIENT,
        "replicate+google, no faults",
    ),
    (
        "replicate+google, google dead (refused)",
        ["replicate", "google"],
        Faults.GOOGLE_DEAD,
        "replicate+google, no faults",
    ),
]


def run_fault_benchmarks(
    runs: int = 10, images: int = 30, latency: float = 1.0, concurrency: int = 8
) -> list[dict[str, Any]]:
    """One row per scenario: `runs` runs of `images` images, seeds 0..runs-1."""
    quiet = logging.getLogger("bulkgen_pipeline")
    previous = quiet.level
    quiet.setLevel(logging.CRITICAL)  # retries and failovers are the point here, not news
    rows: list[dict[str, Any]] = []
    mean_wall: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bulkgen-bench-faults-") as folder:
            store = LocalObjectStore(folder)
            for name, providers, faults, baseline in FAULT_SCENARIOS:
                results = [
                    _fault_run(
                        providers=providers,
                        faults=faults,
                        seed=seed,
                        images=images,
                        latency=latency,
                        concurrency=concurrency,
                        store=store,
                    )
                    for seed in range(runs)
                ]
                walls = [r["wall_s"] for r in results]
                injected = sum((r["injected"] for r in results), Counter())
                mean_wall[name] = statistics.mean(walls)
                rows.append(
                    {
                        "scenario": name,
                        "runs x images": f"{runs} x {images}",
                        "delivered": sum(r["delivered"] for r in results),
                        "lost": sum(r["lost"] for r in results),
                        "500s / 429s sent": f"{injected[500]} / {injected[429]}",
                        "second passes": sum(r["second_passes"] for r in results),
                        "rests": sum(r["rests"] for r in results),
                        "calls": sum(r["calls"] for r in results),
                        "mean wall s": round(mean_wall[name], 2),
                        "max wall s": round(max(walls), 2),
                        "vs fault-free": (
                            f"{mean_wall[name] / mean_wall[baseline]:.2f}x" if baseline else "-"
                        ),
                    }
                )
    finally:
        quiet.setLevel(previous)
    return rows


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
    parser.add_argument("--faults", action="store_true", help="only the fault table")
    parser.add_argument("--runs", type=int, default=10, help="runs per fault scenario")
    parser.add_argument("--run-images", type=int, default=30, help="images per fault run")
    args = parser.parse_args(argv)
    if args.faults:
        print(
            f"fault table: {args.runs} runs x {args.run_images} images per scenario, "
            f"L = {args.latency:g} s, C = {args.concurrency} per provider, production retries"
        )
        print_table(
            "Provider faults",
            run_fault_benchmarks(args.runs, args.run_images, args.latency, args.concurrency),
        )
        return 0
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
