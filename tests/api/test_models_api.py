"""Choosing the image model: the catalogue over HTTP, a preset's and a batch's model checked
against it when a run starts, and the choice carried into the images and their records."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

PREVIEW = "local-preview-v1"


def test_the_catalogue_needs_a_key_and_lists_the_enabled_providers_models(sqlite_api):
    assert sqlite_api.client().get("/api/models").status_code == 401
    shop = sqlite_api.merchant()
    answer = shop.client.get("/api/models")
    assert answer.status_code == 200, answer.text
    (preview,) = answer.json()["models"]  # BULKGEN_PROVIDERS=local: the preview alone
    assert preview["id"] == PREVIEW and preview["provider"] == "local"
    assert preview["credits_per_image"] == 1
    assert preview["steps"] == {"min": 1, "max": 100, "default": 30}
    assert "16:9" in preview["aspect_ratios"] and preview["exact_sizes"]["max_side"] == 4096


def test_a_preset_s_model_and_parameters_reach_every_image_and_its_records(sqlite_api):
    shop = sqlite_api.merchant(credits=10)
    preset_id = shop.preset(generation_count=2, model=PREVIEW, steps=12, guidance_scale=3.5)
    started = shop.start(preset_id)
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    assert sqlite_api.run_queued() == [job_id]

    status = shop.client.get(f"/api/bulk-generation/jobs/{job_id}/status").json()
    assert status["status"] == "completed", status
    archive = shop.client.get(status["download_link"])
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        documents = [
            json.loads(bundle.read(name))
            for name in bundle.namelist()
            if re.search(r"generation_\d+_metadata\.json$", name)
        ]
    (analytics_key,) = [
        key for key in sqlite_api.store.list_keys("prompt_history/") if job_id in key
    ]
    analytics = json.loads(sqlite_api.store.get_bytes(analytics_key))
    assert len(documents) == 2
    for document in documents:
        assert document["model"] == PREVIEW
        chosen = document["attribute_resolution"]["user_specified"]
        assert (chosen["model"], chosen["steps"], chosen["guidance_scale"]) == (PREVIEW, 12, 3.5)
    assert {g["model"] for g in analytics["generation_results"]} == {PREVIEW}
    assert analytics["user_specified"]["model"] == PREVIEW


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"model": "no-such-model"}, "config.model", "not offered"),
        ({"model": PREVIEW, "steps": 500}, "config.steps", "from 1 to 100"),
        ({"model": PREVIEW, "guidance_scale": 20.5}, "config.guidance_scale", "from 0 to 20"),
        ({"steps": 10}, "config.steps", "needs a model"),
    ],
)
def test_a_choice_the_catalogue_refuses_names_the_field_and_reserves_nothing(
    sqlite_api, config, field, words
):
    shop = sqlite_api.merchant(credits=10)
    preset_id = shop.preset(generation_count=2, **config)  # types and ranges were fine
    answer = shop.start(preset_id)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["problems"]
    assert problem["field"] == field and words in problem["message"]
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"steps": True}, "config.steps"),
        ({"steps": 2.5}, "config.steps"),
        ({"steps": 0}, "config.steps"),
        ({"guidance_scale": "high"}, "config.guidance_scale"),
        ({"model": ""}, "config.model"),
        ({"model": 7}, "config.model"),
    ],
)
def test_a_malformed_choice_is_refused_when_the_preset_is_saved(sqlite_api, config, field):
    shop = sqlite_api.merchant()
    document = json.loads(shop_preset_document())
    document["config"].update(config)
    answer = shop.client.post("/api/presets", json=document)
    assert answer.status_code == 422, answer.text
    assert field in [p["field"] for p in answer.json()["problems"]]


def test_a_batch_chooses_its_model_in_shared_settings(sqlite_api):
    shop = sqlite_api.merchant(credits=10)
    batch = {"prompts": [{"text": "a red tote bag"}], "shared_settings": {"model": "nope"}}
    refused = shop.client.post("/api/batches", json=batch)
    assert refused.status_code == 422, refused.text
    assert refused.json()["problems"][0]["field"] == "shared_settings.model"

    batch["shared_settings"] = {"model": PREVIEW, "steps": 5}
    started = shop.client.post("/api/batches", json=batch)
    assert started.status_code == 202, started.text
    assert sqlite_api.run_queued() == [started.json()["job_id"]]
    status = shop.client.get(started.json()["status_url"]).json()
    assert status["status"] == "completed" and status["items"][0]["provider"] == "local"


def shop_preset_document() -> str:
    from tests.api.conftest import EXAMPLES

    return (EXAMPLES / "professional_bags.json").read_text()


@pytest.fixture
def priced_api(tmp_path, monkeypatch):
    """The API where the operator prices the preview model at 3 credits per image."""
    from tests.api.conftest import deployment

    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    monkeypatch.setenv("BULKGEN_MODEL_CREDITS", f"{PREVIEW}=3")
    with deployment(tmp_path, f"sqlite:///{tmp_path / 'bulkgen.db'}") as deployed:
        yield deployed


def test_a_priced_model_reserves_and_charges_its_credits_per_image(priced_api):
    shop = priced_api.merchant(credits=10)
    (entry,) = shop.client.get("/api/models").json()["models"]
    assert entry["credits_per_image"] == 3

    chosen = shop.preset(generation_count=2, model=PREVIEW)
    started = shop.start(chosen)
    assert started.status_code == 202, started.text
    assert started.json()["estimated_credits"] == 6
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 6

    refused = shop.start(chosen, generation_count=2)  # 6 more, 4 available
    assert refused.status_code == 402, refused.text
    assert "6 needed, 4 available" in refused.json()["detail"]

    assert priced_api.run_queued() == [started.json()["job_id"]]
    status = shop.client.get(started.json()["status_url"]).json()
    assert (status["status"], status["credits_consumed"]) == ("completed", 6)
    assert shop.client.get("/api/me").json()["credits"] == {
        "balance": 4,
        "reserved": 0,
        "available": 4,
    }
    # Without a model bulkgen chooses, at one credit per image.
    default = shop.preset(generation_count=3)
    assert shop.start(default).json()["estimated_credits"] == 3
