from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from bulkgen_pipeline.resources.object_store import ObjectStoreResource
from bulkgen_pipeline.storage import (
    LocalObjectStore,
    S3ObjectStore,
    open_object_store,
    parse_s3_url,
)

pytestmark = pytest.mark.s3


def test_parse_s3_url():
    assert parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b")
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    with pytest.raises(ValueError):
        parse_s3_url("s3:///nobucket")


def test_open_object_store_honours_aws_endpoint_url(s3_server, s3_bucket, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    store = open_object_store(s3_bucket)
    assert isinstance(store, S3ObjectStore)
    store.put_bytes("k.txt", b"hello")
    assert store.get_bytes("k.txt") == b"hello"


def test_prefix_isolation(s3_client, s3_bucket):
    bucket, _ = parse_s3_url(s3_bucket)
    a = S3ObjectStore(s3_client, bucket, "tenant-a")
    b = S3ObjectStore(s3_client, bucket, "tenant-b/")
    root = S3ObjectStore(s3_client, bucket)
    a.put_bytes("x/1.txt", b"a")
    b.put_bytes("x/1.txt", b"b")
    assert a.list_keys("") == ["x/1.txt"] and b.get_bytes("x/1.txt") == b"b"
    assert root.list_keys("") == ["tenant-a/x/1.txt", "tenant-b/x/1.txt"]


def test_content_type_and_download_filename(s3_client, s3_bucket):
    store = open_object_store(s3_bucket, s3_client=s3_client)
    store.put_bytes("r/img.png", b"png", content_type="image/png")
    head = s3_client.head_object(Bucket=store.bucket, Key="data/r/img.png")
    assert head["ContentType"] == "image/png"
    url = store.download_url("r/img.png", filename="generation_1.png")
    assert "X-Amz-Expires=3600" in url or "Expires=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"png"
        assert 'filename="generation_1.png"' in response.headers.get("Content-Disposition", "")


def test_upload_file_is_multipart_and_streams(s3_client, s3_bucket, tmp_path: Path):
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        for i in range(20):
            f.write(bytes([i]) * (1024 * 1024))
    store = open_object_store(s3_bucket, s3_client=s3_client)
    store.upload_file("big.bin", path)
    head = s3_client.head_object(Bucket=store.bucket, Key="data/big.bin")
    assert head["ContentLength"] == 20 * 1024 * 1024
    # multipart ETag "<md5>-<parts>": sent as 8 MB parts (memory use is checked by the
    # benchmarks; moto runs in this process, so tracemalloc would count its copy too)
    assert head["ETag"].strip('"').endswith("-3")
    with store.open_read("big.bin") as f:
        assert f.read(1024 * 1024) == b"\x00" * (1024 * 1024)


def test_object_store_resource_s3(s3_server, s3_bucket):
    resource = ObjectStoreResource(storage_url=s3_bucket, endpoint_url=s3_server)
    store = resource.get_store()
    assert isinstance(store, S3ObjectStore)
    assert resource.get_store() is store
    store.put_bytes("via/resource.txt", b"ok")
    assert store.get_bytes("via/resource.txt") == b"ok"


def test_object_store_resource_env_endpoint(s3_server, s3_bucket, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    store = ObjectStoreResource(storage_url=s3_bucket, region_name="us-east-1").get_store()
    store.put_bytes("env.txt", b"ok")
    assert store.exists("env.txt")


def test_object_store_resource_local(tmp_path: Path):
    store = ObjectStoreResource(storage_url=str(tmp_path / "objs")).get_store()
    assert isinstance(store, LocalObjectStore)
    store.put_bytes("a.txt", b"1")
    assert (tmp_path / "objs" / "a.txt").read_bytes() == b"1"
