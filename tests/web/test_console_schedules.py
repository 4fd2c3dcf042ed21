"""Schedules in the console: in headless Chromium a merchant schedules a preset, sees its next
times, a skipped time's reason, pauses, resumes and deletes it; the form names a bad cron or
time zone by its field; another merchant's schedule is the not-found page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bulkgen_pipeline.db.models import Schedule
from bulkgen_pipeline.runs.schedules import schedules_of, start_due
from bulkgen_pipeline.runs.templates import save_template

from .conftest import sign_in
from .test_console_browser import browser_sign_in
from .test_console_presets_browser import preset


def test_a_merchant_schedules_a_preset_and_pauses_resumes_and_deletes_it(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console, credits=1)
    preset(console, shop.user_id, "Weekday bags")
    context, page, errors = browser_sign_in(browser, console, shop.api_key)

    page.click("nav >> text=Schedules")
    page.wait_for_url("**/schedules")
    assert "No schedules yet." in page.inner_text("main")
    page.select_option("#source", label="Weekday bags")
    page.fill("#cron", "0 25 * * *")  # no hour 25: named by its field, nothing saved
    page.fill("#timezone", "Europe/Berlin")
    page.click("button:has-text('Save schedule')")
    assert "is not a cron expression" in page.locator("#err-cron").inner_text()
    assert page.locator("#timezone").input_value() == "Europe/Berlin"  # what was typed stays
    assert schedules_of(console.database, shop.user_id) == []

    page.fill("#cron", "0 9 * * 1-5")
    page.fill("#generation_count", "2")
    page.click("button:has-text('Save schedule')")
    page.wait_for_url("**/schedules")
    assert "Schedule saved: it starts next at" in page.locator("[data-flash]").inner_text()
    [made] = schedules_of(console.database, shop.user_id)
    assert (made.cron, made.timezone, made.generation_count) == ("0 9 * * 1-5", "Europe/Berlin", 2)
    row = page.locator(f"tr[data-schedule-id='{made.id}']")
    assert row.locator(".schedule-status").inner_text() == "active"
    assert row.locator(".next-runs time").count() == 3
    assert row.locator(".next-runs time").first.get_attribute("datetime") == (
        made.next_run_at.isoformat()
    )

    # Its time comes while the merchant has 1 credit of the 2 it needs: skipped, with why.
    with console.database.session() as session:
        session.execute(
            update(Schedule)
            .where(Schedule.id == made.id)
            .values(next_run_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    start_due(console.database, settings=console.settings)
    page.reload()
    assert row.locator(".skip-reason").inner_text() == (
        "skipped: not enough credits: 2 needed, 1 available"
    )

    row.locator("button:has-text('Pause')").click()
    page.wait_for_url("**/schedules")
    assert row.locator(".schedule-status").inner_text() == "paused"
    assert row.locator(".next-runs").inner_text() == "—"
    row.locator("button:has-text('Resume')").click()
    page.wait_for_url("**/schedules")
    assert "Schedule resumed: it starts next at" in page.locator("[data-flash]").inner_text()
    assert row.locator(".schedule-status").inner_text() == "active"
    row.locator("button:has-text('Delete')").click()
    page.wait_for_url("**/schedules")
    assert "No schedules yet." in page.inner_text("main")
    assert schedules_of(console.database, shop.user_id) == []
    assert errors == []
    context.close()


def test_a_template_schedule_and_another_merchant_s_schedule(sqlite_console):
    console = sqlite_console
    owner, other = sign_in(console), sign_in(console, name="Other")
    batch = {"name": "Spring", "prompts": [{"text": "A red tote on white"}]}
    template_id = save_template(console.database, owner.user_id, batch).id
    form = {"csrf_token": owner.csrf_token, "cron": "*/30 * * * *", "timezone": "UTC"}
    saved = owner.client.post("/schedules", data={**form, "source": f"template:{template_id}"})
    assert saved.status_code == 303, saved.text
    [made] = schedules_of(console.database, owner.user_id)
    assert made.template_id == template_id
    assert "Spring" in owner.client.get("/schedules").text

    refused = other.client.post(
        "/schedules",
        data={**form, "csrf_token": other.csrf_token, "source": f"template:{template_id}"},
    )
    assert refused.status_code == 422
    assert "that preset or template no longer exists" in refused.text
    for action in ("pause", "resume", "delete"):
        answer = other.client.post(
            f"/schedules/{made.id}/{action}", data={"csrf_token": other.csrf_token}
        )
        assert answer.status_code == 404
    forged = owner.client.post(f"/schedules/{made.id}/delete", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert [s.status for s in schedules_of(console.database, owner.user_id)] == ["active"]
    unknown_zone = owner.client.post(
        "/schedules", data={**form, "timezone": "Mars/Olympus", "source": ""}
    )
    assert unknown_zone.status_code == 422
    assert 'id="err-source"' in unknown_zone.text  # neither a preset nor a template chosen
