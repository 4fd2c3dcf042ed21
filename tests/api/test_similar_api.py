"""Similar images: a new run that keeps one image's attributes but those named in `vary`,
with new seeds, reserved like any start; another merchant's run is 404."""

from __future__ import annotations

import json

from bulkgen_pipeline.domain.schema import load_category_schema
from bulkgen_pipeline.domain.similar import variable_attributes


def finished_run(api, shop, count: int = 3) -> str:
    preset_id = shop.preset(generation_count=count, color_palette=["#AA0000", "#00AA00"])
    job_id = shop.start(preset_id).json()["job_id"]
    assert api.run_queued() == [job_id]
    return job_id


def generations_of(api, job_id: str) -> list[dict]:
    (key,) = [k for k in api.store.list_keys("prompt_history/") if job_id in k]
    return json.loads(api.store.get_bytes(key))["generation_results"]


def test_similar_images_keep_the_image_s_attributes_but_those_varied(sqlite_api):
    shop = sqlite_api.merchant(credits=30)
    original = finished_run(sqlite_api, shop)
    source = generations_of(sqlite_api, original)[1]["resolved_attributes"]  # generation 2

    answer = shop.client.post(
        f"/api/bulk-generation/jobs/{original}/similar",
        json={"generation_index": 2, "count": 4, "vary": ["background"]},
    )
    assert answer.status_code == 202, answer.text
    similar = answer.json()
    assert similar["estimated_credits"] == 4
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 4
    assert sqlite_api.run_queued() == [similar["job_id"]]
    made = generations_of(sqlite_api, similar["job_id"])
    assert len(made) == 4
    kept = {k: v for k, v in source.items() if k not in ("background", "prompt")}
    for generation in made:
        attributes = generation["resolved_attributes"]
        assert {k: attributes[k] for k in kept} == kept  # every attribute but the background
        assert list(generation["attribute_resolution"]["randomly_selected"]) in (
            ["background"],
            [],
        )
    seeds = {g["seed"] for g in made} | {g["seed"] for g in generations_of(sqlite_api, original)}
    assert len(seeds) == 4 + 3  # new seeds


def test_similar_refuses_what_it_cannot_make_naming_the_field(sqlite_api):
    shop = sqlite_api.merchant(credits=30)
    original = finished_run(sqlite_api, shop, count=2)
    url = f"/api/bulk-generation/jobs/{original}/similar"
    bad_vary = shop.client.post(url, json={"generation_index": 1, "count": 2, "vary": ["wings"]})
    assert bad_vary.status_code == 422
    (problem,) = bad_vary.json()["problems"]
    assert problem["field"] == "vary.0"
    assert problem["allowed"] == variable_attributes(
        {"category": "bags", "config": {"use_model": True}}, load_category_schema()
    )
    for body, field in (
        ({"generation_index": 1, "count": 0}, "count"),
        ({"generation_index": 1, "count": 51}, "count"),
        ({"generation_index": 1, "count": "2"}, "count"),
        ({"generation_index": 1}, "count"),
        ({"generation_index": 1, "count": 2, "extra": 1}, "extra"),
    ):
        answer = shop.client.post(url, json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert field in [p["field"] for p in answer.json()["problems"]]
    missing = shop.client.post(url, json={"generation_index": 9, "count": 2})
    assert missing.status_code == 404
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0


def test_another_merchant_s_run_is_not_found(sqlite_api):
    owner, other = sqlite_api.merchant(credits=30), sqlite_api.merchant(credits=30, name="Other")
    original = finished_run(sqlite_api, owner, count=1)
    answer = other.client.post(
        f"/api/bulk-generation/jobs/{original}/similar", json={"generation_index": 1, "count": 1}
    )
    assert answer.status_code == 404
