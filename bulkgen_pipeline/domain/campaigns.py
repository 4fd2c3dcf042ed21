"""Catalogue campaigns: one run per product, started together. What an item is, and how a CSV
of products (one row each) becomes items; plain Python.

A CSV row names a stored preset (`preset_id`, its other cells overriding that preset's fields)
or is a whole preset in the flattened form (`name`, `category`, then the config's fields such as
`material`, `background`, `model_sex`), which is kept as one of the merchant's presets. A cell
is read as JSON when it looks like a number, `true`/`false`, a list or an object
(`{"width": 1024, "height": 1024}`), as a list when it holds `|` (`#FF0000|#000000`), and as
text otherwise; an empty cell is left out. Rows are numbered as in a spreadsheet: the header is
row 1, the first product row 2.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import FieldProblem, InvalidInput
from .presets import canonical_shape

MAX_CAMPAIGN_ITEMS = 500
PRESET_ID = "preset_id"
GENERATION_COUNT = "generation_count"
LIST_SEPARATOR = "|"
_JSON_LIKE = re.compile(r"^(?:-?\d+(?:\.\d+)?|true|false|\[.*\]|\{.*\})$", re.DOTALL)
_ITEM_FIELD = re.compile(r"^items\.(\d+)(?:\.(.*))?$")


@dataclass(frozen=True)
class CampaignItem:
    """One product of a campaign: a stored preset (`preset_id`, with `overrides` of its fields
    in the flattened form) or a whole new `preset`; `generation_count` overrides its count.
    `row` is the CSV row it came from (None from the API)."""

    preset_id: str | None = None
    generation_count: int | None = None
    overrides: dict[str, Any] | None = None
    preset: dict[str, Any] | None = None
    row: int | None = None


def parse_cell(value: str) -> Any:
    """A CSV cell's value (see the module's rule); ValueError when it looks like JSON but is not."""
    text = value.strip()
    if _JSON_LIKE.match(text):
        return json.loads(text)
    if LIST_SEPARATOR in text:
        return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]
    return text


def items_from_csv(text: str) -> list[CampaignItem]:
    """The campaign's items, one per non-empty row; InvalidInput naming each bad cell by its
    row and column (`row 3, column generation_count`)."""
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader, [])]
    problems: list[FieldProblem] = []
    if not any(header):
        raise InvalidInput([FieldProblem("row 1", "the first row names the columns")])
    repeated = sorted({name for name in header if header.count(name) > 1 and name})
    for name in repeated:
        problems.append(FieldProblem(f"row 1, column {name}", "named twice"))
    items: list[CampaignItem] = []
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            problems.append(
                FieldProblem(f"row {number}", f"has {len(cells)} cells, the header {len(header)}")
            )
            continue
        item = _row_item(number, dict(zip(header, cells, strict=False)), problems)
        if item is not None:
            items.append(item)
    if not items and not problems:
        problems.append(FieldProblem("row 2", "no products: add one row per product"))
    if len(items) > MAX_CAMPAIGN_ITEMS:
        problems.append(
            FieldProblem("rows", f"at most {MAX_CAMPAIGN_ITEMS} products, got {len(items)}")
        )
    if problems:
        raise InvalidInput(problems)
    return items


def _row_item(
    number: int, row: Mapping[str, str], problems: list[FieldProblem]
) -> CampaignItem | None:
    fields: dict[str, Any] = {}
    before = len(problems)
    for column, cell in row.items():
        if not column or not cell.strip():
            continue
        try:
            fields[column] = parse_cell(cell)
        except ValueError:
            problems.append(FieldProblem(f"row {number}, column {column}", "is not valid JSON"))
    preset_id = fields.pop(PRESET_ID, None)
    count = fields.pop(GENERATION_COUNT, None)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        problems.append(
            FieldProblem(f"row {number}, column {GENERATION_COUNT}", "must be a whole number")
        )
    if preset_id is None:
        for needed in ("name", "category"):
            if needed not in fields:
                message = f"give {PRESET_ID}, or {needed} and the preset's fields"
                problems.append(FieldProblem(f"row {number}, column {needed}", message))
    if len(problems) > before:
        return None
    if preset_id is not None:
        return CampaignItem(str(preset_id), count, overrides=fields or None, row=number)
    return CampaignItem(None, count, preset=fields, row=number)


def row_field(field: str, items: list[CampaignItem]) -> str:
    """A use case's `items.N.config.material` as the CSV's `row R, column material`; a field of
    no item is returned as it is."""
    found = _ITEM_FIELD.match(field)
    if found is None or int(found.group(1)) >= len(items):
        return field
    row = items[int(found.group(1))].row
    if row is None:
        return field
    column = (found.group(2) or "").removeprefix("config.").removeprefix("model_attributes.")
    return f"row {row}, column {column}" if column else f"row {row}"


def merged_preset(stored: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A stored preset (`name`, `category`, `config`) with a row's overrides (the flattened
    form: `material`, `model_sex`, …) put over it, nested objects merged key by key."""
    over = canonical_shape(dict(overrides))
    if not isinstance(over.get("config"), Mapping):
        # A `config` given as such must be the preset's fields, not a value (a CSV cell "red").
        raise InvalidInput(
            [FieldProblem("config", "must be an object of the preset's fields, or leave it out")]
        )
    return {
        "name": over.get("name", stored["name"]),
        "category": over.get("category", stored["category"]),
        "config": _deep_merge(stored["config"], over["config"]),
    }


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
