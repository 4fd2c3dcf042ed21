"""Looking at the pictures: what the near-duplicate and colour thresholds rest on, and what the
looking costs per image against a whole run's CPU (the goal: under 5 %)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from itertools import combinations
from pathlib import Path

from benchmarks.bench_pipeline import embedded_run
from bulkgen_pipeline.domain.requests import preset_request
from bulkgen_pipeline.inspection import LOOK_SIDE, hamming, look_at, look_at_image, reduced
from bulkgen_pipeline.inspection.colour import ADHERENT_DELTA_E
from bulkgen_pipeline.inspection.similarity import DEFAULT_THRESHOLD
from bulkgen_pipeline.providers.preview import render_preview
from bulkgen_pipeline.runs.generation import request_for
from tests.inspection.pictures import encoded, same_picture_variants, scene

EXAMPLES = Path(__file__).resolve().parents[1] / "bulkgen_pipeline" / "examples"
PALETTE = ["#C00000", "#1A2B3C", "#F0C000", "#2E8B57", "#6A0DAD", "#FF7F50", "#FFFFFF"]


def _previews(palette: list[str], count: int, seed: str) -> list[bytes]:
    data = json.loads((EXAMPLES / "professional_bags.json").read_text())
    data["config"].update(generation_count=count, color_palette=palette)
    specs = preset_request(data).resolve(run_seed=seed).generations
    return [render_preview(request_for(spec), 1024, 1024) for spec in specs]


def run_threshold_measurements() -> list[dict]:
    """The distances the defaults are chosen between."""
    same = []
    for seed in range(20):
        original = scene(seed)
        hashed = look_at(encoded(original)).perceptual_hash
        same += [
            hamming(hashed, look_at(v).perceptual_hash)
            for v in same_picture_variants(original).values()
        ]
    scenes = [look_at(encoded(scene(seed))).perceptual_hash for seed in range(100, 200)]
    distinct_scenes = [hamming(a, b) for a, b in combinations(scenes, 2)]
    distinct_previews = []
    for number, palette in enumerate([["#FFFFFF"], ["#C00000"], PALETTE[:3], []]):
        hashes = [look_at(p).perceptual_hash for p in _previews(palette, 50, f"bench-{number}")]
        distinct_previews += [hamming(a, b) for a, b in combinations(hashes, 2)]
    shown, other = [], []
    colours = PALETTE[:6]  # white on a light studio backdrop is rightly "shown": left out
    for seed in range(6):
        for painted in colours:
            picture = encoded(scene(seed, product=painted, plain=True), "JPEG", quality=60)
            for asked in colours:
                measure = look_at(picture, asked).colour
                assert measure is not None
                (shown if asked == painted else other).append(measure.delta_e)

    def row(measure: str, values: list[float], *, below: bool, limit: float) -> dict:
        """One measure's spread; `below`: the values should sit at or below the threshold, so
        the 99th percentile is shown (else the 1st)."""
        ordered = sorted(values)
        q = 0.99 if below else 0.01
        return {
            "measure": measure,
            "pairs": len(values),
            "min": round(ordered[0], 2),
            "p99 / p1": round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2),
            "max": round(ordered[-1], 2),
            "threshold": f"{'<=' if below else '>'} {limit:g}",
        }

    return [
        row(
            "pHash bits, same picture (resized, JPEG/WebP, noise, blur)",
            same,
            below=True,
            limit=DEFAULT_THRESHOLD,
        ),
        row("pHash bits, distinct scenes", distinct_scenes, below=False, limit=DEFAULT_THRESHOLD),
        row(
            "pHash bits, distinct previews of one run (4 runs x 50)",
            distinct_previews,
            below=False,
            limit=DEFAULT_THRESHOLD,
        ),
        row(
            "CIEDE2000, the colour asked for painted (JPEG q60)",
            shown,
            below=True,
            limit=ADHERENT_DELTA_E,
        ),
        row(
            "CIEDE2000, another palette colour painted", other, below=False, limit=ADHERENT_DELTA_E
        ),
    ]


def run_cost_benchmark(count: int = 50) -> list[dict]:
    """A 50-image run on the embedded default, in this process: its CPU-seconds, and the
    CPU-seconds of looking at its 50 images again the way the generation step does."""
    config = {"use_model": True, "generation_count": count, "color_palette": PALETTE[:3]}
    with embedded_run(config) as run:
        run_cpu = run.cpu_s
        images = [run.store.get_bytes(run.layout.image_key(i)) for i in range(1, count + 1)]
        colours = [random.Random(i).choice(PALETTE[:3]) for i in range(count)]
        cpu = time.process_time()
        pictures = [reduced(data, LOOK_SIDE) for data in images]
        decode_cpu = time.process_time() - cpu
        cpu = time.process_time()
        for picture, colour in zip(pictures, colours, strict=True):
            look_at_image(picture, colour)
        look_cpu = time.process_time() - cpu
    return [
        {
            "images": count,
            "run CPU-s": run_cpu,
            "run CPU ms / image": 1000 * run_cpu / count,
            "decode ms / image (the contact sheet's before)": 1000 * decode_cpu / count,
            "hash + colour ms / image": 1000 * look_cpu / count,
            "share of the run": f"{100 * look_cpu / run_cpu:.1f} %",
            "goal": "< 5 %",
            "imports, once per process CPU-s": _import_cost(),
        }
    ]


def _import_cost() -> float:
    """CPU-seconds a fresh process spends importing what looking needs (imagehash, scipy's
    DCT), beyond Pillow and NumPy, which every run imports anyway."""
    script = (
        "import time, PIL.Image, numpy; c = time.process_time(); "
        "import imagehash, scipy.fftpack; print(time.process_time() - c)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return float(out.stdout)
