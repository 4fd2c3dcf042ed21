"""generation_facts in the object store: write one run, rebuild every run, read them all back.

Two forms, both Parquet, both readable with `pandas.read_parquet` in one line:

- `analytics/generation_facts/{run_id}.parquet`, one file per run: the facts themselves. Adding
  a run writes one file and reads nothing else; a re-settled run overwrites its own file.
- `analytics/generation_facts.parquet`, every run in one file: a snapshot of that folder for
  fast reading (thousands of small files take seconds to open, one large file a fraction). It
  records which version of each run file it holds, so refreshing it re-reads only the run
  files that are new or changed since, and drops runs whose file is gone.

Works on any ObjectStore through its protocol alone: object versions (ObjectStore.list_versions)
keep the snapshot refresh incremental, and where objects are local files (local_path) pyarrow
reads them in place instead of through memory.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from ..domain.layout import ANALYTICS_PREFIX, is_analytics_key
from ..storage.base import ObjectNotFound, ObjectStore
from .facts import (
    FACTS_PREFIX,
    FACTS_SCHEMA,
    PARQUET_CONTENT_TYPE,
    concat,
    facts_key,
    parquet_bytes,
    run_facts,
    run_id_of_facts_key,
)

SNAPSHOT_KEY = "analytics/generation_facts.parquet"
_VERSIONS_METADATA = b"bulkgen.run_file_versions"
# Run files read per pyarrow call: large enough to be fast, small enough for a moving progress bar.
_READ_BATCH = 500
_ROW_GROUP = 1_000_000
_FETCH_THREADS = 8

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class RunFactsWritten:
    run_id: str
    key: str
    rows: int


def write_run_facts(store: ObjectStore, document: dict[str, Any]) -> RunFactsWritten:
    """(Re)write one run's facts file; a run written before is replaced whole."""
    return _write(store, document, run_facts(document))


def _write(store: ObjectStore, document: dict[str, Any], table: pa.Table) -> RunFactsWritten:
    key = facts_key(document["job_id"])
    store.put_bytes(key, parquet_bytes(table), PARQUET_CONTENT_TYPE)
    return RunFactsWritten(document["job_id"], key, table.num_rows)


def update_run(store: ObjectStore, analytics_key: str) -> RunFactsWritten:
    """Rebuild one run's facts from its analytics.json, reading nothing else."""
    return write_run_facts(store, json.loads(store.get_bytes(analytics_key)))


def analytics_keys(store: ObjectStore) -> list[str]:
    """Every run's analytics.json: prompt_history/{preset_id}/{run_id}/analytics.json."""
    return [key for key in store.list_keys(ANALYTICS_PREFIX) if is_analytics_key(key)]


def run_file_versions(store: ObjectStore) -> dict[str, str]:
    """Every run facts file -> a version that changes whenever the file is rewritten."""
    return {
        key: version
        for key, version in store.list_versions(FACTS_PREFIX).items()
        if run_id_of_facts_key(key)
    }


@dataclass(frozen=True)
class SnapshotRefresh:
    table: pa.Table
    runs: int
    reread: int  # run files read this time
    dropped: int  # runs whose file is gone
    written: bool  # whether the snapshot object was rewritten


def refresh_snapshot(
    store: ObjectStore, progress: Progress | None = None, *, write: bool = True
) -> SnapshotRefresh:
    """Bring the one-file snapshot up to date with the run files and return its table.

    Reads the snapshot plus only the run files that are new or changed since it was written.
    With `write=False` (a reader without write access) the result is returned but not stored.
    """
    versions = run_file_versions(store)
    old_table, old_versions = _read_snapshot(store)
    by_run = {run_id_of_facts_key(key): version for key, version in versions.items()}
    stale = sorted(
        key
        for key, version in versions.items()
        if old_versions.get(run_id_of_facts_key(key) or "") != version
    )
    gone = set(old_versions) - set(by_run)
    if not stale and not gone and old_table is not None:
        return SnapshotRefresh(old_table, len(by_run), 0, 0, False)
    kept = old_table if old_table is not None else FACTS_SCHEMA.empty_table()
    replaced = {run_id_of_facts_key(key) or "" for key in stale} | gone
    replaced &= set(old_versions)
    if replaced and kept.num_rows:
        drop = pc.is_in(kept["run_id"], value_set=pa.array(sorted(replaced), pa.string()))
        kept = kept.filter(pc.invert(drop))
    fresh = _read_run_files(store, stale, progress)
    table = concat([kept, fresh])
    if write:
        with SnapshotWriter(store) as writer:
            writer.write(table)
            writer.finish(by_run)
    return SnapshotRefresh(table, len(by_run), len(stale), len(gone), write)


def _compact(table: pa.Table) -> pa.Table:
    """One chunk per column with one dictionary: smaller to write, faster to read."""
    return table.unify_dictionaries().combine_chunks()


def _read_snapshot(store: ObjectStore) -> tuple[pa.Table | None, dict[str, str | None]]:
    try:
        path = store.local_path(SNAPSHOT_KEY)
        if path is not None:
            source: Any = str(path)
            if not os.path.exists(source):
                raise ObjectNotFound(SNAPSHOT_KEY)
        else:
            source = pa.BufferReader(store.get_bytes(SNAPSHOT_KEY))
    except ObjectNotFound:
        return None, {}
    file = pq.ParquetFile(source)
    versions = json.loads((file.metadata.metadata or {}).get(_VERSIONS_METADATA, b"{}"))
    if file.schema_arrow.remove_metadata() != FACTS_SCHEMA:
        return None, {}  # written by another version of this code: rebuilt from the run files
    return file.read(), versions


