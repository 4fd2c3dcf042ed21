"""Driving `bulkgen` in-process (click's runner) from a fresh BULKGEN_HOME: the `cli_home`
fixture lives in tests/conftest.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from bulkgen_pipeline.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def bulkgen(*args: str, env: dict[str, str] | None = None) -> tuple[int, Any]:
    """Exit code and the JSON the command printed."""
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)
