"""generation_facts: one typed row per (run, generation, attribute), built from analytics.json.

Each run's rows live in their own Parquet file, `analytics/generation_facts/{run_id}.parquet`:
adding a run writes one file and reads nothing else, and a run settled again (retry-failed)
overwrites its file, so its rows are replaced, never duplicated. The folder as a whole is a
Parquet dataset: `pandas.read_parquet(folder)` reads every run in one line.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..domain.batches import BATCH_CATEGORY
from ..domain.review import USER_EDITED
from ..runs.packaging import AnalyticsOutcome

FACTS_PREFIX = "analytics/generation_facts/"
FACTS_SUFFIX = ".parquet"
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
BATCH_STRATEGY = "batch"  # explicit prompt batches: only image seeds are ever drawn
# A batch's prompts are free text, not attributes: they stay in analytics.json.
_BATCH_ATTRIBUTES = ("mode", "seed")
_MAX_INT64 = 2**63 - 1
# Columns that hold one value per generation, repeated on each of its attribute rows.
_PER_GENERATION = (
    "generation_index",
    "status",
    "provider",
    "model",
    "failure_reason",
    "attempts",
    "latency_s",
    "size",
    "perceptual_hash",
    "colour_delta_e",
    "colour_adherent",
)


class Source(StrEnum):
    """Who chose a value."""

    RANDOM = "random"  # drawn by the sampler from the attribute's options
    USER = "user"  # fixed by the merchant
    DISTRIBUTED = "distributed"  # a colour handed out from the merchant's palette
    EDITED = "edited"  # a prompt the merchant rewrote when reviewing it before the run


# The row an edited prompt adds to its generation (its attributes are as resolved).
EDITED_PROMPT = "prompt"


def _category() -> pa.DataType:
    return pa.dictionary(pa.int32(), pa.string())


FACTS_SCHEMA = pa.schema(
    [
        pa.field("run_id", _category(), nullable=False),
        pa.field("user_id", _category()),
        pa.field("preset_id", _category()),
        pa.field("preset_name", _category()),
        pa.field("category", _category()),
        pa.field("generation_index", pa.int16(), nullable=False),
        pa.field("attribute", _category(), nullable=False),
        pa.field("value", _category()),
        pa.field("source", _category()),
        pa.field("strategy", _category()),
        # The pool a random value was drawn from: a JSON list of equally likely options, or a
        # JSON object option -> weight. Null for values the merchant fixed.
        pa.field("drawn_from", _category()),
        pa.field("provider", _category()),
        pa.field("model", _category()),
        pa.field("status", _category()),
        pa.field("failure_reason", _category()),
        pa.field("attempts", pa.int16()),
        pa.field("latency_s", pa.float32()),
        # The image's size label in a run of several sizes (domain.layout.size_label): each
        # generation then has one set of rows per size. Null in a one-size run.
        pa.field("size", _category()),
        # What the image was found to be (runs/image_checks.py): its 64-bit pHash as hex, and
        # for a generation that asked for a colour, the CIEDE2000 to the nearest dominant
        # colour and whether the picture shows it. Null where nothing was looked at.
        pa.field("perceptual_hash", _category()),
        pa.field("colour_delta_e", pa.float32()),
        pa.field("colour_adherent", pa.bool_()),
        pa.field("created_at", pa.timestamp("ms", tz="UTC")),
        # What seeded the run's draws: runs of one preset with the same seed replay one draw.
        pa.field("run_seed", _category()),
        pa.field("combination_space", pa.int64()),
        pa.field("generation_count", pa.int16()),
        # The run's near-duplicate threshold (hash bits), as its generation step applied it.
        pa.field("near_duplicate_bits", pa.int8()),
        # A test-mode key's run (analytics.json `"test": true`): left out of the report and
        # the export unless asked for. Null in files written before test keys: live runs.
        pa.field("test", pa.bool_()),
    ]
)
FACT_COLUMNS = FACTS_SCHEMA.names


class AnalyticsDocumentError(ValueError):
    """An analytics.json this module cannot read; the message names the field."""


def facts_key(run_id: str) -> str:
    return f"{FACTS_PREFIX}{run_id}{FACTS_SUFFIX}"


def run_id_of_facts_key(key: str) -> str | None:
    name = key[len(FACTS_PREFIX) :] if key.startswith(FACTS_PREFIX) else None
    if not name or "/" in name or not name.endswith(FACTS_SUFFIX) or name.startswith((".", "_")):
        return None
    return name[: -len(FACTS_SUFFIX)]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def pool_label(pool: dict[str, Any] | None) -> str | None:
    """The `drawn_from` text of a pool: a JSON list when every option is equally likely."""
    if not pool:
        return None
    if pool.get("strategy") == "cycling":
        return json.dumps(pool.get("palette") or list(pool["options"]), ensure_ascii=False)
    options: dict[str, float] = pool["options"]
    if len(set(options.values())) <= 1:
        return json.dumps(list(options), ensure_ascii=False)
    return json.dumps(options, ensure_ascii=False)


def parse_pool(label: str) -> dict[str, float]:
    """`drawn_from` back to option -> probability."""
    parsed = json.loads(label)
    weights: dict[str, float]
    if isinstance(parsed, list):
        weights = {}
        for option in parsed:
            weights[option] = weights.get(option, 0.0) + 1.0
    else:
        weights = {k: float(v) for k, v in parsed.items()}
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


def _require(document: dict[str, Any], field: str) -> Any:
    if field not in document:
        raise AnalyticsDocumentError(f"analytics.json has no '{field}'")
    return document[field]


def run_facts(document: dict[str, Any]) -> pa.Table:
    """The facts of one run, from its analytics.json (v2.0; older files lack the extra fields
    and give nulls there)."""
    run_id = _require(document, "job_id")
    category = _require(document, "category")
    generations = _require(document, "generation_results")
    is_batch = category == BATCH_CATEGORY
    resolution = document.get("resolution") or {}
    rows = _rows(generations, is_batch, document.get("preset_name"))
    columns = _row_columns(
        rows,
        sampling=BATCH_STRATEGY if is_batch else document.get("sampling") or "unique",
        colour_strategy=document.get("color_strategy"),
        pools=document.get("random_pools") or {},
    )
    space = resolution.get("combination_space")
    constants = {
        "run_id": run_id,
        "user_id": document.get("user_id"),
        "preset_id": document.get("preset_id"),
        "preset_name": rows.preset_name,
        "category": category,
        "created_at": _timestamp(document.get("created_at")),
        "run_seed": _text(resolution.get("seed", run_id)),
        "combination_space": min(int(space), _MAX_INT64) if space is not None else None,
        "test": bool(document.get("test", False)),
        # Generations, not images: a run in several sizes has one entry per image.
        "generation_count": len(
            {g.get("generation_index", i + 1) for i, g in enumerate(generations)}
        ),
        "near_duplicate_bits": document.get("near_duplicate_bits"),
    }
    arrays = []
    for column in FACTS_SCHEMA:
        if column.name in constants:
            arrays.append(_repeat(constants[column.name], len(rows.attributes), column.type))
        else:
            arrays.append(columns[column.name].cast(column.type))
    return pa.Table.from_arrays(arrays, schema=FACTS_SCHEMA)


@dataclass
class _Rows:
    """Per row: the generation it belongs to (its position), its attribute, value and whether
    it was drawn; per generation, the columns it repeats on each of its rows."""

    preset_name: str | None
    positions: list[int] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    values: list[str | None] = field(default_factory=list)
    was_drawn: list[bool] = field(default_factory=list)
    per_generation: dict[str, list[Any]] = field(
        default_factory=lambda: {name: [] for name in _PER_GENERATION}
    )


def _rows(generations: list[dict[str, Any]], is_batch: bool, preset_name: str | None) -> _Rows:
    rows = _Rows(preset_name)
    for position, generation in enumerate(generations):
        attribution = generation.get("attribute_resolution")
        if not isinstance(attribution, dict):
            raise AnalyticsDocumentError(
                f"analytics.json generation_results[{position}] has no 'attribute_resolution'"
            )
        drawn = attribution.get("randomly_selected") or {}
        if is_batch:
            given = attribution.get("user_specified") or {}
            values = {k: v for k, v in {**given, **drawn}.items() if k in _BATCH_ATTRIBUTES}
        else:
            values = generation.get("resolved_attributes") or {}
        if attribution.get(USER_EDITED):
            values = {**values, EDITED_PROMPT: generation.get("prompt_text")}
        if rows.preset_name is None:
            rows.preset_name = (generation.get("preset_metadata") or {}).get("preset_name")
        per_generation = rows.per_generation
        per_generation["generation_index"].append(generation.get("generation_index", position + 1))
        per_generation["status"].append(generation.get("outcome") or _legacy_status(generation))
        colour = generation.get("colour_adherence") or {}
        flat = {
            **generation,
            "colour_delta_e": colour.get("delta_e"),
            "colour_adherent": colour.get("adherent"),
        }
        for name in _PER_GENERATION[2:]:
            per_generation[name].append(flat.get(name))
        present = [name for name, value in values.items() if value is not None]
        rows.positions.extend([position] * len(present))
        rows.attributes.extend(present)
        rows.values.extend(
            value if type(value) is str else _text(value)
            for value in (values[name] for name in present)
        )
        rows.was_drawn.extend(name in drawn for name in present)
    return rows


def _row_columns(
    rows: _Rows, *, sampling: str, colour_strategy: str | None, pools: dict[str, Any]
) -> dict[str, pa.Array]:
    """The columns that vary by row: where each value came from, and the per-generation ones
    repeated on their generation's rows."""
    labels = {name: pool_label(pool) for name, pool in pools.items()}

    def origin(attribute: str, drawn: bool) -> tuple[str, str | None, str | None]:
        if attribute == EDITED_PROMPT:
            return Source.EDITED.value, None, None
        if not drawn:
            return Source.USER.value, sampling, None
        if attribute == "color":
            return Source.DISTRIBUTED.value, colour_strategy, labels.get(attribute)
        return Source.RANDOM.value, sampling, labels.get(attribute)

    keys = list(zip(rows.attributes, rows.was_drawn, strict=True))
    origins = {key: origin(*key) for key in set(keys)}
    row_origins = [origins[key] for key in keys]
    take = pa.array(rows.positions, type=pa.int32())
    columns: dict[str, pa.Array] = {
        "attribute": pa.array(rows.attributes, type=pa.string()),
        "value": pa.array(rows.values, type=pa.string()),
        "source": pa.array([o[0] for o in row_origins], type=pa.string()),
        "strategy": pa.array([o[1] for o in row_origins], type=pa.string()),
        "drawn_from": pa.array([o[2] for o in row_origins], type=pa.string()),
    }
    for name, items in rows.per_generation.items():
        type_ = _plain(FACTS_SCHEMA.field(name).type)
        columns[name] = pa.array(items, type=type_ if name != "attempts" else pa.int64()).take(take)
    return columns


