"""generation_facts: analytics.json (as build_analytics writes it) to typed Parquet rows, one
file per run, replaced on re-settlement, read back in one line from a folder or from S3."""

from __future__ import annotations

import json
import random

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from bulkgen_pipeline.analytics import dataset
from bulkgen_pipeline.analytics.facts import (
    FACTS_SCHEMA,
    AnalyticsDocumentError,
    facts_key,
    parse_pool,
    run_facts,
)
from bulkgen_pipeline.analytics.randomization import drop_replays
from bulkgen_pipeline.analytics.synthetic import SyntheticPlan, synthetic_analytics
from bulkgen_pipeline.domain.layout import RunLayout, size_labels
from bulkgen_pipeline.domain.requests import batch_request, preset_request
from bulkgen_pipeline.inspection import Looks
from bulkgen_pipeline.inspection.colour import ColourMeasure
from bulkgen_pipeline.runs.image_checks import ImageFindings
from bulkgen_pipeline.runs.packaging import GenerationOutcome, RunContext, build_analytics
from bulkgen_pipeline.storage import LocalObjectStore, open_object_store
from bulkgen_pipeline.storage.retrying import RetryingStore

PRESET = {
    "name": "Professional Bags",
    "category": "bags",
    "config": {
        "type": "__RANDOM__",
        "material": "leather",
        "use_model": True,
        "model_attributes": {"model_sex": "Female"},
        "color_palette": ["#FF0000", "#000000", "#FF0000"],
        "color_strategy": "random",
        "sampling": "balanced",
        "generation_count": 6,
    },
}


def real_analytics(body=PRESET, *, run_id="run-1", outcomes=None, batch=False) -> dict:
    """analytics.json exactly as the run_analytics asset writes it."""
    request = batch_request(body) if batch else preset_request(body)
    resolution = request.resolve_images(run_seed=run_id)
    snapshot = request.snapshot()["body"]
    preset_id = None if batch else "preset-1"
    layout = RunLayout("user-1", request.category, run_id, preset_id, size_labels(request.sizes))
    run = RunContext(layout, request.name, snapshot.get("config", snapshot))
    specs = resolution.generations
    if outcomes is None:
        outcomes = [
            GenerationOutcome(s.generation, True, "local", "preview-1", 1, None, 0.5) for s in specs
        ]
    looks = {
        s.generation: Looks(
            f"{s.seed % 2**64:016x}",
            ColourMeasure(s.config["color"], s.config["color"], 1.5, 0.3)
            if s.config.get("color")
            else None,
        )
        for s in specs
        if any(o.generation == s.generation and o.succeeded for o in outcomes)
    }
    findings = ImageFindings(6, looks)
    return build_analytics(run, specs, outcomes, resolution.summary(), findings)


def test_each_generation_gives_one_typed_row_per_attribute_with_who_chose_it():
    document = real_analytics(
        outcomes=[
            GenerationOutcome(1, True, "replicate", "flux", 2, None, 3.25),
            GenerationOutcome(2, False, None, None, 3, "replicate safety filter blocked it"),
            GenerationOutcome(3, False, error="not generated: the run was cancelled"),
        ]
    )
    frame = run_facts(document).to_pandas()
    assert run_facts(document).schema == FACTS_SCHEMA
    # bags: 6 attributes + 3 model attributes + background + colour + use_model
    assert frame.groupby("generation_index").size().tolist() == [12] * 6
    by = frame.set_index(["generation_index", "attribute"])
    assert by.loc[(1, "material"), "source"] == "user"
    assert by.loc[(1, "model_sex"), "value"] == "Female"
    assert by.loc[(1, "type"), "source"] == "random"
    assert by.loc[(1, "type"), "strategy"] == "balanced"
    assert json.loads(by.loc[(1, "type"), "drawn_from"])[0] == "tote bag"
    assert pd.isna(by.loc[(1, "material"), "drawn_from"])
    colour = by.loc[(1, "color")]
    assert (colour["source"], colour["strategy"]) == ("distributed", "random")
    assert parse_pool(colour["drawn_from"]) == {"#FF0000": 2 / 3, "#000000": 1 / 3}
    assert by.loc[(1, "use_model"), "value"] == "true"
    assert (by.loc[(1, "type"), "provider"], by.loc[(1, "type"), "model"]) == ("replicate", "flux")
    assert by.loc[(1, "type"), "attempts"] == 2
    assert by.loc[(1, "type"), "latency_s"] == pytest.approx(3.25)
    assert by.loc[(2, "type"), "status"] == "failed"
    assert "safety" in by.loc[(2, "type"), "failure_reason"]
    assert by.loc[(3, "type"), "status"] == "not_generated"
    assert by.loc[(4, "type"), "status"] == "failed"  # no outcome at all is a failure
    assert str(frame["created_at"].dtype) == "datetime64[ms, UTC]"
    assert isinstance(frame["value"].dtype, pd.CategoricalDtype)
    assert set(frame["run_seed"]) == {"run-1"} and set(frame["generation_count"]) == {6}


