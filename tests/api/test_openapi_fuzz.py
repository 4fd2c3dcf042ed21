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
from schemathesis.core.control import SkipTest
from schemathesis.core.failures import FailureGroup, as_reported_failure
from schemathesis.core.transport import HTTP_METHODS_SCHEMA
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.hypothesis.builder import (
    InvalidHeadersExampleMark,
    MissingPathParameters,
)
from schemathesis.generation.hypothesis.reporting import ignore_hypothesis_output
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.python import asgi
from schemathesis.python._constants.orchestrator import make_constants_value_source
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
    """The app's OpenAPI document, read at collection (its operations are the test's parameters)
    from an app on an in-memory database; its home folder is removed at once."""
    with tempfile.TemporaryDirectory(prefix="bulkgen-openapi-") as folder:
        app = create_app(make_settings(Path(folder), "sqlite://"), webhooks=False)
        app.state.services.database.dispose()
        return app.openapi()


DOCUMENT = _openapi_document()
# The operations with the most coverage cases (the preset body's: ~6,500 each, 30-45 CPU-s),
# first, so that under pytest-xdist they start at once instead of ending the run.
LONGEST = ("POST /api/presets", "PUT /api/presets/{preset_id}", "POST /api/schedules")
# Every operation of the document, labelled as schemathesis labels them ("POST /api/presets"):
# one test each, the longest first and the others in the document's order.
OPERATIONS = sorted(
    (
        f"{method.upper()} {path}"
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in HTTP_METHODS_SCHEMA
    ),
    key=lambda label: LONGEST.index(label) if label in LONGEST else len(LONGEST),
)
assert set(LONGEST) <= set(OPERATIONS), "LONGEST names an operation the API no longer has"


@pytest.fixture(scope="module")
def schema() -> Any:
    return schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """schemathesis' in-process client (over ASGI) of the app the generated requests go to, on a
    fresh SQLite database in pytest's temp dir, and the API key of a merchant with credits
    enough that a valid start is never refused for want of them. One client serves every case,
    and it reads no proxy settings from the environment (requests otherwise scans the
    environment for them on each request)."""
    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app(make_settings(folder, f"sqlite:///{folder / 'bulkgen.db'}"), webhooks=False)
    database = app.state.services.database
    with database.session() as session:
        api_key = db.create_user(session, "Fuzzer", 10**9).api_key
    with asgi.get_client(app) as client:
        client.trust_env = False
        yield client, api_key
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


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def _check(case: Any, fuzzed: tuple[Any, str]) -> None:
    """One generated request (a coverage case, an example or a fuzzed one) and its checks."""
    client, api_key = fuzzed
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
    case.call_and_validate(
        session=client, headers={"Authorization": f"Bearer {api_key}"}, checks=checks
    )


@pytest.mark.parametrize("label", OPERATIONS, ids=OPERATIONS)
def test_no_server_error_and_every_answer_matches_the_schema(
    label: str, schema: Any, fuzzed: tuple[Any, str]
) -> None:
    """schemathesis' test of one operation: its coverage cases (for the preset bodies thousands,
    ~4 CPU-s to make), its schema's examples and 25 fuzzed requests. Built here, when the test
    runs, with the function `schema.parametrize()` builds it with; that decorator builds every
    operation's test at collection, and every pytest-xdist worker collects every test, so each
    worker made all 40 operations' cases (~12 CPU-s) for the one it ran."""
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label
    test = build_operation_test(
        config=schema.config,
        operation=operation,
        test_func=_check,
        given_kwargs={},
        feedback=FeedbackSources(constants_value_source=make_constants_value_source(schema)),
    )
    # What schemathesis' pytest plugin does around the tests it parametrizes.
    try:
        with ignore_hypothesis_output():
            test(fuzzed=fuzzed)
    except FailureGroup as exc:
        raise as_reported_failure(exc) from None
    except SkipTest as exc:
        pytest.skip(str(exc))
    for mark in (MissingPathParameters, InvalidHeadersExampleMark):
        assert not mark.get(test), mark.get(test)