class SnapshotWriter:
    """Writes the snapshot in row groups to a temporary file, then stores it in one upload:
    readers see the old snapshot or the new one, and memory holds one batch at a time."""

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        handle, name = tempfile.mkstemp(prefix="bulkgen-facts-", suffix=".parquet")
        os.close(handle)
        self.path = Path(name)
        self.writer = pq.ParquetWriter(self.path, FACTS_SCHEMA, compression="zstd")

    def __enter__(self) -> SnapshotWriter:
        return self

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self.writer.write_table(table, row_group_size=_ROW_GROUP)

    def finish(self, versions: Mapping[str | None, str | None]) -> None:
        """Record which version of each run file the snapshot holds, and store it."""
        self.writer.add_key_value_metadata({_VERSIONS_METADATA: json.dumps(versions).encode()})
        self.writer.close()
        self.store.upload_file(SNAPSHOT_KEY, self.path, PARQUET_CONTENT_TYPE)

    def __exit__(self, *exc: object) -> None:
        if self.writer.is_open:
            self.writer.close()
        self.path.unlink(missing_ok=True)


def _read_run_files(store: ObjectStore, keys: Sequence[str], progress: Progress | None) -> pa.Table:
    tables = []
    for start in range(0, len(keys), _READ_BATCH):
        tables.append(_read_batch(store, list(keys[start : start + _READ_BATCH])))
        if progress is not None:
            progress(min(start + _READ_BATCH, len(keys)), len(keys))
    return concat(tables)


def _read_batch(store: ObjectStore, keys: list[str]) -> pa.Table:
    paths = [store.local_path(k) for k in keys]
    if all(path is not None for path in paths):
        present = [str(p) for p in paths if p is not None and p.exists()]
        return ds.dataset(present, schema=FACTS_SCHEMA, format="parquet").to_table()
    with ThreadPoolExecutor(_FETCH_THREADS) as pool:
        blobs = list(pool.map(_get_or_none(store), keys))
    return concat(_conform(pq.read_table(pa.BufferReader(b))) for b in blobs if b is not None)


def _get_or_none(store: ObjectStore) -> Callable[[str], bytes | None]:
    def get(key: str) -> bytes | None:
        try:
            return store.get_bytes(key)
        except ObjectNotFound:  # removed after we listed it
            return None

    return get


def _conform(table: pa.Table) -> pa.Table:
    """Any run file to today's schema: columns an older version did not write come back null."""
    arrays = [
        table[field.name].cast(field.type)
        if field.name in table.column_names
        else pa.nulls(table.num_rows, field.type)
        for field in FACTS_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=FACTS_SCHEMA)


@dataclass(frozen=True)
class RebuildResult:
    runs: int
    rows: int
    removed: int  # run files whose analytics.json is gone


def rebuild_facts(store: ObjectStore, progress: Progress | None = None) -> RebuildResult:
    """Every run's facts from every analytics.json in the store, and the snapshot with them;
    facts of runs whose analytics.json is gone are removed. Memory holds one batch of runs."""
    keys = analytics_keys(store)
    written: set[str] = set()
    rows = 0
    pending: list[pa.Table] = []
    with SnapshotWriter(store) as snapshot:
        for done, key in enumerate(keys, start=1):
            try:
                document = json.loads(store.get_bytes(key))
            except ObjectNotFound:  # deleted while we listed
                continue
            table = run_facts(document)
            written.add(_write(store, document, table).key)
            rows += table.num_rows
            pending.append(table)
            if len(pending) == _READ_BATCH:
                snapshot.write(_compact(concat(pending)))
                pending = []
            if progress is not None:
                progress(done, len(keys))
        snapshot.write(_compact(concat(pending)))
        removed = 0
        delete = getattr(store, "delete", None)
        if delete is not None:
            for key in [k for k in store.list_keys(FACTS_PREFIX) if run_id_of_facts_key(k)]:
                if key not in written:
                    delete(key)
                    removed += 1
        versions = run_file_versions(store)
        snapshot.finish({run_id_of_facts_key(k): v for k, v in versions.items()})
    return RebuildResult(len(written), rows, removed)


def _filter(category: str | None, since: datetime | None) -> pc.Expression | None:
    expression = None
    if category is not None:
        expression = ds.field("category") == category
    if since is not None:
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        after = ds.field("created_at") >= pa.scalar(since, type=pa.timestamp("ms", tz="UTC"))
        expression = after if expression is None else expression & after
    return expression


def select_facts(
    table: pa.Table,
    *,
    category: str | None = None,
    since: datetime | None = None,
    include_test: bool = False,
) -> pa.Table:
    """The facts of one category and/or since a moment; test-mode runs' only with
    `include_test` (they show the preview renderer, not what merchants' runs do)."""
    where = _filter(category, since)
    if not include_test:
        live = ds.field("test").is_null() | (ds.field("test") == pa.scalar(False))
        where = live if where is None else where & live
    return ds.dataset(table).to_table(filter=where)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """generation_facts as pandas: categoricals, UTC timestamps, nullable numbers."""
    return table.to_pandas(split_blocks=True)


def write_export(frame: pd.DataFrame, path: str) -> None:
    """`.parquet` keeps the types; `.csv` is for spreadsheets."""
    lower = path.lower()
    if lower.endswith(".parquet"):
        frame.to_parquet(path, index=False, compression="zstd")
    elif lower.endswith(".csv"):
        frame.to_csv(path, index=False)
    else:
        raise ValueError(f"--out must end in .parquet or .csv, got {path!r}")
