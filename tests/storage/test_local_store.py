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
