"""The merchant's whole path over HTTP: preset → start → sensor → run → events → status →
download, on SQLite and PostgreSQL; and cancel and retry-failed."""

from __future__ import annotations

import io
import json
import re
import zipfile

import httpx
import pytest

from bulkgen_pipeline import db

from ..pipeline.conftest import ScriptedImages


def read_events(client: httpx.Client, job_id: str, last_event_id: str | None = None) -> list[dict]:
    """Read the SSE stream to its end (it closes after the final status)."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events, current = [], {}
    with client.stream("GET", f"/api/bulk-generation/jobs/{job_id}/events", headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if not line:
                if current:
                    events.append(current)
                current = {}
            elif line.startswith(("id:", "event:", "data:")):
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                current[name] = json.loads(value) if name == "data" else value
    return events


@pytest.mark.served  # the API's smoke test on a real server
def test_full_flow_over_http(api):
    shop = api.merchant(credits=10)
    preset_id = shop.preset(generation_count=3)
    assert shop.client.get("/api/me").json()["credits"] == {
        "balance": 10,
        "reserved": 0,
        "available": 10,
    }

    started = shop.start(preset_id)
    assert started.status_code == 202, started.text
    body = started.json()
    job_id = body["job_id"]
    assert body == {
        "job_id": job_id,
        "status": "queued",
        "estimated_credits": 3,
        "status_url": f"/api/bulk-generation/jobs/{job_id}/status",
        "events_url": f"/api/bulk-generation/jobs/{job_id}/events",
        "test": False,  # a live key's run
    }
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 3

    assert api.run_queued() == [job_id]  # the sensor picks it up; the run executes

    status = shop.client.get(body["status_url"]).json()
    assert status["status"] == "completed"
    assert (status["completed_images"], status["failed_images"]) == (3, 0)
    assert [i["status"] for i in status["items"]] == ["succeeded"] * 3
    assert all(i["provider"] == "local" for i in status["items"])
    assert status["started_at"] and status["finished_at"] and status["eta_seconds"] is None
    assert status["download_link"] == f"/api/bulk-generation/download/{shop.user_id}/{job_id}"
    assert shop.client.get("/api/me").json()["credits"] == {
        "balance": 7,
        "reserved": 0,
        "available": 7,
    }

    events = read_events(shop.client, job_id)
    statuses = [e["data"]["status"] for e in events if e["event"] == "status"]
    assert statuses == ["queued", "processing", "completed"]
    items = [e["data"] for e in events if e["event"] == "item"]
    assert sorted(i["generation_index"] for i in items) == [1, 2, 3]
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids)
    # Reconnecting with Last-Event-ID resumes after that event, and ends at the final status.
    resumed = read_events(shop.client, job_id, last_event_id=events[1]["id"])
    assert [e["id"] for e in resumed] == [e["id"] for e in events[2:]]

    download = shop.client.get(status["download_link"])
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert f"{job_id}_bulk_generation.zip" in download.headers["content-disposition"]
    names = set(zipfile.ZipFile(io.BytesIO(download.content)).namelist())
    assert {f"generation_{i}.png" for i in (1, 2, 3)} <= names
    assert "bulk_generation_summary.json" in names

    listing = shop.client.get("/api/bulk-generation/runs").json()
    assert [r["job_id"] for r in listing["runs"]] == [job_id]
    assert listing["runs"][0]["status"] == "completed"


def test_cancel_a_queued_job_releases_its_credits(api):
    shop = api.merchant(credits=10)
    job_id = shop.start(shop.preset(generation_count=4)).json()["job_id"]
    answer = shop.client.post(f"/api/bulk-generation/jobs/{job_id}/cancel")
    assert answer.json() == {"job_id": job_id, "status": "cancelled"}
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0
    assert api.tick() == []  # never launched
    assert shop.client.post(f"/api/bulk-generation/jobs/{job_id}/cancel").status_code == 409


def test_cancel_a_running_job_stops_it_and_releases_the_rest(api):
    shop = api.merchant(credits=10)
    job_id = shop.start(shop.preset(generation_count=5)).json()["job_id"]
    [request] = api.tick()
    with api.database.session() as session:  # its run has started (as the first step does)
        db.mark_job_processing(session, job_id, None)
    answer = shop.client.post(f"/api/bulk-generation/jobs/{job_id}/cancel").json()
    assert answer["status"] == "cancelling"
    api.run(request.partition_key)  # the run sees the request before its first image
    status = shop.client.get(f"/api/bulk-generation/jobs/{job_id}/status").json()
    assert status["status"] == "cancelled"
    assert status["completed_images"] == 0
    credits = shop.client.get("/api/me").json()["credits"]
    assert credits == {"balance": 10, "reserved": 0, "available": 10}
    events = read_events(shop.client, job_id)
    assert [e["data"]["status"] for e in events if e["event"] == "status"][-1] == "cancelled"


def test_retry_failed_regenerates_only_the_failed_images_and_charges_once(api):
    shop = api.merchant(credits=10)
    job_id = shop.start(shop.preset(generation_count=4)).json()["job_id"]
    [request] = api.tick()
    with api.database.session() as session:
        snapshot = db.get_job(session, job_id).preset_snapshot
    from bulkgen_pipeline.domain.requests import request_from_snapshot

    specs = request_from_snapshot(snapshot).resolve(run_seed=job_id).generations
    doomed = [specs[0].prompt, specs[2].prompt]
    api.run(request.partition_key, ScriptedImages(fail_prompts=doomed))
    status = shop.client.get(f"/api/bulk-generation/jobs/{job_id}/status").json()
    assert (status["status"], status["completed_images"], status["failed_images"]) == (
        "partial",
        2,
        2,
    )
    failed = [i for i in status["items"] if i["status"] == "failed"]
    assert [i["generation_index"] for i in failed] == [1, 3]
    assert all("refuses" in i["error"] for i in failed)
    assert shop.client.get("/api/me").json()["credits"]["balance"] == 8

    retried = shop.client.post(f"/api/bulk-generation/jobs/{job_id}/retry-failed")
    assert retried.status_code == 202, retried.text
    assert retried.json()["images_to_retry"] == 2 and retried.json()["status"] == "queued"
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 2
    assert api.run_queued() == [f"{job_id}:pass1"]

    status = shop.client.get(f"/api/bulk-generation/jobs/{job_id}/status").json()
    assert (status["status"], status["completed_images"], status["credits_consumed"]) == (
        "completed",
        4,
        4,
    )
    assert shop.client.get("/api/me").json()["credits"] == {
        "balance": 6,
        "reserved": 0,
        "available": 6,
    }
    names = zipfile.ZipFile(io.BytesIO(shop.client.get(status["download_link"]).content)).namelist()
    assert {f"generation_{i}.png" for i in range(1, 5)} <= set(names)
    with api.database.session() as session:
        assert len(db.list_img_history(session, job_id)) == 4
        assert db.credit_invariant_violations(session) == []
    # Nothing left to retry: a conflict, and no credits move.
    assert shop.client.post(f"/api/bulk-generation/jobs/{job_id}/retry-failed").status_code == 409


def test_delete_removes_the_files_keeps_the_job_and_the_ledger(api, tmp_path):
    from ..cli_support import bulkgen

    shop = api.merchant(credits=10)
    job_id = shop.start(shop.preset(generation_count=2)).json()["job_id"]
    api.run_queued()
    status_path = f"/api/bulk-generation/jobs/{job_id}/status"
    before = shop.client.get(status_path).json()
    assert before["files_deleted_at"] is None
    folder = f"{shop.user_id}/bulk_runs/bags/{job_id}/"
    assert api.store.list_keys(folder)
    deleted = shop.client.delete(f"/api/bulk-generation/runs/{job_id}")
    assert deleted.status_code == 200 and deleted.json()["objects_deleted"] >= 5
    assert api.store.list_keys(folder) == []
    assert shop.client.get(before["download_link"]).status_code == 404

    # The job and its history stay, its files marked deleted and no link to them.
    after = shop.client.get(status_path)
    assert after.status_code == 200, after.text
    after = after.json()
    assert after["files_deleted_at"] is not None and after["download_link"] is None
    unchanged = ("status", "completed_images", "credits_consumed", "items", "created_at")
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    assert read_events(shop.client, job_id)[-1]["data"]["status"] == "completed"
    # Its files cannot be made again, and deleting again removes nothing more.
    assert shop.client.post(f"/api/bulk-generation/jobs/{job_id}/retry-failed").status_code == 409
    again = shop.client.delete(f"/api/bulk-generation/runs/{job_id}")
    assert again.status_code == 200 and again.json()["objects_deleted"] == 0
    with api.database.session() as session:
        kinds = [e.kind for e in db.ledger_entries(session, run_id=job_id)]
    assert kinds == ["reserve", "charge", "release"]

    # `bulkgen status` and the console's run page say the same.
    env = {"BULKGEN_DATABASE_URL": api.settings.database_url, "BULKGEN_HOME": str(tmp_path)}
    code, printed = bulkgen("status", job_id, env=env)
    assert code == 0 and printed["files_deleted_at"] == after["files_deleted_at"]
    assert printed["download_link"] is None and printed["status"] == "completed"
    console = api.client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', console.get("/signin").text).group(1)
    console.post("/signin", data={"api_key": shop.api_key, "csrf_token": token})
    page = console.get(f"/runs/{job_id}")
    assert page.status_code == 200
    assert "files were deleted" in page.text
    assert f"/runs/{job_id}/images/" not in page.text  # no thumbnails of files that are gone
    assert "/api/bulk-generation/download/" not in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    retried = console.post(f"/runs/{job_id}/retry-failed", data={"csrf_token": token})
    assert retried.status_code == 303
    assert "files were deleted" in console.get(retried.headers["location"]).text


def test_a_webhook_is_received_and_its_signature_verifies(tmp_path, monkeypatch):
    """The API's own sender delivers the job's events to a receiver the test runs."""
    import http.server
    import threading
    import time

    from bulkgen_pipeline.db.webhooks import webhook_secret
    from bulkgen_pipeline.webhooks.signing import verify

    from .conftest import deployment

    received: list[tuple[dict, bytes]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    try:
        with deployment(tmp_path, url, webhooks=True) as api:
            shop = api.merchant()
            hook = f"http://127.0.0.1:{server.server_address[1]}/hooks/bulkgen"
            started = shop.start(
                shop.preset(generation_count=2),
                webhook_url=hook,
                webhook_events=["completed", "item"],
            )
            assert started.status_code == 202, started.text
            job_id = started.json()["job_id"]
            api.run_queued()
            deadline = time.monotonic() + 20
            while len(received) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            with api.database.session() as session:
                secret = webhook_secret(session, shop.user_id)
            payloads = [verify(secret, headers, body) for headers, body in received]
            assert [p["type"] for p in payloads] == [
                "item.succeeded",
                "item.succeeded",
                "job.completed",
            ]
            assert all(p["data"]["job_id"] == job_id for p in payloads)
            status = shop.client.get(f"/api/bulk-generation/jobs/{job_id}/status").json()
            deliveries = status["webhook_deliveries"]
            assert [d["status"] for d in deliveries] == ["delivered"] * 3
            assert all(d["attempts"][0]["status_code"] == 204 for d in deliveries)
            empty = shop.start(shop.preset(), webhook_url=hook, webhook_events=[])
            assert empty.status_code == 422
            assert empty.json()["problems"][0]["field"] == "webhook_events"
    finally:
        server.shutdown()