def test_a_single_palette_colour_is_the_merchants_choice_and_batches_keep_only_seeds():
    single = {**PRESET, "config": {**PRESET["config"], "color_palette": ["#00FF00"]}}
    frame = run_facts(real_analytics(single)).to_pandas()
    colour = frame[frame["attribute"] == "color"]
    assert set(colour["source"]) == {"user"} and set(colour["value"]) == {"#00FF00"}

    batch = {"variations": {"prompt": {"text": "A red bag"}, "count": 3}}
    frame = run_facts(real_analytics(batch, batch=True)).to_pandas()
    assert sorted(frame["attribute"].unique()) == ["mode", "seed"]
    seeds = frame[frame["attribute"] == "seed"]
    assert set(seeds["source"]) == {"random"} and set(seeds["strategy"]) == {"batch"}
    assert seeds["drawn_from"].isna().all() and set(frame["category"]) == {"custom"}


def test_a_run_in_two_sizes_has_a_row_set_per_image_but_counts_each_draw_once():
    sizes = [{"aspect_ratio": "1:1"}, {"aspect_ratio": "16:9"}]
    two = {**PRESET, "config": {**PRESET["config"], "dimensions": sizes}}
    frame = run_facts(real_analytics(two)).to_pandas()
    assert set(frame["generation_count"]) == {6}  # generations, not the 12 images
    assert frame.groupby(["generation_index", "size"], observed=True).size().tolist() == [12] * 12
    one = run_facts(real_analytics()).to_pandas()
    assert one["size"].isna().all()
    draws, _ = drop_replays(frame)
    drawn = draws[["generation_index", "attribute", "value"]].astype(str)
    expected = one[["generation_index", "attribute", "value"]].astype(str)
    # The same run seed draws the same values whatever the sizes: once per generation.
    assert drawn.sort_values(list(drawn)).values.tolist() == (
        expected.sort_values(list(expected)).values.tolist()
    )


def test_synthetic_documents_have_the_shape_build_analytics_writes():
    real = real_analytics()
    synthetic = synthetic_analytics(SyntheticPlan(generation_count=3), random.Random(1))
    assert set(synthetic) == set(real)
    assert set(synthetic["generation_results"][0]) == set(real["generation_results"][0])
    assert set(synthetic["random_pools"]["type"]) == set(real["random_pools"]["type"])
    assert run_facts(synthetic).schema == run_facts(real).schema
    facts = run_facts(real).to_pandas()
    colour = facts[facts["attribute"] == "color"]
    assert colour["colour_adherent"].all() and (colour["colour_delta_e"] == 1.5).all()
    assert facts["perceptual_hash"].notna().all() and set(facts["near_duplicate_bits"]) == {6}


def test_an_unreadable_analytics_file_is_named():
    document = real_analytics()
    del document["generation_results"][1]["attribute_resolution"]
    with pytest.raises(AnalyticsDocumentError, match=r"generation_results\[1\]"):
        run_facts(document)
    with pytest.raises(AnalyticsDocumentError, match="job_id"):
        run_facts({"category": "bags", "generation_results": []})


