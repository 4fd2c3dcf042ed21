"""Where Dagster finds bulkgen: the code location's name and the module of its Definitions.

Plain strings, no Dagster import: the CLI reads them to write workspace files and start code
servers without loading Dagster, and an in-process run (jobs/in_process.py) records its run as
belonging to this location.
"""

from __future__ import annotations

DEFINITIONS_MODULE = "bulkgen_pipeline.definitions"
CODE_LOCATION_NAME = "bulkgen"  # the same in workspace.yaml and deploy/workspace.grpc.yaml
