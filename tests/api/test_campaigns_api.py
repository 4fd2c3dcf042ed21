"""Catalogue campaigns over HTTP: one run per item reserved together (all or nothing), tagged
`campaign_id` on its Dagster run, followed, cancelled, retried and exported as one; every bad
item named; another merchant's campaign 404; the active-run cap counts a campaign once; and a
campaign's backlog never holds back another merchant's run."""

from __future__ import annotations

import io
import json
import zipfile

import dagster as dg
from dagster._core.storage.tags import RUN_KEY_TAG

from bulkgen_pipeline import db
from bulkgen_pipeline.definitions import build_definitions
from bulkgen_pipeline.domain.requests import request_from_snapshot
from bulkgen_pipeline.resources.database import DatabaseResource
from bulkgen_pipeline.sensors.queue import queued_bulk_jobs
from tests.production_limits import production_run_queue

from ..conftest import premigrated
from ..pipeline.conftest import ScriptedImages
from .conftest import deployment

MISSING = "00000000-0000-4000-8000-000000000000"


def start(shop, items: list[dict], name: str = "Spring catalogue"):
    return shop.client.post("/api/campaigns", json={"name": name, "items": items})


def credits(shop) -> dict:
    return shop.client.get("/api/me").json()["credits"]


def test_a_campaign_starts_a_run_per_item_tagged_with_it_and_exports_every_image(api):
    shop = api.merchant(credits=20)
    bags, totes = shop.preset(generation_count=2), shop.preset(generation_count=5)
    answer = start(
        shop,
        [
            {"preset_id": bags},
            {"preset_id": totes, "generation_count": 1},
            {"preset_id": bags, "generation_count": 3},  # the same preset again: a run of its own
        ],
    )
    assert answer.status_code == 202, answer.text
    started = answer.json()
    campaign_id, job_ids = started["campaign_id"], started["job_ids"]
    assert len(job_ids) == 3 and started["estimated_credits"] == 6
    assert started["status_url"] == f"/api/campaigns/{campaign_id}"
    assert credits(shop) == {"balance": 20, "reserved": 6, "available": 14}

    detail = shop.client.get(f"/api/campaigns/{campaign_id}").json()
    assert (detail["name"], detail["run_count"], detail["runs_by_status"]) == (
        "Spring catalogue",
        3,
        {"queued": 3},
    )
    assert [r["job_id"] for r in detail["runs"]] == job_ids
    assert [r["total_images"] for r in detail["runs"]] == [2, 1, 3]

    requests = api.tick()  # the queue sensor: every run carries the campaign's tag
    assert sorted(r.run_key for r in requests) == sorted(job_ids)
    assert {r.tags["campaign_id"] for r in requests} == {campaign_id}
    for request in requests:
        assert request.partition_key is not None
        api.run(request.partition_key)

    detail = shop.client.get(f"/api/campaigns/{campaign_id}").json()
    assert detail["runs_by_status"] == {"completed": 3}
    assert detail["images"] == {"total": 6, "completed": 6, "failed": 0}
    assert detail["credits"] == {"estimated": 6, "charged": 6}
    [listed] = shop.client.get("/api/campaigns").json()["campaigns"]
    assert listed["campaign_id"] == campaign_id and listed["images"]["completed"] == 6

    exported = shop.client.get(f"/api/campaigns/{campaign_id}/export")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(exported.content)) as bundle:
        names = bundle.namelist()
        manifest = json.loads(bundle.read("campaign.json"))
        metadata = json.loads(bundle.read(f"{job_ids[2]}/generation_3_metadata.json"))
    images = [n for n in names if n.endswith(".png")]
    assert len(images) == 6
    assert {n.split("/")[0] for n in images} == set(job_ids)  # a folder per run
    assert [run["job_id"] for run in manifest["runs"]] == job_ids
    assert [len(run["images"]) for run in manifest["runs"]] == [2, 1, 3]
    assert len([n for n in names if n.endswith("_metadata.json")]) == 6
    assert isinstance(metadata, dict) and metadata  # the image's own metadata, as stored


def test_a_campaign_the_credits_do_not_cover_queues_nothing_and_names_the_total(api):
    shop = api.merchant(credits=5)
    preset = shop.preset(generation_count=2)
    answer = start(shop, [{"preset_id": preset}] * 3)  # 6 needed
    assert answer.status_code == 402, answer.text
    assert (answer.json()["needed"], answer.json()["available"]) == (6, 5)
    assert credits(shop) == {"balance": 5, "reserved": 0, "available": 5}
    assert shop.client.get("/api/bulk-generation/runs").json()["runs"] == []
    assert shop.client.get("/api/campaigns").json()["campaigns"] == []


