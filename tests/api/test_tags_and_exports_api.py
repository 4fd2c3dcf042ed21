"""Tags, bulk delete and exports over HTTP: every object the merchant's own (404 otherwise),
hostile input a 422 naming the field."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from ..conftest import premigrated
from .conftest import deployment


def finished(api, shop, count: int = 2) -> str:
    job_id = shop.start(shop.preset(generation_count=count)).json()["job_id"]
    assert api.run_queued() == [job_id]
    return job_id


def listed(shop, **params) -> list[str]:
    answer = shop.client.get("/api/bulk-generation/runs", params=params)
    assert answer.status_code == 200, answer.text
    return [run["job_id"] for run in answer.json()["runs"]]


def test_tags_file_runs_and_the_listing_filters_by_them(sqlite_api):
    shop = sqlite_api.merchant(credits=20)
    spring, summer = finished(sqlite_api, shop), finished(sqlite_api, shop)
    put = shop.client.put(
        f"/api/bulk-generation/runs/{spring}/tags", json={"tags": ["spring-2027", "bags", "bags"]}
    )
    assert put.status_code == 200, put.text
    assert put.json() == {"job_id": spring, "tags": ["bags", "spring-2027"]}
    shop.client.put(f"/api/bulk-generation/runs/{summer}/tags", json={"tags": ["bags"]})
    assert listed(shop, tag="spring-2027") == [spring]
    assert listed(shop, tag="bags") == [summer, spring]
    assert listed(shop, tag="nothing") == []
    runs = shop.client.get("/api/bulk-generation/runs").json()["runs"]
    assert {r["job_id"]: r["tags"] for r in runs} == {
        summer: ["bags"],
        spring: ["bags", "spring-2027"],
    }
    # Replaced as a whole.
    shop.client.put(f"/api/bulk-generation/runs/{spring}/tags", json={"tags": []})
    assert listed(shop, tag="spring-2027") == []


@pytest.fixture(scope="module")
def one_finished_run(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """The API on SQLite (as `sqlite_api`) with one merchant's finished run, shared by the
    hostile-tags cases: each is refused, which changes nothing, and making a run (a Dagster
    instance and a materialization) is most of such a test's ~1 CPU-s."""
    folder = tmp_path_factory.mktemp("hostile-tags")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
        url = premigrated(request, f"sqlite:///{folder / 'bulkgen.db'}")
        with deployment(folder, url) as deployed:
            shop = deployed.merchant(credits=20)
            yield shop, finished(deployed, shop, count=1)


@pytest.mark.parametrize(
    ("tags", "field"),
    [
        (["ok", " padded"], "tags.1"),
        (["x" * 33], "tags.0"),
        ([f"t{i}" for i in range(21)], "tags"),
        (["a\u0000b"], "tags.0"),
        ([5], "tags.0"),
        ("bags", "tags"),
    ],
)
def test_hostile_tags_are_refused_naming_the_field(one_finished_run, tags, field):
    shop, run = one_finished_run
    answer = shop.client.put(f"/api/bulk-generation/runs/{run}/tags", json={"tags": tags})
    assert answer.status_code == 422, answer.text
    assert field in [p["field"] for p in answer.json()["problems"]]


def test_another_merchant_s_runs_are_not_found_for_tags_delete_and_export(sqlite_api):
    owner, other = sqlite_api.merchant(credits=20), sqlite_api.merchant(name="Other")
    run = finished(sqlite_api, owner, count=1)
    tagged = other.client.put(f"/api/bulk-generation/runs/{run}/tags", json={"tags": ["mine"]})
    assert tagged.status_code == 404
    deleted = other.client.post("/api/bulk-generation/runs/delete", json={"run_ids": [run]})
    assert deleted.json()["results"][0]["outcome"] == "not_found"
    exported = other.client.post(
        "/api/exports", json={"images": [{"run_id": run, "generation_index": 1}]}
    )
    assert exported.status_code == 404
    assert owner.client.get(f"/api/bulk-generation/jobs/{run}/status").json()["download_link"]


def test_bulk_delete_deletes_each_as_the_single_delete_does(sqlite_api):
    shop = sqlite_api.merchant(credits=20)
    first, second = finished(sqlite_api, shop), finished(sqlite_api, shop)
    waiting = shop.start(shop.preset(generation_count=1)).json()["job_id"]  # still queued
    missing = "00000000-0000-4000-8000-000000000000"
    answer = shop.client.post(
        "/api/bulk-generation/runs/delete", json={"run_ids": [first, second, waiting, missing]}
    )
    assert answer.status_code == 200, answer.text
    results = {r["job_id"]: r for r in answer.json()["results"]}
    assert [results[r]["outcome"] for r in (first, second, waiting, missing)] == [
        "deleted",
        "deleted",
        "conflict",
        "not_found",
    ]
    assert results[first]["objects_deleted"] > 0
    assert listed(shop) == [waiting]  # deleted runs leave the listing
    for body in ({"run_ids": []}, {"run_ids": ["nope"]}, {"run_ids": [missing] * 101}):
        refused = shop.client.post("/api/bulk-generation/runs/delete", json=body)
        assert refused.status_code == 422 and refused.json()["problems"][0]["field"].startswith(
            "run_ids"
        )


def test_an_export_zips_the_chosen_images_of_several_runs_with_their_metadata(sqlite_api):
    shop = sqlite_api.merchant(credits=20)
    first, second = finished(sqlite_api, shop, count=3), finished(sqlite_api, shop, count=2)
    answer = shop.client.post(
        "/api/exports",
        json={
            "images": [
                {"run_id": first, "generation_index": 3},
                {"run_id": second, "generation_index": 1},
                {"run_id": first, "generation_index": 3},  # once is enough
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as bundle:
        names = sorted(bundle.namelist())
        metadata = json.loads(bundle.read(f"{first}/generation_3_metadata.json"))
        png = bundle.read(f"{second}/generation_1.png")
    assert names == sorted(
        [
            f"{first}/generation_3.png",
            f"{first}/generation_3_metadata.json",
            f"{second}/generation_1.png",
            f"{second}/generation_1_metadata.json",
        ]
    )
    assert metadata["generation"] == 3 and png.startswith(b"\x89PNG")
    absent = shop.client.post(
        "/api/exports", json={"images": [{"run_id": first, "generation_index": 9}]}
    )
    assert absent.status_code == 404 and "images.0" in absent.json()["detail"]
    for body, field in (
        ({"images": []}, "images"),
        ({"images": [{"run_id": first}]}, "images.0.generation_index"),
        ({"images": [{"run_id": first, "generation_index": "1"}]}, "images.0.generation_index"),
    ):
        refused = shop.client.post("/api/exports", json=body)
        assert refused.status_code == 422, refused.text
        assert field in [p["field"] for p in refused.json()["problems"]]


def test_six_replacements_of_one_run_s_tags_at_once_leave_one_of_them(api):
    from concurrent.futures import ThreadPoolExecutor

    from bulkgen_pipeline.runs.tags import run_tags, set_tags

    shop = api.merchant(credits=20)
    run = finished(api, shop, count=1)
    wanted = [[f"set-{i}", "common"] for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(lambda tags: set_tags(api.database, shop.user_id, run, tags), wanted)
        )
    assert len(answers) == 6  # none failed
    assert run_tags(api.database, [run])[run] in [sorted(tags) for tags in wanted]
