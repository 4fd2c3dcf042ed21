"""Looking at a run's pictures through the real assets: a provider that hands back one picture
twice, or paints the wrong colour, gets the run's warnings (Dagster checks of severity WARN),
and the findings reach looks.json, summary.json, the ZIP summary and analytics.json. A run of
distinct pictures in their colours (the preview renderer) passes both."""

from __future__ import annotations

import json
from dataclasses import replace

import dagster as dg

from bulkgen_pipeline import db
from bulkgen_pipeline.domain.requests import request_from_snapshot
from bulkgen_pipeline.inspection import hamming
from bulkgen_pipeline.providers.base import ImageRequest, ImageResult
from bulkgen_pipeline.providers.preview import LocalPreviewProvider
from bulkgen_pipeline.providers.router import ImageRouter
from bulkgen_pipeline.resources.images import ImageGenerationResource

from .test_bulk_run import layout_of, open_zip

RED = "#C00000"


class MisbehavingProvider(LocalPreviewProvider):
    """The preview renderer, but a prompt in `copies` gets another prompt's picture again, a
    prompt in `recolour` is painted another colour, and with `paint` every image is."""

    name = "misbehaving"

    def __init__(self, copies: dict[str, str], recolour: dict[str, str], paint: str | None):
        super().__init__()
        self.copies = copies  # prompt -> the prompt whose picture it gets
        self.recolour = recolour  # prompt -> the colour it is painted
        self.paint = paint
        self.seen: dict[str, ImageRequest] = {}

    def generate(self, request: ImageRequest) -> ImageResult:
        self.seen[request.prompt] = request
        source = self.seen.get(self.copies.get(request.prompt, ""), request)
        drawn = replace(source, width=request.width, height=request.height)
        colour = self.paint or self.recolour.get(request.prompt)
        if colour is not None:
            drawn = replace(drawn, color=colour)
        return super().generate(drawn)


class MisbehavingImages(ImageGenerationResource):
    copies: dict[str, str] = {}
    recolour: dict[str, str] = {}
    paint: str | None = None

    def get_router(self) -> ImageRouter:
        provider = MisbehavingProvider(dict(self.copies), dict(self.recolour), self.paint)
        # One worker: the picture to copy is made before its copy is asked for.
        return ImageRouter([provider], concurrency={"misbehaving": 1})


def prompts_of(deployment, run_id: str) -> list[str]:
    with deployment.database.session() as session:
        snapshot = db.get_job(session, run_id).preset_snapshot
    return [g.prompt for g in request_from_snapshot(snapshot).resolve(run_seed=run_id).generations]


def checks_of(result) -> dict[str, tuple[bool, dg.AssetCheckSeverity]]:
    return {e.check_name: (e.passed, e.severity) for e in result.get_asset_check_evaluations()}


def test_a_picture_made_twice_and_a_colour_not_shown_are_warned_and_recorded(local_deployment):
    d = local_deployment
    user = d.user(credits=20)
    run_id = d.queue(user, d.preset(user, color_palette=[RED], generation_count=4))
    prompts = prompts_of(d, run_id)
    images = MisbehavingImages(copies={prompts[2]: prompts[0]}, paint="#0030C0")

    result = d.materialize(run_id, images)
    assert result.success  # warnings: the images are made and charged all the same
    checks = checks_of(result)
    assert checks["no_near_duplicate_images"] == (False, dg.AssetCheckSeverity.WARN)
    assert checks["images_show_their_colour"] == (False, dg.AssetCheckSeverity.WARN)
    assert checks["images_open_at_requested_size"][0] is True
    assert d.job(run_id)["status"] == "completed"

    layout = layout_of(d, run_id)
    summary = json.loads(d.store.get_bytes(layout.summary_key))
    assert [(p["first"], p["second"]) for p in summary["near_duplicates"]] == [(1, 3)]
    assert summary["near_duplicates"][0]["distance"] == 0
    assert summary["colour_adherence"]["measured"] == 4
    assert summary["colour_adherence"]["adherent"] == 0
    zipped = json.loads(open_zip(d, layout).read("bulk_generation_summary.json"))
    assert zipped["near_duplicates"] == summary["near_duplicates"]

    analytics = json.loads(d.store.get_bytes(layout.analytics_key))
    by_index = {g["generation_index"]: g for g in analytics["generation_results"]}
    assert by_index[3]["near_duplicate_of"] == [1] and by_index[1]["near_duplicate_of"] == [3]
    assert by_index[2]["near_duplicate_of"] == []
    assert by_index[3]["perceptual_hash"] == by_index[1]["perceptual_hash"]
    colour = by_index[2]["colour_adherence"]
    assert colour["requested"] == RED and colour["adherent"] is False and colour["delta_e"] > 30
    assert analytics["near_duplicate_bits"] == 6


def test_distinct_pictures_in_their_colours_pass_both_checks(local_deployment):
    d = local_deployment
    user = d.user(credits=20)
    run_id = d.queue(
        user, d.preset(user, color_palette=[RED, "#1A2B3C", "#F0C000"], generation_count=9)
    )
    result = d.materialize(run_id)
    assert result.success
    checks = checks_of(result)
    assert checks["no_near_duplicate_images"][0] and checks["images_show_their_colour"][0]
    looks = json.loads(d.store.get_bytes(layout_of(d, run_id).looks_key))
    assert looks["near_duplicates"] == []
    assert looks["colour_adherence"] == {
        "measured": 9,
        "adherent": 9,
        "share": 1.0,
        "median_delta_e": looks["colour_adherence"]["median_delta_e"],
    }
    assert looks["colour_adherence"]["median_delta_e"] < 2
    assert len({image["perceptual_hash"] for image in looks["images"].values()}) == 9


def test_one_generation_in_several_sizes_is_not_its_own_near_duplicate(local_deployment):
    d = local_deployment
    user = d.user(credits=20)
    sizes = [{"width": 512, "height": 512}, {"width": 768, "height": 768}]
    run_id = d.queue(user, d.preset(user, dimensions=sizes, generation_count=2))
    result = d.materialize(run_id)
    assert result.success and checks_of(result)["no_near_duplicate_images"][0]
    looks = json.loads(d.store.get_bytes(layout_of(d, run_id).looks_key))["images"]
    # The same picture at two sizes hashes alike, and is not reported as a pair.
    assert hamming(looks["1"]["perceptual_hash"], looks["2"]["perceptual_hash"]) <= 6


def test_a_picture_that_cannot_be_looked_at_fails_nothing(local_deployment, monkeypatch):
    from bulkgen_pipeline.runs import image_checks

    real = image_checks.look_at_image
    calls = []

    def flaky(picture, colour=None):
        calls.append(colour)
        if len(calls) == 2:
            raise ValueError("a picture the quantiser cannot take")
        return real(picture, colour)

    monkeypatch.setattr(image_checks, "look_at_image", flaky)
    d = local_deployment
    user = d.user(credits=20)
    run_id = d.queue(user, d.preset(user, color_palette=[RED], generation_count=3))
    result = d.materialize(run_id)
    assert result.success and d.job(run_id)["status"] == "completed"
    looks = json.loads(d.store.get_bytes(layout_of(d, run_id).looks_key))
    assert len(looks["images"]) == 2  # the one it could not look at is left out
    assert looks["colour_adherence"]["measured"] == 2
