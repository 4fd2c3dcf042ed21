"""The same contract for LocalObjectStore, S3ObjectStore (moto's server over real HTTP) and the
RetryingStore wrapped around a store (it must pass every method through)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import urllib.request
from pathlib import Path

import pytest

from bulkgen_pipeline.storage import (
    InvalidKey,
    LocalObjectStore,
    ObjectNotFound,
    ObjectStore,
    S3ObjectStore,
    open_object_store,
)
from bulkgen_pipeline.storage.retrying import RetryingStore


@pytest.fixture(params=["local", "retrying-local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    if request.param == "retrying-local":
        return RetryingStore(LocalObjectStore(tmp_path / "store"), 0)
    s3_url = request.getfixturevalue("s3_bucket")
    return open_object_store(s3_url, s3_client=request.getfixturevalue("s3_client"))


def _fetch(url: str) -> tuple[bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), dict(response.headers)


def test_is_an_object_store(store):
    assert isinstance(store, ObjectStore)


def test_put_get_exists(store):
    key = "u1/bulk_runs/bags/r1/images/generation_1.png"
    assert not store.exists(key)
    store.put_bytes(key, b"\x89PNG data", content_type="image/png")
    assert store.exists(key)
    assert store.get_bytes(key) == b"\x89PNG data"
    store.put_bytes(key, b"v2")  # overwrite
    assert store.get_bytes(key) == b"v2"
    assert not store.exists("u1/bulk_runs/bags/r1/images")  # a "folder" is not an object


def test_missing_object(store):
    with pytest.raises(ObjectNotFound):
        store.get_bytes("nope/missing.bin")
    with pytest.raises(ObjectNotFound):
        store.open_read("nope/missing.bin")
    assert not store.exists("nope/missing.bin")


def test_list_keys_by_prefix_sorted(store):
    keys = [
        "u1/bulk_runs/bags/r1/metadata/summary.json",
        "u1/bulk_runs/bags/r1/images/generation_10.png",
        "u1/bulk_runs/bags/r1/images/generation_2.png",
        "u1/bulk_runs/bags/r10/images/generation_1.png",
        "u2/bulk_runs/bags/r3/images/generation_1.png",
        "prompt_history/p1/r1/analytics.json",
    ]
    for k in keys:
        store.put_bytes(k, k.encode())
    assert store.list_keys("") == sorted(keys)
    assert store.list_keys("u1/bulk_runs/bags/r1/") == sorted(keys[:3])
    assert store.list_keys("u1/bulk_runs/bags/r1") == sorted(keys[:4])  # string prefix
    assert store.list_keys("u1/bulk_runs/bags/r1/images/gen") == sorted(keys[1:3])
    assert store.list_keys("u3/") == []
    assert store.list_keys("zzz") == []


def test_list_versions_change_when_an_object_is_rewritten(store):
    store.put_bytes("v/a.bin", b"one")
    store.put_bytes("v/b.bin", b"two")
    store.put_bytes("w/c.bin", b"other folder")
    first = store.list_versions("v/")
    assert list(first) == store.list_keys("v/") == ["v/a.bin", "v/b.bin"]
    store.put_bytes("v/a.bin", b"three")
    second = store.list_versions("v/")
    assert second["v/a.bin"] != first["v/a.bin"]
    assert second["v/b.bin"] == first["v/b.bin"]
    assert store.list_versions("zzz") == {}
    with pytest.raises(InvalidKey):
        store.list_versions("../")


def test_local_path_is_the_objects_file_or_none(store):
    store.put_bytes("p/a.bin", b"bytes")
    path = store.local_path("p/a.bin")
    if store.location("p/a.bin").startswith("s3://"):
        assert path is None  # not a file here: read through get_bytes / open_read
    else:
        assert path is not None and path.read_bytes() == b"bytes"
    with pytest.raises(InvalidKey):
        store.local_path("../escape")


def test_open_read_streams(store):
    data = os.urandom(300_000)
    store.put_bytes("big/blob.bin", data)
    chunks = []
    with store.open_read("big/blob.bin") as f:
        while chunk := f.read(65536):
            chunks.append(chunk)
    assert b"".join(chunks) == data


def test_upload_file_20mb(store, tmp_path: Path):
    path = tmp_path / "archive.zip"
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(20):
            block = os.urandom(1024 * 1024)
            digest.update(block)
            f.write(block)
    store.upload_file("u1/bulk_runs/bags/r1/r1_bulk_generation.zip", path, "application/zip")
    got = hashlib.sha256()
    with store.open_read("u1/bulk_runs/bags/r1/r1_bulk_generation.zip") as f:
        while chunk := f.read(1024 * 1024):
            got.update(chunk)
    assert got.hexdigest() == digest.hexdigest()


def test_download_url_is_fetchable(store):
    store.put_bytes("u1/r1/file.zip", b"zip bytes", content_type="application/zip")
    url = store.download_url("u1/r1/file.zip", expires_in=600)
    body, _headers = _fetch(url)
    assert body == b"zip bytes"


@pytest.mark.parametrize(
    "key",
    ["../escape", "a/../../escape", "/abs/path", "a//b", "a/./b", "", "a\\b", "a/..", ".."],
)
def test_path_escape_rejected(store, key):
    with pytest.raises(InvalidKey):
        store.put_bytes(key, b"x")
    with pytest.raises(InvalidKey):
        store.exists(key)
    with pytest.raises(InvalidKey):
        store.get_bytes(key)


def test_list_prefix_escape_rejected(store):
    with pytest.raises(InvalidKey):
        store.list_keys("../")


def test_location(store):
    loc = store.location("u1/r1/a.png")
    assert loc.endswith("u1/r1/a.png")
    if isinstance(store, S3ObjectStore):
        assert loc == f"s3://{store.bucket}/data/u1/r1/a.png"
    else:
        assert Path(loc).is_absolute()


def test_concurrent_puts(store):
    errors: list[BaseException] = []

    def put(i: int) -> None:
        try:
            store.put_bytes(f"c/{i % 4}.bin", bytes([i % 4]) * 10_000)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.list_keys("c/") == [f"c/{i}.bin" for i in range(4)]
    assert store.get_bytes("c/3.bin") == b"\x03" * 10_000


def test_put_bytes_accepts_large_payload_via_stream(store):
    store.put_bytes("x/y.bin", io.BytesIO(b"abc").getvalue())
    assert store.get_bytes("x/y.bin") == b"abc"