def _legacy_status(generation: dict[str, Any]) -> str | None:
    """Files written before `outcome` existed: a cancelled generation reads "not generated"."""
    status = generation.get("status")
    if status == AnalyticsOutcome.FAILED and str(generation.get("failure_reason")).startswith(
        "not generated"
    ):
        return AnalyticsOutcome.NOT_GENERATED.value
    return status


def _plain(type_: pa.DataType) -> pa.DataType:
    return type_.value_type if pa.types.is_dictionary(type_) else type_


def _repeat(value: Any, rows: int, type_: pa.DataType) -> pa.Array:
    if value is None:
        return pa.nulls(rows, type_)
    if pa.types.is_dictionary(type_):
        dictionary = pa.array([value], type=pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), dictionary)
    return pa.array([value], type=type_).take(pa.array(np.zeros(rows, np.int32)))


def _timestamp(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise AnalyticsDocumentError(
            f"analytics.json 'created_at' is not an ISO timestamp: {text!r}"
        ) from None


_FILTERED_ON = ["run_id", "category", "created_at", "preset_id", "user_id"]


def parquet_bytes(table: pa.Table, compression: str = "none") -> bytes:
    """A run file is a few kB of dictionary-encoded columns: compressing it buys little and
    costs more than writing it."""
    sink = io.BytesIO()
    # Statistics only where readers filter (per file: which category, when): they let DuckDB or
    # pyarrow skip whole files; elsewhere they would cost a third of the write for nothing.
    pq.write_table(table, sink, compression=compression, write_statistics=_FILTERED_ON)
    return sink.getvalue()


def empty_facts() -> pa.Table:
    return FACTS_SCHEMA.empty_table()


def concat(tables: Iterable[pa.Table]) -> pa.Table:
    tables = list(tables)
    return pa.concat_tables(tables) if tables else empty_facts()


__all__ = [
    "AnalyticsDocumentError",
    "AnalyticsOutcome",
    "BATCH_STRATEGY",
    "FACTS_PREFIX",
    "FACTS_SCHEMA",
    "FACT_COLUMNS",
    "PARQUET_CONTENT_TYPE",
    "Source",
    "concat",
    "empty_facts",
    "facts_key",
    "parquet_bytes",
    "parse_pool",
    "pool_label",
    "run_facts",
    "run_id_of_facts_key",
]
