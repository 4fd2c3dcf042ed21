"""Spending limits over HTTP and the CLI: the operator's daily ceiling, the merchant's own
lower limit, a start past it refused with when it resets, and credits.low sent once."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bulkgen_pipeline.cli import main
from bulkgen_pipeline.db.limits import CREDITS_LOW
from bulkgen_pipeline.db.webhooks import list_deliveries

HOOK = "https://hooks.example.com/bulkgen"


def set_ceiling(api, user_id: str, value: str):
    result = CliRunner().invoke(
        main,
        ["users", "set-limits", "--user", user_id, "--daily-images", value],
        env={"BULKGEN_DATABASE_URL": api.settings.database_url},
    )
    return result.exit_code, json.loads(result.output)


def test_the_daily_limit_refuses_a_start_past_it_and_says_when_it_resets(sqlite_api):
    shop = sqlite_api.merchant(credits=50)
    code, shown = set_ceiling(sqlite_api, shop.user_id, "5")
    assert code == 0 and shown["daily_images_ceiling"] == 5
    preset_id = shop.preset(generation_count=3)
    assert shop.start(preset_id).status_code == 202  # 3 of 5 today

    refused = shop.start(preset_id)  # 3 more would make 6
    assert refused.status_code == 429, refused.text
    body = refused.json()
    assert (body["limit"], body["images_today"]) == (5, 3)
    assert body["resets_at"].endswith("T00:00:00+00:00") and "resets at" in body["detail"]
    assert 0 < int(refused.headers["Retry-After"]) <= 86_400
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 3  # nothing more

    assert shop.start(preset_id, generation_count=2).status_code == 202  # exactly 5
    limits = shop.client.get("/api/me").json()["limits"]
    assert (limits["images_today"], limits["daily_images_effective"]) == (5, 5)


def test_a_merchant_sets_a_lower_limit_of_their_own_but_not_above_the_ceiling(sqlite_api):
    shop = sqlite_api.merchant(credits=50)
    set_ceiling(sqlite_api, shop.user_id, "10")
    above = shop.client.put("/api/me/limits", json={"daily_images": 11})
    assert above.status_code == 422
    assert above.json()["problems"][0]["field"] == "daily_images"
    assert "at most your operator's limit of 10" in above.json()["problems"][0]["message"]

    own = shop.client.put("/api/me/limits", json={"daily_images": 2})
    assert own.status_code == 200, own.text
    assert (own.json()["daily_images"], own.json()["daily_images_effective"]) == (2, 2)
    assert shop.start(shop.preset(generation_count=3)).status_code == 429
    # The operator lifts the ceiling: the merchant's own limit still holds.
    assert set_ceiling(sqlite_api, shop.user_id, "none")[1]["daily_images_effective"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {"daily_images": -1},
        {"daily_images": "5"},
        {"daily_images": 2.0},
        {"daily_images": True},
        {"low_credit_threshold": -5},
        {"daily_image": 5},
    ],
)
def test_malformed_limits_are_refused_naming_the_field(sqlite_api, body):
    shop = sqlite_api.merchant()
    answer = shop.client.put("/api/me/limits", json=body)
    assert answer.status_code == 422, answer.text
    assert set(body) & {p["field"] for p in answer.json()["problems"]}


def test_the_operator_command_names_a_bad_value_and_an_unknown_user(sqlite_api):
    shop = sqlite_api.merchant()
    code, shown = set_ceiling(sqlite_api, shop.user_id, "lots")
    assert code == 1 and shown["problems"][0]["field"] == "daily_images"
    code, shown = set_ceiling(sqlite_api, "no-such-user", "5")
    assert code == 1 and "does not exist" in shown["error"]


def test_credits_low_is_sent_once_when_the_available_credits_fall_below_the_threshold(
    sqlite_api,
):
    shop = sqlite_api.merchant(credits=10)
    assert shop.client.put("/api/me/limits", json={"low_credit_threshold": 5}).status_code == 200
    preset_id = shop.preset(generation_count=3)

    def deliveries(job_id: str) -> list:
        with sqlite_api.database.session() as session:
            return [d for d in list_deliveries(session, job_id) if d.event_type == CREDITS_LOW]

    first = shop.start(preset_id, webhook_url=HOOK).json()["job_id"]  # 7 available: above
    crossing = shop.start(preset_id, webhook_url=HOOK).json()["job_id"]  # 4: below 5
    after = shop.start(preset_id, generation_count=1, webhook_url=HOOK).json()["job_id"]
    assert (len(deliveries(first)), len(deliveries(crossing)), len(deliveries(after))) == (0, 1, 0)
    (alert,) = deliveries(crossing)
    payload = json.loads(alert.payload)
    assert payload["data"] == {"user_id": shop.user_id, "available": 4, "threshold": 5}
    assert alert.url == HOOK

    # Topped up above the threshold, the next fall alerts again.
    from bulkgen_pipeline.runs.credits import grant_credits

    grant_credits(sqlite_api.database, shop.user_id, 10)
    again = shop.start(preset_id, generation_count=9, webhook_url=HOOK).json()["job_id"]  # 13 → 4
    assert len(deliveries(again)) == 1
