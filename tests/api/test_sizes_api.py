"""Several sizes in one run: every generation rendered in each, with the same prompt and seed;
N generations in k sizes make, reserve and charge N×k images, named by generation and size."""

from __future__ import annotations

import io
import json
import zipfile

from PIL import Image

from .test_limits_api import set_ceiling

SIZES = [{"aspect_ratio": "16:9"}, {"width": 512, "height": 768}]
LABELS = ["16x9", "512x768"]


def zip_of(shop, status: dict) -> zipfile.ZipFile:
    download = shop.client.get(status["download_link"])
    assert download.status_code == 200
    return zipfile.ZipFile(io.BytesIO(download.content))


def test_a_preset_in_two_sizes_makes_and_charges_every_generation_in_each(sqlite_api):
    shop = sqlite_api.merchant(credits=20)
    preset_id = shop.preset(generation_count=3, dimensions=SIZES)
    stored = shop.client.get(f"/api/presets/{preset_id}").json()
    assert stored["config"]["dimensions"] == SIZES  # kept as given: a list

    started = shop.start(preset_id)
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    assert started.json()["estimated_credits"] == 6
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 6

    assert sqlite_api.run_queued() == [job_id]
    status = shop.client.get(f"/api/bulk-generation/jobs/{job_id}/status").json()
    assert status["status"] == "completed"
    assert (status["total_images"], status["completed_images"]) == (6, 6)
    assert status["sizes"] == LABELS
    assert [(i["generation_index"], i["generation"], i["size"]) for i in status["items"]] == [
        (1, 1, "16x9"),
        (2, 1, "512x768"),
        (3, 2, "16x9"),
        (4, 2, "512x768"),
        (5, 3, "16x9"),
        (6, 3, "512x768"),
    ]
    assert shop.client.get("/api/me").json()["credits"] == {
        "balance": 14,
        "reserved": 0,
        "available": 14,
    }

    archive = zip_of(shop, status)
    images = sorted(n for n in archive.namelist() if n.endswith(".png"))
    assert images == sorted(f"generation_{g}_{size}.png" for g in (1, 2, 3) for size in LABELS)
    for generation in (1, 2, 3):
        wide, tall = (
            json.loads(archive.read(f"generation_{generation}_{size}_metadata.json"))
            for size in LABELS
        )
        assert wide["generation"] == tall["generation"] == generation
        assert (wide["size"], tall["size"]) == tuple(LABELS)
        assert (wide["image_index"], tall["image_index"]) == (2 * generation - 1, 2 * generation)
        assert wide["prompt"] == tall["prompt"] and wide["seed"] == tall["seed"]
        assert tall["dimensions"] == {"width": 512, "height": 768}
        assert tall["image_filename"] == f"generation_{generation}_512x768.png"
    with Image.open(io.BytesIO(archive.read("generation_2_512x768.png"))) as tall_image:
        assert tall_image.size == (512, 768)
    with Image.open(io.BytesIO(archive.read("generation_2_16x9.png"))) as wide_image:
        assert abs(wide_image.width / wide_image.height - 16 / 9) < 0.02
    prompts = {
        json.loads(archive.read(f"generation_{g}_16x9_metadata.json"))["prompt"] for g in (1, 2, 3)
    }
    assert len(prompts) == 3  # the generations differ; only the sizes repeat them

    (key,) = [k for k in sqlite_api.store.list_keys("prompt_history/") if job_id in k]
    analytics = json.loads(sqlite_api.store.get_bytes(key))
    assert analytics["totals"] == {"generations": 3, "images": 6, "succeeded": 6, "failed": 0}
    assert [g["generation_index"] for g in analytics["generation_results"]] == [1, 1, 2, 2, 3, 3]
    for name, counts in analytics["randomized_value_counts"].items():
        assert sum(counts.values()) == 3, name  # one draw per generation, not per image


def test_a_prompt_batch_in_several_sizes_and_a_single_size_list_as_before(sqlite_api):
    shop = sqlite_api.merchant(credits=20)
    batch = {
        "prompts": [{"text": "a red tote bag"}, {"text": "a blue satchel"}],
        "shared_settings": {"dimensions": [{"aspect_ratio": "1:1"}, {"aspect_ratio": "9:16"}]},
    }
    started = shop.client.post("/api/batches", json=batch)
    assert started.status_code == 202, started.text
    assert started.json()["estimated_credits"] == 4
    one = shop.start(shop.preset(generation_count=2, dimensions=[{"aspect_ratio": "4:3"}]))
    assert one.json()["estimated_credits"] == 2
    sqlite_api.run_queued()

    batch_status = shop.client.get(f"/api/bulk-generation/jobs/{started.json()['job_id']}/status")
    names = zip_of(shop, batch_status.json()).namelist()
    assert {"generation_1_1x1.png", "generation_1_9x16.png", "generation_2_9x16.png"} <= set(names)
    one_status = shop.client.get(f"/api/bulk-generation/jobs/{one.json()['job_id']}/status").json()
    assert one_status["sizes"] == ["4x3"]
    assert "size" not in one_status["items"][0] or one_status["items"][0]["size"] is None
    # One size, even given as a list, is named exactly as before sizes could be several.
    assert {"generation_1.png", "generation_2.png"} <= set(zip_of(shop, one_status).namelist())


