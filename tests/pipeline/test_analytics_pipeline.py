"""generation_facts and randomization_report over real runs: materialized bulk runs in, Parquet
facts and report.html out, kept current as runs settle (and settle again after retry-failed)."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from bulkgen_pipeline import db
from bulkgen_pipeline.analytics.dataset import SNAPSHOT_KEY, run_file_versions
from bulkgen_pipeline.analytics.facts import facts_key
from bulkgen_pipeline.analytics.publish import REPORT_KEY
from bulkgen_pipeline.assets.analytics import ANALYTICS_ASSETS, CURSOR, FACTS
from bulkgen_pipeline.domain.requests import preset_request
from bulkgen_pipeline.runs.control import retry_failed
from bulkgen_pipeline.sensors.analytics import settled_runs_to_analytics

from .conftest import ScriptedImages


def refresh(d) -> dg.ExecuteInProcessResult:
    result = dg.materialize(ANALYTICS_ASSETS, instance=d.instance, resources=d.resources())
    assert result.success
    return result


def facts_of(d) -> pd.DataFrame:
    folder = d.store.location("analytics/generation_facts")
    return pd.read_parquet(folder)


def prompts_of(d, run_id: str) -> list[str]:
    with d.database.session() as session:
        snapshot = db.get_job(session, run_id).preset_snapshot
    return [g.prompt for g in preset_request(snapshot["body"]).resolve(run_seed=run_id).generations]


def test_facts_and_report_follow_settled_runs_and_replace_a_resettled_run(
    local_deployment, scripted_calls
):
    d = local_deployment
    user = d.user(credits=40)
    preset = d.preset(user, color_palette=["#FF0000", "#000000"], color_strategy="random")
    first = d.queue(user, preset, count=6)
    assert d.materialize(first).success
    second = d.queue(user, preset, count=5)
    doomed = prompts_of(d, second)[1:3]  # generations 2 and 3 of the second run fail
    assert d.materialize(second, images=ScriptedImages(fail_prompts=doomed)).success

    result = refresh(d)
    facts = facts_of(d)
    # One row per (run, generation, attribute): the bags preset has 12 attributes with a model.
    assert facts.groupby("run_id", observed=True)["generation_index"].nunique().to_dict() == {
        first: 6,
        second: 5,
    }
    assert not facts.duplicated(["run_id", "generation_index", "attribute"]).any()
    row = facts[(facts["run_id"] == first) & (facts["attribute"] == "material")].iloc[0]
    assert (row["value"], row["source"], row["preset_id"]) == ("leather", "user", preset)
    colour = facts[(facts["run_id"] == first) & (facts["attribute"] == "color")]
    assert set(colour["source"]) == {"distributed"} and set(colour["strategy"]) == {"random"}
    assert set(facts.loc[facts["attribute"] == "type", "source"]) == {"random"}
    assert str(facts["created_at"].dtype) == "datetime64[ms, UTC]"
    assert isinstance(facts["attribute"].dtype, pd.CategoricalDtype)
    failed = facts[(facts["run_id"] == second) & (facts["status"] == "failed")]
    assert sorted(failed["generation_index"].unique()) == [2, 3]
    assert failed["failure_reason"].str.contains("refuses").all()
    made = facts[(facts["run_id"] == first)]
    assert set(made["provider"]) == {"local"} and made["latency_s"].notna().all()

    report = d.store.get_bytes(REPORT_KEY).decode()
    assert "11 generations" in report and "2 runs" in report
    materialization = result.asset_materializations_for_node("generation_facts")[0]
    assert materialization.metadata["runs"].value == 2
    assert materialization.metadata["dagster/row_count"].value == len(facts)

    # retry-failed: a second pass makes the two lost images and settles the run again.
    retry_failed(d.database, user_id=user, run_id=second)
    assert d.materialize(second, images=ScriptedImages()).success
    result = refresh(d)
    again = facts_of(d)
    assert len(again) == len(facts)  # replaced, not appended
    assert not again.duplicated(["run_id", "generation_index", "attribute"]).any()
    assert set(again.loc[again["run_id"] == second, "status"]) == {"succeeded"}
    assert (
        result.asset_materializations_for_node("generation_facts")[0].metadata["runs_updated"].value
        == 1
    )  # only the re-settled run was rewritten
    snapshot = pd.read_parquet(d.store.location(SNAPSHOT_KEY))
    assert len(snapshot) == len(again)
    assert set(snapshot.loc[snapshot["run_id"] == second, "status"]) == {"succeeded"}
    assert "11 generations" in d.store.get_bytes(REPORT_KEY).decode()


def test_the_sensor_asks_for_a_refresh_once_per_batch_of_settlements(local_deployment):
    d = local_deployment
    user = d.user(credits=20)
    preset = d.preset(user)

    def tick(cursor: str | None):
        context = dg.build_sensor_context(instance=d.instance, cursor=cursor)
        return settled_runs_to_analytics(context), context.cursor

    result, cursor = tick(None)
    assert isinstance(result, dg.SkipReason)  # nothing settled yet

    run_id = d.queue(user, preset, count=2)
    assert d.materialize(run_id).success
    request, cursor = tick(None)
    assert isinstance(request, dg.RunRequest) and cursor
    skipped, same = tick(cursor)
    assert isinstance(skipped, dg.SkipReason) and same == cursor

    other = d.queue(user, preset, count=2)
    assert d.materialize(other).success
    request, newer = tick(cursor)
    assert isinstance(request, dg.RunRequest) and int(newer) > int(cursor)
    assert request.run_key != f"settled-{cursor}"


def test_generation_facts_only_reads_runs_settled_since_its_last_refresh(local_deployment):
    d = local_deployment
    user = d.user(credits=20)
    preset = d.preset(user)
    first = d.queue(user, preset, count=2)
    assert d.materialize(first).success
    refresh(d)
    event = d.instance.get_latest_materialization_event(FACTS)
    cursor = event.asset_materialization.metadata[CURSOR].value

    # A run's facts file is left alone unless that run settles again (its version is its
    # modification time and size: any rewrite changes it).
    before = run_file_versions(d.store)[facts_key(first)]
    second = d.queue(user, preset, count=3)
    assert d.materialize(second).success
    result = refresh(d)
    metadata = result.asset_materializations_for_node("generation_facts")[0].metadata
    assert metadata["runs_updated"].value == 1 and metadata[CURSOR].value > cursor
    assert run_file_versions(d.store)[facts_key(first)] == before
    assert set(facts_of(d)["run_id"]) == {first, second}
