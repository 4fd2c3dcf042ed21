"""Warm run workers: Dagster runs executed by long-lived Celery workers that loaded the code once.

The run launcher (`CeleryRunLauncher`, in the daemon) hands each run to a queue; `bulkgen worker`
(a Celery prefork worker) executes it in a child forked from a parent that already imported
Dagster and the definitions, on a pooled connection to Dagster's PostgreSQL storage
(`PooledPostgresStorage`). README "Beyond one machine" has the measurements behind this.
"""
