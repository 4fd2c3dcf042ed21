"""resolved_prompts: the preset as queued, resolved into one prompt per generation."""

import dagster as dg

from ..resources.database import DatabaseResource
from ..resources.object_store import ObjectStoreResource
from ..runs.leases import claim_for_run
from ..runs.resolved_prompts import freeze_prompts, grammar_report
from .common import leased, load_run
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
    frozen = freeze_prompts(store, loaded.job)
    if frozen.reused:
        context.log.info("Reusing the prompts resolved by an earlier attempt of this run")
    specs, summary = frozen.specs, frozen.resolution
    claim_for_run(database.get_database(), run_id, context.run_id, database.lease_seconds)
    duplicates = frozen.duplicate_prompts
    grammar = grammar_report(loaded.job, specs)
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