def test_bad_sizes_are_refused_naming_the_field(sqlite_api):
    shop = sqlite_api.merchant(credits=20)
    preset = json.loads(json.dumps(shop.client.get(f"/api/presets/{shop.preset()}").json()))
    body = {"name": preset["name"], "category": preset["category"], "config": preset["config"]}
    cases = [
        (
            [{"aspect_ratio": "1:1"}] * 1
            + [{"aspect_ratio": "16:9"}] * 1
            + [{"width": 512, "height": 512}, {"aspect_ratio": "4:3"}, {"aspect_ratio": "3:4"}],
            "config.dimensions",
            "at most 4",
        ),
        ([], "config.dimensions", "at least 1"),
        ([{"aspect_ratio": "1:1"}, {"aspect_ratio": "1:1"}], "config.dimensions", "repeats"),
        (
            [{"aspect_ratio": "1:1"}, {"width": 100, "height": 512}],
            "config.dimensions.1.width",
            "256",
        ),
        ([{"aspect_ratio": "7:3"}], "config.dimensions.0.aspect_ratio", "not a supported"),
        ("square", "config.dimensions", "list of up to 4"),
    ]
    for dimensions, field, words in cases:
        body["config"]["dimensions"] = dimensions
        answer = shop.client.post("/api/presets", json=body)
        assert answer.status_code == 422, (dimensions, answer.text)
        problems = {p["field"]: p["message"] for p in answer.json()["problems"]}
        assert field in problems and words in problems[field], (dimensions, problems)
    batch = {"prompts": [{"text": "a bag"}], "shared_settings": {"dimensions": [{"x": 1}]}}
    answer = shop.client.post("/api/batches", json=batch)
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["field"] == "shared_settings.dimensions.0.x"
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0


def test_the_daily_limit_and_the_credits_count_images_not_generations(sqlite_api):
    shop = sqlite_api.merchant(credits=5)
    preset_id = shop.preset(generation_count=3, dimensions=SIZES)  # 6 images
    short = shop.start(preset_id)
    assert short.status_code == 402, short.text
    rich = sqlite_api.merchant(credits=50, name="Rich")
    set_ceiling(sqlite_api, rich.user_id, "5")
    refused = rich.start(rich.preset(generation_count=3, dimensions=SIZES))
    assert refused.status_code == 429, refused.text


def test_a_preview_in_two_sizes_shows_generations_and_charges_those_kept_in_each(sqlite_api):
    shop = sqlite_api.merchant(credits=20)
    preset_id = shop.preset(generation_count=3, dimensions=SIZES)
    shown = shop.client.post("/api/bulk-generation/preview", json={"preset_id": preset_id}).json()
    assert len(shown["generations"]) == 3  # prompts are reviewed once, whatever the sizes
    assert (shown["sizes"], shown["image_count"]) == (LABELS, 6)
    started = shop.client.post(
        "/api/bulk-generation/start",
        json={
            "preview_id": shown["preview_id"],
            "edits": [{"generation_index": 2, "remove": True}],
        },
    )
    assert started.status_code == 202, started.text
    assert started.json()["estimated_credits"] == 4
    sqlite_api.run_queued()
    status = shop.client.get(f"/api/bulk-generation/jobs/{shown['preview_id']}/status").json()
    assert (status["completed_images"], status["credits_consumed"]) == (4, 4)
    archive = zip_of(shop, status)
    kept = [shown["generations"][0]["prompt"], shown["generations"][2]["prompt"]]
    for generation, prompt in zip((1, 2), kept, strict=True):
        for size in LABELS:
            made = json.loads(archive.read(f"generation_{generation}_{size}_metadata.json"))
            assert made["prompt"] == prompt


def test_more_like_one_tile_of_a_run_in_several_sizes_makes_that_size(sqlite_api):
    shop = sqlite_api.merchant(credits=30)
    job_id = shop.start(shop.preset(generation_count=2, dimensions=SIZES)).json()["job_id"]
    sqlite_api.run_queued()
    similar = shop.client.post(
        f"/api/bulk-generation/jobs/{job_id}/similar", json={"generation_index": 4, "count": 2}
    )
    assert similar.status_code == 202, similar.text
    assert similar.json()["estimated_credits"] == 2  # image 4 is generation 2 in 512x768 only
    sqlite_api.run_queued()
    status = shop.client.get(f"/api/bulk-generation/jobs/{similar.json()['job_id']}/status")
    assert status.json()["sizes"] == ["512x768"]
    export = shop.client.post(
        "/api/exports",
        json={"images": [{"run_id": job_id, "generation_index": 3}]},
    )
    assert export.status_code == 200, export.text
    names = zipfile.ZipFile(io.BytesIO(export.content)).namelist()
    assert f"{job_id}/generation_2_16x9.png" in names
