import dagster as dg

# One partition per bulk run; the queue sensor adds them, keyed by run id. Code that adds a
# partition by name reads BULK_RUN_PARTITIONS (the definition's .name is typed str | None).
BULK_RUN_PARTITIONS = "bulk_runs"
bulk_run_partitions = dg.DynamicPartitionsDefinition(name=BULK_RUN_PARTITIONS)
