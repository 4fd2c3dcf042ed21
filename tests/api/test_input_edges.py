"""Edges of the input the API reads: JSON keys given twice, NUL characters, integers spelled
as something else. Each is refused with 422 naming the field, and nothing is queued."""

from __future__ import annotations

import json

import pytest

JSON = {"content-type": "application/json"}


def _problem(answer) -> dict:
    assert answer.status_code == 422, answer.text
    problems = answer.json()["problems"]
    assert len(problems) == 1, problems
    return problems[0]


def test_a_key_given_twice_is_refused_naming_its_path(sqlite_api):
    shop = sqlite_api.merchant(credits=100)
    preset_id = shop.preset(generation_count=2)
    twice = f'{{"preset_id": "{preset_id}", "generation_count": 80, "generation_count": 1}}'
    answer = shop.client.post("/api/bulk-generation/start", content=twice, headers=JSON)
    problem = _problem(answer)
    assert problem["field"] == "generation_count"
    assert "more than once" in problem["message"]
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0
    assert shop.client.get("/api/bulk-generation/runs").json()["runs"] == []

    preset = json.dumps({"name": "Bags", "category": "bags", "config": {"material": "leather"}})
    nested = preset.replace('"material": "leather"', '"material": "leather", "material": "silk"')
    problem = _problem(shop.client.post("/api/presets", content=nested, headers=JSON))
    assert problem["field"] == "config.material"
    batch = '{"prompts": [{"text": "a red mug"}, {"text": "a blue mug", "text": "a vase"}]}'
    problem = _problem(shop.client.post("/api/batches", content=batch, headers=JSON))
    assert problem["field"] == "prompts.1.text"


def test_a_nul_character_is_refused_naming_the_field(sqlite_api):
    shop = sqlite_api.merchant()
    preset_id = shop.preset()
    body = {"preset_id": preset_id, "webhook_url": "https://example.com/\u0000hook"}
    problem = _problem(shop.client.post("/api/bulk-generation/start", json=body))
    assert problem["field"] == "webhook_url" and "NUL" in problem["message"]
    batch = {"prompts": [{"text": "a red mug"}, {"text": "a blue\u0000 mug"}]}
    problem = _problem(shop.client.post("/api/batches", json=batch))
    assert problem["field"] == "prompts.1.text"
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0


@pytest.mark.parametrize("spelling", ["5.0", "1e3", "5_0", "+5", " 5", "0x5", "5.5"])
def test_a_query_integer_must_be_spelled_as_one(sqlite_api, spelling):
    shop = sqlite_api.merchant()
    answer = shop.client.get("/api/bulk-generation/runs", params={"limit": spelling})
    assert _problem(answer)["field"] == "limit"


def test_a_query_integer_spelled_as_one_is_accepted(sqlite_api):
    shop = sqlite_api.merchant()
    for limit in ("5", "100", "1"):
        assert shop.client.get("/api/bulk-generation/runs", params={"limit": limit}).is_success
    assert _problem(shop.client.get("/api/bulk-generation/runs?limit=101"))["field"] == "limit"
