"""Prompts reviewed before paying: a free preview, then a start that makes exactly those
prompts (edited, some removed), charged for the generations kept."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

import pytest

from bulkgen_pipeline.analytics.facts import run_facts
from bulkgen_pipeline.db.models import Preview
from bulkgen_pipeline.readmodel.views import utcnow


def preview(shop, preset_id: str, **body) -> dict:
    answer = shop.client.post("/api/bulk-generation/preview", json={"preset_id": preset_id, **body})
    assert answer.status_code == 200, answer.text
    return answer.json()


def zipped_metadata(shop, status: dict) -> dict[int, dict]:
    archive = shop.client.get(status["download_link"])
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        return {
            int(re.search(r"generation_(\d+)_metadata", name).group(1)): json.loads(
                bundle.read(name)
            )
            for name in bundle.namelist()
            if re.search(r"generation_\d+_metadata\.json$", name)
        }


def test_a_reviewed_preview_makes_exactly_its_prompts_edited_and_charges_those_kept(
    sqlite_api,
):
    shop = sqlite_api.merchant(credits=10)
    preset_id = shop.preset(generation_count=4)
    shown = preview(shop, preset_id)
    assert [g["generation_index"] for g in shown["generations"]] == [1, 2, 3, 4]
    assert all(
        g["prompt"] and g["attribute_resolution"]["randomly_selected"] for g in shown["generations"]
    )
    assert shown["resolution"]["generation_count"] == 4
    # Free: nothing reserved, no job.
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0
    assert shop.client.get("/api/bulk-generation/runs").json()["runs"] == []

    prompts = [g["prompt"] for g in shown["generations"]]
    started = shop.start(
        None,
        preview_id=shown["preview_id"],
        edits=[
            {"generation_index": 2, "prompt": "A red leather tote on white, studio light"},
            {"generation_index": 3, "remove": True},
        ],
    )
    assert started.status_code == 202, started.text
    assert started.json()["job_id"] == shown["preview_id"]  # the run keeps the preview's id
    assert started.json()["estimated_credits"] == 3
    assert sqlite_api.run_queued() == [shown["preview_id"]]
    status = shop.client.get(started.json()["status_url"]).json()
    assert (status["status"], status["completed_images"], status["credits_consumed"]) == (
        "completed",
        3,
        3,
    )
    made = zipped_metadata(shop, status)
    assert [made[i]["prompt"] for i in (1, 2, 3)] == [
        prompts[0],
        "A red leather tote on white, studio light",
        prompts[3],
    ]
    resolution = [made[i]["attribute_resolution"] for i in (1, 2, 3)]
    assert [r["user_edited"] for r in resolution] == [False, True, False]
    assert [r["preview_index"] for r in resolution] == [1, 2, 4]
    assert resolution[1]["user_specified"]["prompt"].startswith("A red leather tote")

    # The data team sees the edited prompt as the merchant's: a fact row of its own.
    (key,) = [k for k in sqlite_api.store.list_keys("prompt_history/") if shown["preview_id"] in k]
    facts = run_facts(json.loads(sqlite_api.store.get_bytes(key))).to_pylist()
    edited = [row for row in facts if row["source"] == "edited"]
    assert [(row["generation_index"], row["attribute"]) for row in edited] == [(2, "prompt")]
    assert edited[0]["value"].startswith("A red leather tote")

    again = shop.start(None, preview_id=shown["preview_id"])
    assert again.status_code == 409 and "started already" in again.json()["detail"]


def test_a_preview_is_the_merchant_s_own_and_lasts_24_hours(sqlite_api):
    owner, other = sqlite_api.merchant(), sqlite_api.merchant(name="Other")
    shown = preview(owner, owner.preset(generation_count=2))
    assert other.start(None, preview_id=shown["preview_id"]).status_code == 404
    foreign = other.client.post(
        "/api/bulk-generation/preview", json={"preset_id": owner.preset(generation_count=1)}
    )
    assert foreign.status_code == 404

    with sqlite_api.database.session() as session:
        session.get(Preview, shown["preview_id"]).expires_at = utcnow() - timedelta(seconds=1)
    expired = owner.start(None, preview_id=shown["preview_id"])
    assert expired.status_code == 409 and "expired" in expired.json()["detail"]
    assert owner.client.get("/api/me").json()["credits"]["reserved"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"edits": [{"generation_index": 1, "prompt": "x", "remove": True}]}, "edits.0"),
        ({"edits": [{"generation_index": 9, "prompt": "x"}]}, "edits.0.generation_index"),
        (
            {
                "edits": [
                    {"generation_index": 1, "remove": True},
                    {"generation_index": 2, "remove": True},
                ]
            },
            "edits",
        ),
        (
            {
                "edits": [
                    {"generation_index": 1, "prompt": "a"},
                    {"generation_index": 1, "prompt": "b"},
                ]
            },
            "edits.1.generation_index",
        ),
        ({"edits": [{"generation_index": 1, "prompt": ""}]}, "edits.0.prompt"),
        ({"edits": [{"generation_index": "1", "prompt": "x"}]}, "edits.0.generation_index"),
        ({"generation_count": 2}, "generation_count"),
        ({"preset_id": "00000000-0000-4000-8000-000000000000"}, "preset_id"),
    ],
)
def test_hostile_starts_from_a_preview_name_the_field_and_reserve_nothing(sqlite_api, body, field):
    shop = sqlite_api.merchant()
    shown = preview(shop, shop.preset(generation_count=2))
    answer = shop.client.post(
        "/api/bulk-generation/start", json={"preview_id": shown["preview_id"], **body}
    )
    assert answer.status_code == 422, answer.text
    assert field in [p["field"] for p in answer.json()["problems"]], answer.json()
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0


def test_edits_need_a_preview(sqlite_api):
    shop = sqlite_api.merchant()
    answer = shop.start(
        shop.preset(generation_count=1), edits=[{"generation_index": 1, "remove": True}]
    )
    assert answer.status_code == 422
    assert answer.json()["problems"][0]["field"] == "edits"
