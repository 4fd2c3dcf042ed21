"""Explicit-prompt batches and variations mode, and the job snapshot round trip."""

import pytest

from bulkgen_pipeline.domain.errors import PresetValidationError
from bulkgen_pipeline.domain.requests import batch_request, preset_request, request_from_snapshot


def test_prompt_list_keeps_text_negative_prompt_and_given_seeds():
    request = batch_request(
        {
            "name": "My batch",
            "prompts": [
                {"text": "A cyberpunk city at night", "seed": 11},
                {"text": "Portrait of a robot", "negative_prompt": "blurry"},
            ],
            "shared_settings": {"dimensions": {"aspect_ratio": "16:9"}, "negative_prompt": "text"},
        }
    )
    result = request.resolve(run_seed="run")
    first, second = result.generations
    assert (first.prompt, first.seed, first.negative_prompt) == (
        "A cyberpunk city at night",
        11,
        "text",
    )
    assert first.attribute_resolution["user_specified"]["seed"] == 11
    assert first.attribute_resolution["randomly_selected"] == {}
    assert second.negative_prompt == "blurry"
    assert second.attribute_resolution["randomly_selected"]["seed"] == second.seed
    assert first.dimensions == {"aspect_ratio": "16:9"}
    assert request.category == "custom" and request.generation_count == 2


def test_variations_mode_uses_given_seeds_or_derives_distinct_ones():
    given = batch_request({"variations": {"prompt": {"text": "a red mug"}, "seeds": [5, 6, 7]}})
    assert [g.seed for g in given.resolve(run_seed="r").generations] == [5, 6, 7]
    derived = batch_request({"variations": {"prompt": {"text": "a red mug"}, "count": 12}}).resolve(
        run_seed="r"
    )
    assert len({g.seed for g in derived.generations}) == 12
    assert {g.prompt for g in derived.generations} == {"a red mug"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"prompts": []}, "prompts"),
        ({"prompts": [{"text": ""}]}, "prompts.0.text"),
        ({"prompts": [{"text": "x"}] * 51}, "prompts"),
        ({"variations": {"prompt": {"text": "x"}, "seeds": [1, 1]}}, "variations"),
        ({"variations": {"prompt": {"text": "x"}, "count": 2, "seeds": [1, 2, 3]}}, "variations"),
        (
            {"prompts": [{"text": "x"}], "variations": {"prompt": {"text": "x"}, "count": 2}},
            "(root)",
        ),
    ],
)
def test_bad_batches_name_the_field(data, field):
    with pytest.raises(PresetValidationError) as info:
        batch_request(data)
    assert field in {p.field for p in info.value.problems}


def test_snapshots_round_trip_for_both_kinds():
    preset = preset_request(
        {"name": "p", "category": "bags", "config": {"generation_count": 3}}, generation_count=4
    )
    batch = batch_request({"prompts": [{"text": "a"}, {"text": "b"}]})
    for request in (preset, batch):
        again = request_from_snapshot(request.snapshot())
        assert again.snapshot() == request.snapshot()
        assert [g.to_dict() for g in again.resolve(run_seed="s").generations] == [
            g.to_dict() for g in request.resolve(run_seed="s").generations
        ]
    assert len(preset.resolve(run_seed="s").generations) == 4
