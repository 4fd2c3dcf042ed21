"""`bulkgen analytics export` and `bulkgen analytics report` on the embedded default: runs made
with `bulkgen run` (in-process, no daemon) are in the export the next time it is asked for."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd

from bulkgen_pipeline.analytics.synthetic import SyntheticPlan, synthetic_analytics
from tests.cli_support import EXAMPLES, bulkgen


def older_runs(home: Path) -> list[dict]:
    """Runs settled before analytics existed: only their analytics.json is in the store."""
    rng = random.Random(3)
    docs = []
    for i, category in enumerate(["bags", "mugs", "bags"]):
        doc = synthetic_analytics(
            SyntheticPlan(category=category, generation_count=4),
            rng,
            run_id=f"old-{i}",
            preset_id="old-preset",
        )
        doc["created_at"] = f"2025-0{i + 1}-15T12:00:00+00:00"
        path = home / "storage" / "prompt_history" / "old-preset" / f"old-{i}" / "analytics.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc))
        docs.append(doc)
    return docs


def test_export_and_report_include_runs_made_in_process(home, tmp_path):
    docs = older_runs(home)
    code, exported = bulkgen("analytics", "export", "--out", str(tmp_path / "all.parquet"))
    assert code == 0 and exported["runs"] == 3
    frame = pd.read_parquet(tmp_path / "all.parquet")
    # Every resolved attribute of every generation is a row (none of these values is empty).
    rows = sum(len(g["resolved_attributes"]) for d in docs for g in d["generation_results"])
    assert len(frame) == exported["rows"] == rows

    code, user = bulkgen("users", "create", "--name", "Shop", "--credits", "20")
    code, preset = bulkgen(
        "presets",
        "create",
        "--user",
        user["user_id"],
        "--file",
        str(EXAMPLES / "professional_bags.json"),
    )
    code, run = bulkgen(
        "run", "--user", user["user_id"], "--preset", preset["preset_id"], "--count", "3"
    )
    assert code == 0 and run["status"] == "completed"

    # No daemon ran: the export itself brings the facts up to date first.
    code, exported = bulkgen(
        "analytics",
        "export",
        "--out",
        str(tmp_path / "bags.csv"),
        "--category",
        "bags",
        "--since",
        "2025-02-01",
    )
    assert code == 0
    frame = pd.read_csv(tmp_path / "bags.csv")
    assert set(frame["run_id"]) == {"old-2", run["job_id"]}  # old-0 is from January
    fresh = frame[frame["run_id"] == run["job_id"]]
    assert sorted(fresh["generation_index"].unique()) == [1, 2, 3]
    assert set(fresh.loc[fresh["attribute"] == "material", "value"]) == {"leather"}
    assert set(fresh["status"]) == {"succeeded"} and set(fresh["provider"]) == {"local"}

    code, report = bulkgen("analytics", "report", "--out", str(tmp_path / "report"))
    assert code == 0 and report["runs"] == 4 and report["charts"] > 0
    page = Path(report["report"]).read_text()
    assert page.startswith("<!DOCTYPE html>") and "4 runs" in page
    assert (home / "storage" / "analytics" / "generation_facts.parquet").exists()


def test_bad_options_are_refused_naming_the_field(home, tmp_path):
    code, answer = bulkgen("analytics", "export", "--out", str(tmp_path / "facts.xlsx"))
    assert code == 1 and answer["problems"][0]["field"] == "--out"
    code, answer = bulkgen(
        "analytics", "export", "--out", str(tmp_path / "f.csv"), "--since", "last tuesday"
    )
    assert code == 1 and answer["problems"][0]["field"] == "--since"
    (tmp_path / "taken").write_text("a file")
    code, answer = bulkgen("analytics", "report", "--out", str(tmp_path / "taken"))
    assert code == 1 and answer["problems"][0]["field"] == "--out"


def test_no_refresh_reads_the_store_without_the_dagster_instance(home, tmp_path):
    from bulkgen_pipeline.analytics import dataset
    from bulkgen_pipeline.storage import LocalObjectStore

    older_runs(home)
    dataset.rebuild_facts(LocalObjectStore(home / "storage"))
    code, exported = bulkgen(
        "analytics", "export", "--out", str(tmp_path / "f.parquet"), "--no-refresh"
    )
    assert code == 0 and exported["runs"] == 3
    assert not (home / "dagster_home").exists()  # nothing touched the instance
