"""Templates: a prompt batch kept once and started again by id, each start checked and
reserved like any; another merchant's template is 404; a malformed batch names its field."""

from __future__ import annotations

BATCH = {
    "name": "Spring launch",
    "prompts": [{"text": "A red tote on white"}, {"text": "A blue tote on white", "seed": 7}],
    "shared_settings": {"dimensions": {"aspect_ratio": "1:1"}},
}


def test_a_template_is_kept_listed_started_twice_and_deleted(sqlite_api):
    shop = sqlite_api.merchant(credits=10)
    made = shop.client.post("/api/templates", json=BATCH)
    assert made.status_code == 201, made.text
    template = made.json()
    assert template["name"] == "Spring launch" and len(template["batch"]["prompts"]) == 2
    listed = shop.client.get("/api/templates").json()["templates"]
    assert [t["template_id"] for t in listed] == [template["template_id"]]

    url = f"/api/templates/{template['template_id']}/start"
    first = shop.client.post(url, json={})
    second = shop.client.post(url, json={"priority": "high"})
    assert (first.status_code, second.status_code) == (202, 202), second.text
    assert first.json()["estimated_credits"] == 2
    assert sorted(sqlite_api.run_queued()) == sorted(
        [first.json()["job_id"], second.json()["job_id"]]
    )
    status = shop.client.get(first.json()["status_url"]).json()
    assert (status["status"], status["kind"], status["completed_images"]) == (
        "completed",
        "prompt_batch",
        2,
    )
    assert shop.client.get("/api/me").json()["credits"]["balance"] == 6

    assert shop.client.delete(f"/api/templates/{template['template_id']}").status_code == 200
    assert shop.client.post(url, json={}).status_code == 404
    assert shop.client.get("/api/templates").json()["templates"] == []


def test_templates_are_the_merchant_s_own_and_checked_like_a_batch(sqlite_api):
    owner, other = sqlite_api.merchant(credits=10), sqlite_api.merchant(name="Other")
    template_id = owner.client.post("/api/templates", json=BATCH).json()["template_id"]
    assert other.client.post(f"/api/templates/{template_id}/start", json={}).status_code == 404
    assert other.client.delete(f"/api/templates/{template_id}").status_code == 404
    assert other.client.get("/api/templates").json()["templates"] == []

    bad = owner.client.post("/api/templates", json={"prompts": [{"text": ""}]})
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["field"] == "prompts.0.text"
    poor = sqlite_api.merchant(credits=1)
    mine = poor.client.post("/api/templates", json=BATCH).json()["template_id"]
    refused = poor.client.post(f"/api/templates/{mine}/start", json={})
    assert refused.status_code == 402 and "2 needed, 1 available" in refused.json()["detail"]
