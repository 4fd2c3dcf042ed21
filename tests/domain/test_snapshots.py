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


def test_the_job_view_reads_kind_name_and_config_from_the_snapshot_it_was_queued_with():
    import dataclasses

    from bulkgen_pipeline.domain.kinds import DEFAULT_BATCH_NAME, PRESET, PROMPT_BATCH
    from bulkgen_pipeline.domain.requests import batch_request
    from bulkgen_pipeline.readmodel import JobView

    def view(snapshot):
        fields = {f.name: None for f in dataclasses.fields(JobView) if f.init}
        return JobView(**{**fields, "preset_snapshot": snapshot})

    config = {"material": "leather", "generation_count": 3}
    preset = view(preset_request({"name": "Bags", "category": "bags", "config": config}).snapshot())
    assert (preset.kind, preset.preset_name, preset.display_name) == (PRESET, "Bags", "Bags")
    assert preset.run_config["material"] == "leather"

    batch = batch_request({"prompts": [{"text": "a red bag"}]}).snapshot()
    job = view(batch)
    assert (job.kind, job.preset_name) == (PROMPT_BATCH, DEFAULT_BATCH_NAME)
    assert job.display_name == DEFAULT_BATCH_NAME
    assert job.run_config == batch["body"]

    old = view({"body": {"config": config}})  # queued before kinds and names were stored
    assert (old.kind, old.preset_name, old.display_name) == (PRESET, None, DEFAULT_BATCH_NAME)
