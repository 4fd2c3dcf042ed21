"""GET /api/bulk-generation/jobs/{id}/looks: what a run's pictures were found to be, for the
merchant's own runs only."""

from __future__ import annotations


def test_a_run_s_looks_over_http_and_another_merchant_s_are_404(sqlite_api):
    shop = sqlite_api.merchant(credits=20)
    preset_id = shop.preset(generation_count=3, color_palette=["#C00000", "#1A2B3C"])
    job_id = shop.start(preset_id).json()["job_id"]
    url = f"/api/bulk-generation/jobs/{job_id}/looks"
    assert shop.client.get(url).json() == {
        "looked_at": False,
        "near_duplicate_bits": None,
        "near_duplicates": [],
        "colour_adherence": None,
        "images": {},
    }
    assert sqlite_api.run_queued() == [job_id]
    looks = shop.client.get(url).json()
    assert looks["looked_at"] is True and looks["near_duplicates"] == []
    assert looks["colour_adherence"]["measured"] == 3 and looks["colour_adherence"]["share"] == 1.0
    assert sorted(looks["images"]) == ["1", "2", "3"]
    assert looks["images"]["2"]["colour"]["requested"] == "#1A2B3C"  # cycling: the second
    assert len(looks["images"]["1"]["perceptual_hash"]) == 16
    other = sqlite_api.merchant(credits=5, name="Other")
    assert other.client.get(url).status_code == 404
    assert shop.client.get("/api/bulk-generation/jobs/not-a-uuid/looks").status_code == 422
