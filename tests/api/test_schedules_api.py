"""Schedules over HTTP and the operator's CLI: created for a preset or a template with their
next times in UTC, started by the sensor through the same checks as any start, paused,
resumed and deleted; another merchant's schedule is 404; hostile input is 422 naming the
field."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from bulkgen_pipeline.cli import main
from bulkgen_pipeline.db.models import Schedule
from bulkgen_pipeline.runs.schedules import start_due

from .test_templates_api import BATCH

HOOK = "https://hooks.example.com/bulkgen"


def make_due(api, schedule_id: str, ago: timedelta = timedelta(minutes=1)) -> None:
    """As if the schedule's time came `ago`: the sensor's next tick starts it."""
    with api.database.session() as session:
        session.execute(
            update(Schedule)
            .where(Schedule.id == schedule_id)
            .values(next_run_at=datetime.now(UTC) - ago)
        )


def test_a_preset_schedule_shows_its_next_times_and_starts_on_its_time(api):
    shop = api.merchant(credits=10)
    preset_id = shop.preset(generation_count=3)
    made = shop.client.post(
        "/api/schedules",
        json={
            "preset_id": preset_id,
            "cron": "0 9 * * 1-5",
            "timezone": "Europe/Berlin",
            "generation_count": 2,
            "webhook_url": HOOK,
        },
    )
    assert made.status_code == 201, made.text
    schedule = made.json()
    assert (schedule["status"], schedule["cron"], schedule["generation_count"]) == (
        "active",
        "0 9 * * 1-5",
        2,
    )
    times = [datetime.fromisoformat(t) for t in schedule["next_runs"]]
    assert len(times) == 5 and times == sorted(times) and times[0] > datetime.now(UTC)
    assert schedule["next_run_at"] == schedule["next_runs"][0]
    for when in times:  # 09:00 in Berlin: 08:00 UTC in winter, 07:00 in summer; weekdays
        berlin = when.astimezone(ZoneInfo("Europe/Berlin"))
        assert (berlin.hour, berlin.minute) == (9, 0) and berlin.weekday() < 5
    listed = shop.client.get("/api/schedules").json()["schedules"]
    assert [s["schedule_id"] for s in listed] == [schedule["schedule_id"]]

    make_due(api, schedule["schedule_id"])
    [due] = start_due(api.database, settings=api.settings)
    assert due.run_id is not None and due.reason is None
    detail = shop.client.get(f"/api/schedules/{schedule['schedule_id']}").json()
    [started] = detail["history"]
    assert (started["outcome"], started["run_id"]) == ("started", due.run_id)
    assert detail["last"] == started
    assert datetime.fromisoformat(detail["next_run_at"]) > datetime.now(UTC)
    # The run is any start's: 2 credits reserved, the schedule's webhook on it, run by Dagster.
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 2
    assert api.run_queued() == [due.run_id]
    status = shop.client.get(f"/api/bulk-generation/jobs/{due.run_id}/status").json()
    assert (status["status"], status["total_images"]) == ("completed", 2)


def test_a_template_schedule_starts_its_prompts(sqlite_api):
    shop = sqlite_api.merchant(credits=10)
    template_id = shop.client.post("/api/templates", json=BATCH).json()["template_id"]
    made = shop.client.post(
        "/api/schedules",
        json={"template_id": template_id, "cron": "*/15 * * * *", "timezone": "UTC"},
    )
    assert made.status_code == 201, made.text
    make_due(sqlite_api, made.json()["schedule_id"])
    [due] = start_due(sqlite_api.database, settings=sqlite_api.settings)
    status = shop.client.get(f"/api/bulk-generation/jobs/{due.run_id}/status").json()
    assert (status["kind"], status["total_images"]) == ("prompt_batch", 2)


def test_pause_stops_starts_and_resume_starts_from_now(sqlite_api):
    shop = sqlite_api.merchant(credits=10)
    preset_id = shop.preset(generation_count=1)
    schedule = shop.client.post(
        "/api/schedules", json={"preset_id": preset_id, "cron": "0 * * * *", "timezone": "UTC"}
    ).json()
    url = f"/api/schedules/{schedule['schedule_id']}"
    make_due(sqlite_api, schedule["schedule_id"], ago=timedelta(days=2))
    paused = shop.client.post(url + "/pause")
    assert paused.status_code == 200, paused.text
    assert (paused.json()["status"], paused.json()["next_run_at"], paused.json()["next_runs"]) == (
        "paused",
        None,
        [],
    )
    assert (
        start_due(sqlite_api.database, settings=sqlite_api.settings) == []
    )  # paused: nothing starts
    assert shop.client.post(url + "/pause").json()["status"] == "paused"  # again: the same

    resumed = shop.client.post(url + "/resume").json()
    following = datetime.fromisoformat(resumed["next_run_at"])
    now = datetime.now(UTC)
    assert resumed["status"] == "active" and now < following <= now + timedelta(hours=1)
    assert following.minute == 0  # the first full hour after now, not the missed times
    assert (
        start_due(sqlite_api.database, settings=sqlite_api.settings) == []
    )  # not due before its time

    assert shop.client.delete(url).status_code == 200
    assert shop.client.get(url).status_code == 404
    assert shop.client.get("/api/schedules").json()["schedules"] == []


def test_another_merchant_s_schedule_preset_and_template_are_404(sqlite_api):
    owner, other = sqlite_api.merchant(credits=10), sqlite_api.merchant(name="Other")
    preset_id = owner.preset()
    template_id = owner.client.post("/api/templates", json=BATCH).json()["template_id"]
    schedule_id = owner.client.post(
        "/api/schedules", json={"preset_id": preset_id, "cron": "0 9 * * *", "timezone": "UTC"}
    ).json()["schedule_id"]
    url = f"/api/schedules/{schedule_id}"
    for answer in (
        other.client.get(url),
        other.client.post(url + "/pause"),
        other.client.post(url + "/resume"),
        other.client.delete(url),
        other.client.get(f"/api/schedules/{uuid.uuid4()}"),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["detail"].startswith("schedule '")
    assert other.client.get("/api/schedules").json()["schedules"] == []
    for source in ({"preset_id": preset_id}, {"template_id": template_id}):
        refused = other.client.post(
            "/api/schedules", json={**source, "cron": "0 9 * * *", "timezone": "UTC"}
        )
        assert refused.status_code == 404, refused.text
    assert owner.client.get(url).json()["status"] == "active"  # untouched


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "0 9 * *"}, "cron"),
        ({"cron": "0 0 31 2 *"}, "cron"),
        ({"cron": "x" * 500}, "cron"),
        ({"cron": 5}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"generation_count": 0}, "generation_count"),
        ({"generation_count": 51}, "generation_count"),
        ({"generation_count": "5"}, "generation_count"),
        ({"generation_count": 2.0}, "generation_count"),
        ({"preset_id": None}, "preset_id"),
        ({"preset_id": "not-a-uuid"}, "preset_id"),
        ({"template_id": "TEMPLATE"}, "template_id"),
        ({"priority": "high"}, "priority"),
        ({"webhook_url": "javascript:alert(1)"}, "webhook_url"),
        ({"webhook_events": ["sometimes"]}, "webhook_events.0"),
        ({"cron_expression": "0 9 * * *"}, "cron_expression"),
    ],
)
def test_hostile_input_is_refused_naming_the_field(sqlite_api, change, field):
    shop = sqlite_api.merchant()
    preset_id = shop.preset()
    body = {"preset_id": preset_id, "cron": "0 9 * * *", "timezone": "UTC", **change}
    answer = shop.client.post("/api/schedules", json=body)
    assert answer.status_code == 422, answer.text
    assert field in {p["field"] for p in answer.json()["problems"]}
    assert shop.client.get("/api/schedules").json()["schedules"] == []


def test_a_schedule_names_exactly_one_source(sqlite_api):
    shop = sqlite_api.merchant()
    preset_id = shop.preset()
    template_id = shop.client.post("/api/templates", json=BATCH).json()["template_id"]
    when = {"cron": "0 9 * * *", "timezone": "UTC"}
    for body, field in (
        ({**when}, "preset_id"),
        ({**when, "preset_id": preset_id, "template_id": template_id}, "preset_id"),
        ({**when, "template_id": template_id, "generation_count": 3}, "generation_count"),
    ):
        answer = shop.client.post("/api/schedules", json=body)
        assert answer.status_code == 422, answer.text
        assert [p["field"] for p in answer.json()["problems"]] == [field]
    for path in ("/api/schedules/nope", "/api/schedules/nope/pause"):
        answer = shop.client.post(path) if path.endswith("pause") else shop.client.get(path)
        assert answer.status_code == 422
        assert answer.json()["problems"][0]["field"] == "schedule_id"


def test_the_operator_lists_every_schedule_or_one_merchant_s(sqlite_api):
    first, second = sqlite_api.merchant(credits=0), sqlite_api.merchant(name="Second")
    for shop in (first, second):
        shop.client.post(
            "/api/schedules",
            json={"preset_id": shop.preset(), "cron": "30 6 * * *", "timezone": "Asia/Tokyo"},
        )
    mine = first.client.get("/api/schedules").json()["schedules"][0]["schedule_id"]
    make_due(sqlite_api, mine)
    start_due(sqlite_api.database, settings=sqlite_api.settings)  # no credits: skipped

    def listed(*args: str):
        result = CliRunner().invoke(
            main,
            ["schedules", "list", *args],
            env={"BULKGEN_DATABASE_URL": sqlite_api.settings.database_url},
        )
        return result.exit_code, json.loads(result.output)

    code, everyone = listed()
    assert code == 0 and {s["user_id"] for s in everyone} == {first.user_id, second.user_id}
    code, only = listed("--user", first.user_id)
    [shown] = only
    assert shown["schedule_id"] == mine and shown["timezone"] == "Asia/Tokyo"
    assert shown["last"]["outcome"] == "skipped"
    assert shown["last"]["reason"] == "not enough credits: 5 needed, 0 available"
    assert datetime.fromisoformat(shown["next_run_at"]).astimezone(UTC).hour == 21  # 06:30 JST
    code, refused = listed("--user", "no-such-user")
    assert code == 1 and "does not exist" in refused["error"]
