"""The report's picture sections from generation_facts: an attribute whose change leaves the
picture alike is found, and colour adherence is counted by provider, model and strategy."""

from __future__ import annotations

import hashlib
from itertools import combinations

from bulkgen_pipeline.analytics.facts import concat, run_facts
from bulkgen_pipeline.analytics.html import render_html
from bulkgen_pipeline.analytics.pictures import attribute_near_duplicates, colour_adherence
from bulkgen_pipeline.analytics.report import build_report
from bulkgen_pipeline.domain.layout import RunLayout, size_labels
from bulkgen_pipeline.domain.requests import preset_request
from bulkgen_pipeline.inspection import Looks, hamming
from bulkgen_pipeline.inspection.colour import ColourMeasure
from bulkgen_pipeline.runs.image_checks import ImageFindings
from bulkgen_pipeline.runs.packaging import GenerationOutcome, RunContext, build_analytics

PRESET = {
    "name": "Bags",
    "category": "bags",
    "config": {
        # Only the type is drawn (the space repeats), and the colour handed out: two
        # generations then differ in the type alone, the colour alone, or both.
        "type": "__RANDOM__",
        "material": "leather",
        "size": "small",
        "style": "minimalist",
        "closure": "zip",
        "hardware": "gold",
        "background": "on a wooden table",
        "color_palette": ["#FF0000", "#000000", "#0000FF"],
        "color_strategy": "random",
        "generation_count": 24,
    },
}


def analytics_with_findings(run_id: str, blind_to: str, provider: str = "local") -> dict:
    """A run's analytics.json whose pictures ignore `blind_to`: two generations that differ in
    nothing else get one hash."""
    request = preset_request(PRESET)
    resolution = request.resolve_images(run_seed=run_id)
    layout = RunLayout("u", "bags", run_id, "p", size_labels(request.sizes))
    run = RunContext(layout, "Bags", request.snapshot()["body"]["config"])
    looks = {}
    for spec in resolution.generations:
        shown = {k: v for k, v in spec.attribute_resolution["randomly_selected"].items()}
        shown.pop(blind_to, None)
        digest = hashlib.sha256(repr(sorted(shown.items())).encode()).hexdigest()[:16]
        colour = spec.config["color"]
        measure = ColourMeasure(colour, colour, 1.0 if colour != "#0000FF" else 30.0, 0.3)
        looks[spec.generation] = Looks(digest, measure)
    findings = ImageFindings(6, looks, [])
    outcomes = [
        GenerationOutcome(s.generation, True, provider, f"{provider}-1", 1, None, 0.1)
        for s in resolution.generations
    ]
    return build_analytics(run, resolution.generations, outcomes, resolution.summary(), findings)


def brute_force(document: dict) -> dict[str, tuple[int, int]]:
    """The same tally, the slow obvious way."""
    tally: dict[str, list[int]] = {}
    entries = document["generation_results"]
    for a, b in combinations(entries, 2):
        drawn_a = a["attribute_resolution"]["randomly_selected"]
        drawn_b = b["attribute_resolution"]["randomly_selected"]
        differ = [k for k in drawn_a if str(drawn_a[k]) != str(drawn_b[k])]
        if len(differ) == 1:
            alike = hamming(a["perceptual_hash"], b["perceptual_hash"]) <= 6
            counts = tally.setdefault(differ[0], [0, 0])
            counts[0] += 1
            counts[1] += int(alike)
    return {name: (pairs, alike) for name, (pairs, alike) in tally.items()}


def test_an_attribute_the_pictures_ignore_is_found():
    documents = [analytics_with_findings(f"run-{i}", blind_to="color") for i in range(3)]
    facts = concat(run_facts(d) for d in documents).to_pandas()
    table = attribute_near_duplicates(facts)
    by = {row.attribute: row for row in table.itertuples()}
    assert by["color"].share == 1.0 and by["color"].pairs > 0  # colour never changed the picture
    assert all(by[name].share == 0.0 for name in by if name != "color")
    expected: dict[str, list[int]] = {}
    for document in documents:
        for name, (pairs, alike) in brute_force(document).items():
            expected.setdefault(name, [0, 0])
            expected[name][0] += pairs
            expected[name][1] += alike
    assert {r.attribute: [r.pairs, r.near_duplicates] for r in table.itertuples()} == expected


def test_colour_adherence_is_counted_by_provider_model_and_strategy():
    facts = concat(
        run_facts(analytics_with_findings(run_id, "color", provider=provider))
        for run_id, provider in (("run-a", "local"), ("run-b", "replicate"))
    ).to_pandas()
    table = colour_adherence(facts)
    assert set(table["provider"]) == {"local", "replicate"}
    assert set(table["strategy"]) == {"random"}
    for row in table.itertuples():
        blue = int(
            (
                (facts["attribute"] == "color")
                & (facts["value"] == "#0000FF")
                & (facts["provider"] == row.provider)
            ).sum()
        )
        assert row.images == 24 and row.adherent == 24 - blue  # blue was measured at ΔE 30
    report = build_report(facts)
    html = render_html(report, [])
    assert "Attributes that do not change the picture" in html and "Colour adherence" in html
