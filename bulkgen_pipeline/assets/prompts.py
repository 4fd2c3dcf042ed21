"""resolved_prompts: the preset as queued, resolved into one prompt per generation."""

import json

import dagster as dg

from .. import db
from ..domain.grammar import grammar_problems
from ..domain.requests import PRESET, request_from_snapshot
from ..domain.schema import load_category_schema
from ..resources.database import DatabaseResource
from ..resources.object_store import ObjectStoreResource
from .common import leased, load_run, load_specs
from .partitions import bulk_run_partitions

UNIQUE_CHECK = "prompts_unique"
GRAMMAR_CHECK = "prompts_grammatical"


@dg.asset(
    partitions_def=bulk_run_partitions,
    group_name="bulk_generation",
    check_specs=[
        dg.AssetCheckSpec(
            UNIQUE_CHECK, asset="resolved_prompts", description="No two generations share a prompt"
        ),
        dg.AssetCheckSpec(
            GRAMMAR_CHECK,
            asset="resolved_prompts",
            description="Every preset prompt passes the grammar rules",
        ),
    ],
    kinds={"python"},
)
@leased
def resolved_prompts(
    context: dg.AssetExecutionContext, database: DatabaseResource, object_store: ObjectStoreResource
) -> dg.MaterializeResult:
    """One prompt per generation: every __RANDOM__ resolved, every user value kept."""
    run_id = context.partition_key
    store = object_store.get_run_store()
    loaded = load_run(database.get_database(), run_id)
    layout = loaded.layout
    if not store.exists(layout.resolved_prompts_key):
        request = request_from_snapshot(loaded.job.preset_snapshot)
        result = request.resolve(run_seed=run_id)
        document = {
            "kind": request.kind,
            "resolution": result.summary(),
            "generations": [g.to_dict() for g in result.generations],
        }
        store.put_bytes(
            layout.resolved_prompts_key, json.dumps(document, indent=2).encode(), "application/json"
        )
    else:
        context.log.info("Reusing the prompts resolved by an earlier attempt of this run")
    specs, summary = load_specs(store, layout)
    with database.get_database().session() as session:
        db.mark_job_processing(
            session, run_id, context.run_id, lease_seconds=database.lease_seconds
        )

    prompts = [spec.prompt for spec in specs]
    duplicates = len(prompts) - len(set(prompts))
    grammar = {}
    if loaded.job.kind == PRESET:
        attributes = list(load_category_schema().attributes(layout.category))
        for spec in specs:
            problems = grammar_problems(spec.prompt, spec.config, attributes=attributes)
            if problems:
                grammar[spec.generation] = problems
    for note in summary["notes"]:
        context.log.warning(note)
    return dg.MaterializeResult(
        metadata={
            "generations": len(specs),
            "random_attributes": ", ".join(summary["random_attributes"]) or "(none)",
            "combination_space": summary["combination_space"],
            "distinct_combinations": summary["distinct_combinations"],
            "seed": str(summary["seed"]),
            "prompts": dg.MetadataValue.md(_prompt_table(specs)),
            "object_key": store.location(layout.resolved_prompts_key),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=UNIQUE_CHECK,
                passed=duplicates == 0,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "duplicate_prompts": duplicates,
                    "notes": "; ".join(summary["notes"]) or "-",
                },
            ),
            dg.AssetCheckResult(
                check_name=GRAMMAR_CHECK,
                passed=not grammar,
                metadata={
                    "problems": dg.MetadataValue.json({str(k): v for k, v in grammar.items()})
                },
            ),
        ],
    )


def _prompt_table(specs) -> str:
    lines = ["| # | prompt | randomly selected |", "|---|---|---|"]
    for spec in specs:
        drawn = ", ".join(
            f"{k}={v}" for k, v in spec.attribute_resolution["randomly_selected"].items()
        )
        prompt = spec.prompt.replace("|", "\\|")
        lines.append(f"| {spec.generation} | {prompt} | {drawn or '-'} |")
    return "\n".join(lines)
