"""generation_facts and randomization_report: the data team's view across every run.

Thin adapters over `bulkgen_pipeline.analytics`. Which runs changed comes from the Dagster
event log: every materialization of `run_settlement` (a run settled, or settled again after
retry-failed) since the last one generation_facts handled, however the run was launched
(daemon, CLI in-process, UI).
"""

import dagster as dg

from .. import db
from ..domain.layout import RunLayout
from ..resources.database import DatabaseResource
from ..resources.object_store import ObjectStoreResource
from ..runs.control import find_owned_job
from ..runs.errors import NotFound
from ..storage.base import ObjectNotFound

ANALYTICS_GROUP = "analytics"
SETTLEMENT = dg.AssetKey("run_settlement")
FACTS = dg.AssetKey("generation_facts")
CURSOR = "settlement_cursor"  # metadata: the last run_settlement event generation_facts handled
_PAGE = 1000


def latest_settlement_id(instance: dg.DagsterInstance) -> int | None:
    """Storage id of the newest run_settlement materialization, if any run has settled."""
    result = instance.fetch_materializations(SETTLEMENT, limit=1)
    return result.records[0].storage_id if result.records else None


def settled_runs(instance: dg.DagsterInstance, after: int, up_to: int) -> list[str]:
    """Run ids settled in (after, up_to], oldest first, each once."""
    run_ids: dict[str, None] = {}
    cursor = None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=SETTLEMENT, after_storage_id=after, before_storage_id=up_to + 1
            ),
            limit=_PAGE,
            cursor=cursor,
            ascending=True,
        )
        for record in result.records:
            if record.partition_key:
                run_ids[record.partition_key] = None
        if not result.has_more:
            return list(run_ids)
        cursor = result.cursor


def handled_cursor(instance: dg.DagsterInstance) -> int | None:
    """The settlement cursor of generation_facts' latest materialization (None: never built)."""
    event = instance.get_latest_materialization_event(FACTS)
    materialization = event.asset_materialization if event else None
    if materialization is None or CURSOR not in materialization.metadata:
        return None
    return int(materialization.metadata[CURSOR].value)  # type: ignore[arg-type]


def analytics_key(database: db.Database, run_id: str) -> str | None:
    try:
        return RunLayout.of(find_owned_job(database, None, run_id)).analytics_key
    except NotFound:
        return None


@dg.asset(
    group_name=ANALYTICS_GROUP,
    deps=[SETTLEMENT],
    kinds={"parquet"},
    description="One row per run, generation and attribute: what was drawn at random, what the "
    "merchant fixed, and what became of the image (Parquet, one file per run).",
)
def generation_facts(
    context: dg.AssetExecutionContext, database: DatabaseResource, object_store: ObjectStoreResource
) -> dg.MaterializeResult:
    """Every settled run's facts; each refresh rewrites only the runs settled since the last."""
    # Imported here: pandas, pyarrow and scipy take seconds to load, which every bulk run's
    # worker would otherwise pay before its first image, as it loads these definitions too.
    from ..analytics import dataset
    from ..analytics.facts import FACTS_PREFIX

    store = object_store.get_run_store()
    latest = latest_settlement_id(context.instance)
    previous = handled_cursor(context.instance)
    missing: list[str] = []
    if previous is None:
        # First build (or the event log was wiped): every analytics.json in the store.
        rebuilt = dataset.rebuild_facts(store)
        updated, runs, rows = rebuilt.runs, rebuilt.runs, rebuilt.rows
    else:
        run_ids = settled_runs(context.instance, previous, latest) if latest else []
        database_ = database.get_database()
        for run_id in run_ids:
            key = analytics_key(database_, run_id)
            try:
                if key is None:
                    raise ObjectNotFound(run_id)
                dataset.update_run(store, key)
            except ObjectNotFound:
                missing.append(run_id)
        if missing:
            context.log.warning(f"No analytics.json for settled run(s): {', '.join(missing)}")
        updated = len(run_ids) - len(missing)
        refreshed = dataset.refresh_snapshot(store)
        runs, rows = refreshed.runs, refreshed.table.num_rows
    return dg.MaterializeResult(
        metadata={
            CURSOR: latest if latest is not None else (previous or 0),
            "runs_updated": updated,
            "runs_without_analytics": len(missing),
            "runs": runs,
            "dagster/row_count": rows,
            "facts_folder": store.location(FACTS_PREFIX.rstrip("/")),
            "facts_snapshot": store.location(dataset.SNAPSHOT_KEY),
        }
    )


@dg.asset(
    group_name=ANALYTICS_GROUP,
    deps=[generation_facts],
    kinds={"html"},
    description="How randomization turned out across every run: value frequencies against the "
    "strategy, balance, uniqueness, colours, failure rate by value, providers.",
)
def randomization_report(
    context: dg.AssetExecutionContext, object_store: ObjectStoreResource
) -> dg.MaterializeResult:
    """The randomization report: statistics as tables here, charts in analytics/report.html."""
    from ..analytics import dataset  # imported here: see generation_facts
    from ..analytics.markdown import summary_markdown
    from ..analytics.publish import publish_report

    store = object_store.get_run_store()
    # Test-mode keys' runs are left out: they show the preview renderer, not merchants' runs.
    facts = dataset.to_frame(dataset.select_facts(dataset.refresh_snapshot(store).table))
    published = publish_report(store, facts)
    report = published.report
    tests = report.frequencies.tests
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.url(store.download_url(published.key)),
            "report_location": store.location(published.key),
            "runs": report.runs,
            "generations": report.generations,
            "charts": len(published.charts),
            "flagged_attributes": len(report.flagged_attributes),
            "flagged_values": len(report.flagged_values),
            "flagged_failure_values": len(report.flagged_failure_values),
            "summary": dg.MetadataValue.md(summary_markdown(report)),
            "attribute_tests": _table(
                tests,
                {
                    "category": "string",
                    "attribute": "string",
                    "strategy": "string",
                    "runs": "int",
                    "picks": "int",
                    "chi2": "float",
                    "dof": "int",
                    "p_value": "float",
                    "p_adjusted": "float",
                    "flagged": "bool",
                },
            ),
            "fixed_or_random": _table(
                report.fixed_or_random,
                {
                    "category": "string",
                    "attribute": "string",
                    "presets": "int",
                    "fixed": "int",
                    "random": "int",
                    "share_random": "float",
                },
            ),
            "providers": _table(
                report.providers.table,
                {
                    "provider": "string",
                    "model": "string",
                    "generations": "int",
                    "success_rate": "float",
                    "attempts_mean": "float",
                    "latency_p50_s": "float",
                    "latency_p95_s": "float",
                },
            ),
        }
    )


_CASTS = {"int": int, "float": float, "bool": bool, "string": str}


def _table(frame, columns: dict[str, str]) -> dg.TableMetadataValue:
    records = [
        dg.TableRecord(
            {
                # NaN (a p-value that could not be computed, a latency of no image) shows empty.
                name: _CASTS[kind](value) if value == value and value is not None else None
                for (name, kind), value in zip(columns.items(), row, strict=True)
            }
        )
        for row in frame[list(columns)].itertuples(index=False, name=None)
    ]
    schema = dg.TableSchema(columns=[dg.TableColumn(name, kind) for name, kind in columns.items()])
    return dg.MetadataValue.table(records, schema=schema)


ANALYTICS_ASSETS = [generation_facts, randomization_report]
