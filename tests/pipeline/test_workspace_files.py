"""The workspace files: the top-level one loads the code from a clone with nothing to set; the
production one points at a gRPC code server; both name the location as `bulkgen dev` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    ManagedGrpcPythonEnvCodeLocationOrigin,
)
from dagster._core.workspace.load import location_origins_from_yaml_paths

from bulkgen_pipeline.jobs.location import CODE_LOCATION_NAME, DEFINITIONS_MODULE

REPO = Path(__file__).resolve().parents[2]


def test_top_level_workspace_loads_the_definitions_from_a_clone(tmp_path):
    (origin,) = location_origins_from_yaml_paths([str(REPO / "workspace.yaml")])
    assert isinstance(origin, ManagedGrpcPythonEnvCodeLocationOrigin)
    assert origin.location_name == CODE_LOCATION_NAME
    assert origin.loadable_target_origin.module_name == DEFINITIONS_MODULE

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULKGEN_", "DAGSTER_"))}
    env["DAGSTER_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"Validation successful for code location {CODE_LOCATION_NAME}" in done.stdout + done.stderr
    )


def test_production_workspace_points_at_the_grpc_code_server(monkeypatch):
    monkeypatch.setenv("BULKGEN_CODE_SERVER_HOST", "code-server.internal")
    (origin,) = location_origins_from_yaml_paths([str(REPO / "deploy" / "workspace.grpc.yaml")])
    assert isinstance(origin, GrpcServerCodeLocationOrigin)
    assert (origin.location_name, origin.host, origin.port) == (
        CODE_LOCATION_NAME,
        "code-server.internal",
        4000,
    )