def test_every_bad_item_is_named_and_nothing_starts(sqlite_api):
    shop, other = sqlite_api.merchant(credits=50), sqlite_api.merchant(name="Other")
    mine, theirs = shop.preset(generation_count=1), other.preset(generation_count=1)
    answer = start(
        shop,
        [
            {"preset_id": mine},
            {"preset_id": theirs},
            {"preset_id": mine, "generation_count": 80},
            {"preset_id": MISSING},
        ],
    )
    assert answer.status_code == 404, answer.text  # as a single start of such a preset
    fields = [p["field"] for p in answer.json()["problems"]]
    assert fields == ["items.1.preset_id", "items.2.generation_count", "items.3.preset_id"]
    assert answer.json()["detail"] == "2 item(s) name a preset that does not exist"
    answer = start(shop, [{"preset_id": mine}, {"preset_id": mine, "generation_count": 80}])
    assert answer.status_code == 422, answer.text
    assert [p["field"] for p in answer.json()["problems"]] == ["items.1.generation_count"]
    assert shop.client.get("/api/bulk-generation/runs").json()["runs"] == []

    strict = [
        ({"name": "x", "items": [{"preset_id": mine, "color": "red"}]}, "items.0.color"),
        ({"name": "x", "items": [{"preset_id": "nope"}]}, "items.0.preset_id"),
        (
            {"name": "x", "items": [{"preset_id": mine, "generation_count": 2.0}]},
            "items.0.generation_count",
        ),
        ({"name": "x", "items": []}, "items"),
        ({"name": "x", "items": [{"preset_id": mine}] * 501}, "items"),
        ({"name": " ", "items": [{"preset_id": mine}]}, "name"),
        ({"items": [{"preset_id": mine}]}, "name"),
        ({"name": "x", "items": [{"preset_id": mine}], "webhook": 1}, "webhook"),
    ]
    for body, field in strict:
        answer = shop.client.post("/api/campaigns", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert field in [p["field"] for p in answer.json()["problems"]], (field, answer.text)
    assert credits(shop)["reserved"] == 0


def test_another_merchant_s_campaign_is_not_found(sqlite_api):
    shop, other = sqlite_api.merchant(credits=10), sqlite_api.merchant(name="Other")
    started = start(shop, [{"preset_id": shop.preset(generation_count=1)}]).json()
    campaign_id = started["campaign_id"]
    for method, path in [
        ("GET", ""),
        ("POST", "/cancel"),
        ("POST", "/retry-failed"),
        ("GET", "/export"),
    ]:
        for who, campaign in [(other, campaign_id), (shop, MISSING)]:
            answer = who.client.request(method, f"/api/campaigns/{campaign}{path}")
            assert answer.status_code == 404, (method, path, answer.text)
    assert other.client.get("/api/campaigns").json()["campaigns"] == []
    status = shop.client.get(f"/api/campaigns/{campaign_id}").json()
    assert status["runs_by_status"] == {"queued": 1}


def test_the_active_run_cap_counts_a_campaign_once_and_the_daily_limit_all_its_images(
    tmp_path, monkeypatch, request
):
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    url = premigrated(request, f"sqlite:///{tmp_path / 'bulkgen.db'}")
    with deployment(tmp_path, url, BULKGEN_MAX_ACTIVE_JOBS_PER_USER="2") as api:
        shop = api.merchant(credits=100)
        preset = shop.preset(generation_count=1)
        first = start(shop, [{"preset_id": preset}] * 5)
        assert first.status_code == 202, first.text  # 5 runs, one campaign: one of the two
        assert shop.start(preset).status_code == 202  # the second
        refused = start(shop, [{"preset_id": preset}])
        assert refused.status_code == 429 and "Retry-After" in refused.headers
        assert (
            shop.client.post(f"/api/campaigns/{first.json()['campaign_id']}/cancel").status_code
            == 200
        )
        second = start(shop, [{"preset_id": preset}] * 3)
        assert second.status_code == 202, second.text
        shop.client.post(f"/api/campaigns/{second.json()['campaign_id']}/cancel")

        limited = shop.client.put("/api/me/limits", json={"daily_images": 12})
        assert limited.status_code == 200, limited.text
        over = start(shop, [{"preset_id": preset}] * 4)  # 9 started today + 4 > 12
        assert over.status_code == 429 and "daily image limit" in over.json()["detail"]


def test_cancel_and_retry_failed_act_on_the_whole_campaign(api):
    shop = api.merchant(credits=30)
    preset = shop.preset(generation_count=2)
    started = start(shop, [{"preset_id": preset}] * 3).json()
    campaign_id, job_ids = started["campaign_id"], started["job_ids"]
    requests = {r.partition_key: r for r in api.tick()}
    # The first run makes everything; the second loses its first image; the third stays queued
    # for the cancel.
    api.run(job_ids[0])
    with api.database.session() as session:
        snapshot = db.get_job(session, job_ids[1]).preset_snapshot
    specs = request_from_snapshot(snapshot).resolve(run_seed=job_ids[1]).generations
    api.run(job_ids[1], ScriptedImages(fail_prompts=[specs[0].prompt]))
    assert set(requests) == set(job_ids)

    nothing_yet = shop.client.post(f"/api/campaigns/{campaign_id}/retry-failed")
    assert nothing_yet.status_code == 202, nothing_yet.text
    assert nothing_yet.json()["changed"] == {job_ids[1]: "queued"}
    assert nothing_yet.json()["credits_reserved"] == 1
    again = shop.client.post(f"/api/campaigns/{campaign_id}/retry-failed")
    assert again.status_code == 409  # the partial run is queued again: nothing left to retry

    cancelled = shop.client.post(f"/api/campaigns/{campaign_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["changed"] == {job_ids[1]: "cancelled", job_ids[2]: "cancelled"}
    assert cancelled.json()["unchanged"] == 1
    detail = shop.client.get(f"/api/campaigns/{campaign_id}").json()
    assert detail["runs_by_status"] == {"cancelled": 2, "completed": 1}
    assert credits(shop)["reserved"] == 0
    assert credits(shop)["balance"] == 30 - 3  # two of the first run, one of the second


def test_a_campaign_s_backlog_never_holds_back_another_merchant_s_run(api, tmp_path):
    """200 runs of one merchant queued before another merchant's one: the queue sensor hands
    over 3 of the campaign's (the run queue's per-merchant limit) and the other's at once."""
    shop, other = api.merchant(credits=500), api.merchant(credits=5, name="Other")
    preset = shop.preset(generation_count=1)
    started = start(shop, [{"preset_id": preset}] * 200)
    assert started.status_code == 202, started.text
    later = other.start(other.preset(generation_count=1)).json()["job_id"]
    limited = production_run_queue()
    job_def = build_definitions().resolve_job_def("bulk_generation")
    (tmp_path / "limited").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "limited"), overrides=limited) as instance:
        context = dg.build_sensor_context(
            instance=instance,
            resources={"database": DatabaseResource(url=api.settings.database_url)},
        )
        requests = queued_bulk_jobs(context).run_requests or []
        keys = [r.run_key for r in requests]
        assert keys == [*started.json()["job_ids"][:3], later]
        for r in requests:
            instance.create_run_for_job(job_def, tags={**r.tags, RUN_KEY_TAG: r.run_key})
        context = dg.build_sensor_context(
            instance=instance,
            resources={"database": DatabaseResource(url=api.settings.database_url)},
        )
        assert [r.run_key for r in queued_bulk_jobs(context).run_requests or []] == keys


def test_a_test_key_s_campaign_reserves_nothing_and_is_its_mode_s_only(sqlite_api):
    from .test_test_mode import keys_of

    live, test = keys_of(sqlite_api)  # 20 credits
    preset = live.preset(generation_count=5)
    answer = start(test, [{"preset_id": preset}] * 10)  # 50 images: more than the credits
    assert answer.status_code == 202, answer.text
    campaign_id = answer.json()["campaign_id"]
    assert answer.json()["estimated_credits"] == 0
    assert credits(live) == {"balance": 20, "reserved": 0, "available": 20}
    requests = sqlite_api.tick()
    assert {(r.tags["campaign_id"], r.tags["test"]) for r in requests} == {(campaign_id, "true")}
    assert [c["campaign_id"] for c in test.client.get("/api/campaigns").json()["campaigns"]] == [
        campaign_id
    ]
    assert live.client.get("/api/campaigns").json()["campaigns"] == []
    assert live.client.get(f"/api/campaigns/{campaign_id}").status_code == 404
    assert test.client.post(f"/api/campaigns/{campaign_id}/cancel").status_code == 200
