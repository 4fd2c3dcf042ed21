"""Schemathesis against the app's own OpenAPI schema: for every operation, generated requests
(valid and invalid) never get a 5xx, and every answer matches the documented schema."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bulkgen_pipeline import db
from bulkgen_pipeline.api.app import create_app

from .conftest import make_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Built at import: schemathesis reads the schema when the tests are collected.
_FOLDER = Path(tempfile.mkdtemp(prefix="bulkgen-fuzz-"))
_APP = create_app(make_settings(_FOLDER, f"sqlite:///{_FOLDER / 'bulkgen.db'}"), webhooks=False)
with _APP.state.services.database.session() as _session:
    _API_KEY = db.create_user(_session, "Fuzzer", 1000).api_key

schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_answer_matches_the_schema(case):
    case.call_and_validate(headers={"Authorization": f"Bearer {_API_KEY}"}, checks=CHECKS)
