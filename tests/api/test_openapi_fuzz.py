"""Schemathesis against the app's own OpenAPI schema: for every operation, generated requests
(valid and invalid) never get a 5xx, every answer matches the documented schema, a request the
schema calls valid is accepted, and a 405 lists in `Allow` every method its path takes."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from bulkgen_pipeline import db
from bulkgen_pipeline.domain.cron import next_time
from bulkgen_pipeline.domain.errors import InvalidInput
from bulkgen_pipeline.web.app import create_app

from .conftest import make_settings

# The preset operations take half a minute and more each (thousands of coverage cases): started
# first under pytest-xdist, so that they do not end the run.
pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,
    allow_header_conformance,
]


def _openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, read at collection (schemathesis parametrizes from it) from
    an app on an in-memory database; its home folder is removed at once."""
    with tempfile.TemporaryDirectory(prefix="bulkgen-openapi-") as folder:
        app = create_app(make_settings(Path(folder), "sqlite://"), webhooks=False)
        app.state.services.database.dispose()
        return app.openapi()


schema = schemathesis.openapi.from_dict(_openapi_document())


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The app the generated requests go to (in-process, over ASGI) on a fresh SQLite database
    in pytest's temp dir, and the API key of a merchant with credits enough that a valid start
    is never refused for want of them."""
    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app(make_settings(folder, f"sqlite:///{folder / 'bulkgen.db'}"), webhooks=False)
    database = app.state.services.database
    with database.session() as session:
        api_key = db.create_user(session, "Fuzzer", 10**9).api_key
    yield app, api_key
    database.dispose()


def _has_whole_float(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_has_whole_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_whole_float(v) for v in value)
    return False


MODEL_CHOICE = ("model", "steps", "guidance_scale")
BULK_DELETE = "/api/bulk-generation/runs/delete"


def _chooses_a_model(value: Any) -> bool:
    if isinstance(value, dict):
        if any(value.get(name) is not None for name in MODEL_CHOICE):
            return True
        return any(_chooses_a_model(v) for v in value.values())
    if isinstance(value, list):
        return any(_chooses_a_model(v) for v in value)
    return False


def _cron_names_no_date(value: Any) -> bool:
    """A schedule's cron the schema takes but no calendar has (`0 0 31 2 *`)."""
    if not isinstance(value, dict) or not isinstance(value.get("cron"), str):
        return False
    try:
        next_time(value["cron"], "UTC", datetime.now(UTC))
    except InvalidInput as exc:
        return "names no date" in str(exc)
    return False


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_answer_matches_the_schema(case, fuzzed):
    app, api_key = fuzzed
    # JSON Schema 2020-12 counts 2.0 as the integer 2, and schemathesis sends it so; bulkgen's
    # counts and seeds are strict (5.0 is refused), a rule no JSON Schema can state. Such a
    # body is still checked for everything else. Likewise a model choice: which models (and
    # their steps and guidance ranges) a start may name depends on the deployment's providers
    # (GET /api/models), which the static schema cannot list. And a schedule's cron for a day
    # no month has (31 February): its fields are each in range.
    unstatable = (
        _has_whole_float(case.body) or _chooses_a_model(case.body) or _cron_names_no_date(case.body)
    )
    checks = CHECKS if unstatable else [*CHECKS, positive_data_acceptance]
    if case.path == BULK_DELETE:
        # The path for bulk delete has the shape of /runs/{run_id}, whose DELETE
        # answers a run id that is not a UUID ("delete") with 422 naming run_id, not 405.
        checks = [check for check in checks if check is not unsupported_method]
    case.call_and_validate(app=app, headers={"Authorization": f"Bearer {api_key}"}, checks=checks)
