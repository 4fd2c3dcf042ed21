"""A CSV of products read as campaign items: each cell's value, each bad cell named by its row
and column (row 1 is the header), and a use case's `items.N.field` told back as the row's."""

from __future__ import annotations

import pytest

from bulkgen_pipeline.domain.campaigns import (
    MAX_CAMPAIGN_ITEMS,
    CampaignItem,
    items_from_csv,
    merged_preset,
    parse_cell,
    row_field,
)
from bulkgen_pipeline.domain.errors import InvalidInput


def fields(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        items_from_csv(text)
    return [p.field for p in caught.value.problems]


def test_cells_are_numbers_booleans_json_lists_or_text():
    assert parse_cell(" 3 ") == 3 and parse_cell("true") is True and parse_cell("7.5") == 7.5
    assert parse_cell('{"width": 512, "height": 512}') == {"width": 512, "height": 512}
    assert parse_cell("#FF0000|#000000") == ["#FF0000", "#000000"]
    assert parse_cell("tote bag") == "tote bag" and parse_cell("__RANDOM__") == "__RANDOM__"
    with pytest.raises(ValueError):
        parse_cell("{not json}")


def test_rows_become_items_and_blank_rows_keep_the_numbering():
    text = "preset_id,generation_count,material,model_sex\np1,3,canvas,\n,,,\np2,,,Female\n"
    assert items_from_csv(text) == [
        CampaignItem("p1", 3, overrides={"material": "canvas"}, row=2),
        CampaignItem("p2", None, overrides={"model_sex": "Female"}, row=4),
    ]
    whole = items_from_csv("name,category,type\nTote,bags,tote bag\n")
    assert whole == [
        CampaignItem(
            None, None, preset={"name": "Tote", "category": "bags", "type": "tote bag"}, row=2
        )
    ]


def test_every_bad_cell_is_named_by_row_and_column():
    assert fields("preset_id,generation_count\np1,many\n,2\n") == [
        "row 2, column generation_count",
        "row 3, column name",
        "row 3, column category",
    ]
    assert fields("preset_id,preset_id\np1,p2\n") == ["row 1, column preset_id"]
    assert fields("preset_id\n") == ["row 2"]
    assert fields("preset_id\np1,extra\n") == ["row 2"]
    assert fields("preset_id\n" + "p\n" * (MAX_CAMPAIGN_ITEMS + 1)) == ["rows"]


def test_a_use_case_field_is_told_as_its_row_and_column():
    items = items_from_csv("preset_id\np1\n\np2\n")
    assert row_field("items.1.config.material", items) == "row 4, column material"
    assert row_field("items.0.preset_id", items) == "row 2, column preset_id"
    assert row_field("name", items) == "name"


def test_overrides_go_over_the_stored_preset_key_by_key():
    stored = {
        "name": "Bags",
        "category": "bags",
        "config": {
            "material": "leather",
            "model_attributes": {"model_sex": "Male", "model_age": "adult"},
        },
    }
    merged = merged_preset(stored, {"material": "canvas", "model_sex": "Female"})
    assert merged["config"]["material"] == "canvas"
    assert merged["config"]["model_attributes"] == {"model_sex": "Female", "model_age": "adult"}
    assert merged["name"] == "Bags"


def test_a_config_cell_that_is_no_object_is_named_not_a_crash():
    from bulkgen_pipeline.domain.campaigns import merged_preset
    from bulkgen_pipeline.domain.errors import InvalidInput

    stored = {"name": "Bags", "category": "bags", "config": {"material": "leather"}}
    with pytest.raises(InvalidInput) as refused:
        merged_preset(stored, {"config": "red"})
    assert refused.value.problems[0].field == "config"
    merged = merged_preset(stored, {"config": {"material": "canvas"}})
    assert merged["config"]["material"] == "canvas"
