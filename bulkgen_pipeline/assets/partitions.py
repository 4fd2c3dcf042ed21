import dagster as dg

# One partition per bulk run; the queue sensor adds them, keyed by run id.
bulk_run_partitions = dg.DynamicPartitionsDefinition(name="bulk_runs")
