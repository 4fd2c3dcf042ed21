"""A queued run resolves the preset as it was queued, whatever the schema says later."""

import copy

import pytest

from bulkgen_pipeline.domain.errors import PresetValidationError
from bulkgen_pipeline.domain.requests import preset_request, request_from_snapshot
from bulkgen_pipeline.domain.schema import load_category_schema, validate_schema_document


def test_an_option_removed_after_queueing_does_not_break_the_queued_run():
    queued = preset_request(
        {
            "name": "Bags",
            "category": "bags",
            "config": {"material": "leather", "generation_count": 3},
        }
    ).snapshot()

    edited = copy.deepcopy(load_category_schema().raw)
    edited["bags"]["material"].remove("leather")
    schema_now = validate_schema_document(edited)

    result = request_from_snapshot(queued).resolve(run_seed="run", schema=schema_now)
    assert [g.config["material"] for g in result.generations] == ["leather"] * 3
    assert all("leather" in g.prompt for g in result.generations)
    # The same preset queued today is rejected, naming the field.
    with pytest.raises(PresetValidationError) as info:
        preset_request(
            {"name": "Bags", "category": "bags", "config": {"material": "leather"}},
            schema=schema_now,
        )
    assert info.value.problems[0].field == "config.material"
