from __future__ import annotations

import os
from pathlib import Path

import pytest

from bulkgen_pipeline.storage import LocalObjectStore, open_object_store
from bulkgen_pipeline.storage import local as local_mod


def test_atomic_write_leaves_no_partial_object(tmp_path: Path, monkeypatch):
    store = LocalObjectStore(tmp_path)
    store.put_bytes("a/img.png", b"old")

    def crash(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(local_mod.os, "replace", crash)
    with pytest.raises(OSError):
        store.put_bytes("a/img.png", b"new")
    with pytest.raises(OSError):
        store.put_bytes("a/other.png", b"new")
    assert store.get_bytes("a/img.png") == b"old"
    assert not store.exists("a/other.png")
    assert sorted(os.listdir(tmp_path / "a")) == ["img.png"]  # temp files cleaned up
    assert store.list_keys("") == ["a/img.png"]


def test_partial_files_are_not_listed(tmp_path: Path):
    store = LocalObjectStore(tmp_path)
    store.put_bytes("a/img.png", b"x")
    (tmp_path / "a" / ".img2.png.abc.bulkgen-partial").write_bytes(b"half")
    assert store.list_keys("a/") == ["a/img.png"]


def test_symlink_escape_rejected(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    store = LocalObjectStore(root)
    with pytest.raises(ValueError):
        store.get_bytes("link/secret.txt")


def test_download_url_is_file_uri(tmp_path: Path):
    store = LocalObjectStore(tmp_path / "s")
    store.put_bytes("k/a b.zip", b"z")
    url = store.download_url("k/a b.zip")
    assert url.startswith("file://") and url.endswith("/k/a%20b.zip")


def test_open_object_store_local_forms(tmp_path: Path):
    plain = open_object_store(str(tmp_path / "p"))
    uri = open_object_store((tmp_path / "u").as_uri())
    assert isinstance(plain, LocalObjectStore) and plain.root == (tmp_path / "p").resolve()
    assert isinstance(uri, LocalObjectStore) and uri.root == (tmp_path / "u").resolve()
    with pytest.raises(ValueError):
        open_object_store("")
    with pytest.raises(ValueError):
        open_object_store("file://remotehost/x")


RUN_KEYS = [
    "u/bulk_runs/bags/run-1/images/generation_1.png",
    "u/bulk_runs/bags/run-1/metadata/summary.json",
    "u/bulk_runs/bags/run-1.json",
    "u/bulk_runs/bags/run-10/images/generation_1.png",
    "u/bulk_runs/bags/run-2/images/generation_1.png",
    "u/bulk_runs/bags/other/deep/er/still/generation_1.png",
    "u/bulk_runs/shoes/run-1/images/generation_1.png",
]


def test_list_keys_keeps_string_prefix_semantics_across_siblings(tmp_path: Path):
    store = LocalObjectStore(tmp_path)
    for key in RUN_KEYS:
        store.put_bytes(key, b"x")
    # "run-1" is a string prefix: its sibling folder run-10 and the file run-1.json match too.
    assert store.list_keys("u/bulk_runs/bags/run-1") == sorted(RUN_KEYS[:4])
    assert store.list_keys("u/bulk_runs/bags/run-1/") == sorted(RUN_KEYS[:2])
    assert store.list_keys("u/bulk_runs/bags/run-1/im") == [RUN_KEYS[0]]
    assert store.list_keys("u/bulk_runs/bags/run-3") == []
    assert store.list_keys("u/bulk_runs/b") == sorted(RUN_KEYS[:6])
    assert store.list_keys("u/") == sorted(RUN_KEYS)
    assert store.list_keys("") == sorted(RUN_KEYS)


def test_list_keys_never_enters_folders_that_cannot_hold_the_prefix(tmp_path: Path, monkeypatch):
    store = LocalObjectStore(tmp_path)
    for key in RUN_KEYS:
        store.put_bytes(key, b"x")
    listed: list[str] = []
    real_scandir, real_listdir = os.scandir, os.listdir

    def record(path) -> None:
        listed.append(Path(path).resolve().relative_to(store.root).as_posix())

    def spy_scandir(path="."):
        record(path)
        return real_scandir(path)

    def spy_listdir(path="."):
        record(path)
        return real_listdir(path)

    monkeypatch.setattr(local_mod.os, "scandir", spy_scandir)
    monkeypatch.setattr(local_mod.os, "listdir", spy_listdir)
    assert store.list_keys("u/bulk_runs/bags/run-1") == sorted(RUN_KEYS[:4])
    # Only the prefix's parent and the folders whose keys can start with the prefix are read:
    # never run-2, nor the deep unrelated tree under "other".
    runs = "u/bulk_runs/bags"
    assert sorted(set(listed)) == [
        runs,
        f"{runs}/run-1",
        f"{runs}/run-1/images",
        f"{runs}/run-1/metadata",
        f"{runs}/run-10",
        f"{runs}/run-10/images",
    ]