def documents(count: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    return [
        synthetic_analytics(
            SyntheticPlan(category="bags" if i % 2 else "mugs", generation_count=4),
            rng,
            run_id=f"run-{i}",
            preset_id=f"preset-{i % 3}",
        )
        for i in range(count)
    ]


def store_documents(store, docs) -> None:
    for doc in docs:
        key = f"prompt_history/{doc['preset_id']}/{doc['job_id']}/analytics.json"
        store.put_bytes(key, json.dumps(doc).encode())


# The analytics assets write through the retrying wrapper: refreshes must stay incremental there.
@pytest.mark.parametrize("retrying", [False, True], ids=["local", "retrying"])
def test_runs_are_added_and_replaced_one_file_each_and_the_snapshot_follows(tmp_path, retrying):
    store = LocalObjectStore(tmp_path)
    store = RetryingStore(store, 0) if retrying else store
    docs = documents(5)
    store_documents(store, docs)
    rebuilt = dataset.rebuild_facts(store)
    assert rebuilt.runs == 5 and rebuilt.rows == sum(run_facts(d).num_rows for d in docs)
    folder = tmp_path / "analytics" / "generation_facts"
    assert sorted(p.name for p in folder.iterdir()) == [f"run-{i}.parquet" for i in range(5)]

    # A new run: one more file; the snapshot re-reads only that file.
    extra = documents(6)[5]
    store_documents(store, [extra])
    dataset.update_run(store, f"prompt_history/{extra['preset_id']}/run-5/analytics.json")
    refreshed = dataset.refresh_snapshot(store)
    assert (refreshed.reread, refreshed.runs, refreshed.written) == (1, 6, True)

    # The run settled again with a failure: its rows are replaced, never added to.
    extra["generation_results"][0]["outcome"] = "failed"
    dataset.write_run_facts(store, extra)
    refreshed = dataset.refresh_snapshot(store)
    assert refreshed.reread == 1
    facts = pd.read_parquet(folder)  # the one-line recipe
    snapshot = pd.read_parquet(tmp_path / "analytics" / "generation_facts.parquet")
    for frame in (facts, snapshot, refreshed.table.to_pandas()):
        assert len(frame) == rebuilt.rows + run_facts(extra).num_rows
        assert not frame.duplicated(["run_id", "generation_index", "attribute"]).any()
        first = frame[(frame["run_id"] == "run-5") & (frame["generation_index"] == 1)]
        assert set(first["status"]) == {"failed"}

    # Nothing changed: the snapshot is served as it is.
    assert dataset.refresh_snapshot(store).reread == 0
    # A run whose facts file is gone drops out of the snapshot too.
    store.delete(facts_key("run-0"))
    refreshed = dataset.refresh_snapshot(store)
    assert refreshed.dropped == 1 and "run-0" not in set(refreshed.table["run_id"].to_pylist())


def test_rebuild_drops_facts_of_runs_whose_analytics_are_gone(tmp_path):
    store = LocalObjectStore(tmp_path)
    store_documents(store, documents(3))
    dataset.rebuild_facts(store)
    store.delete("prompt_history/preset-1/run-1/analytics.json")
    result = dataset.rebuild_facts(store)
    assert (result.runs, result.removed) == (2, 1)
    assert not store.exists(facts_key("run-1"))


def test_export_filters_by_category_and_time_and_writes_parquet_and_csv(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    docs = documents(4)
    for i, doc in enumerate(docs):
        doc["created_at"] = f"2025-0{i + 1}-01T00:00:00+00:00"
    store_documents(store, docs)
    dataset.rebuild_facts(store)
    table = dataset.refresh_snapshot(store).table
    from datetime import datetime

    chosen = dataset.select_facts(table, category="bags", since=datetime(2025, 2, 15))
    frame = dataset.to_frame(chosen)
    assert set(frame["run_id"]) == {"run-3"}  # bags are the odd runs; run-1 is from January
    dataset.write_export(frame, str(tmp_path / "out.parquet"))
    dataset.write_export(frame, str(tmp_path / "out.csv"))
    back = pd.read_parquet(tmp_path / "out.parquet")
    assert len(back) == len(frame) and isinstance(back["value"].dtype, pd.CategoricalDtype)
    assert len(pd.read_csv(tmp_path / "out.csv")) == len(frame)
    with pytest.raises(ValueError, match=r"\.parquet or \.csv"):
        dataset.write_export(frame, str(tmp_path / "out.xlsx"))


README_DUCKDB_QUERY = """
SELECT attribute, value, count(*) AS draws
FROM read_parquet('{folder}/*.parquet')
WHERE category = 'bags' AND source = 'random'
GROUP BY attribute, value
ORDER BY attribute, draws DESC
"""


def test_the_readme_duckdb_query_counts_the_draws(tmp_path):
    store = LocalObjectStore(tmp_path)
    docs = documents(4)
    store_documents(store, docs)
    dataset.rebuild_facts(store)
    folder = tmp_path / "analytics" / "generation_facts"
    rows = duckdb.sql(README_DUCKDB_QUERY.format(folder=folder)).fetchall()
    expected: dict[tuple[str, str], int] = {}
    for doc in docs:
        if doc["category"] != "bags":
            continue
        for generation in doc["generation_results"]:
            drawn = generation["attribute_resolution"]["randomly_selected"]
            for name, value in drawn.items():
                if name != "color":
                    expected[(name, value)] = expected.get((name, value), 0) + 1
    assert {(a, v): n for a, v, n in rows} == expected


@pytest.mark.s3
def test_the_same_facts_live_in_s3(s3_client, s3_bucket, tmp_path):
    store = open_object_store(s3_bucket, s3_client=s3_client)
    docs = documents(3)
    store_documents(store, docs)
    rebuilt = dataset.rebuild_facts(store)
    assert rebuilt.runs == 3
    versions = dataset.run_file_versions(store)
    assert set(versions) == {facts_key(f"run-{i}") for i in range(3)}
    assert all(versions.values())  # ETags: the snapshot refresh stays incremental on S3
    assert dataset.refresh_snapshot(store).reread == 0
    docs[1]["generation_results"][0]["outcome"] = "failed"
    dataset.write_run_facts(store, docs[1])
    refreshed = dataset.refresh_snapshot(store, write=False)
    assert refreshed.reread == 1 and not refreshed.written
    frame = refreshed.table.to_pandas()
    assert len(frame) == rebuilt.rows
    row = frame[(frame["run_id"] == "run-1") & (frame["generation_index"] == 1)]
    assert set(row["status"]) == {"failed"}
    local = tmp_path / "run-1.parquet"
    local.write_bytes(store.get_bytes(facts_key("run-1")))
    assert pq.read_table(local).schema == FACTS_SCHEMA
