"""Object stores: a local folder (default) or S3, behind one `ObjectStore` interface.
No Dagster here; resources/object_store.py wraps it.

boto3 takes a fifth of a second to import: it is loaded only when an S3 store is opened (or
`S3ObjectStore` is asked for), never for the local folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from bulkgen_pipeline.storage.base import (
    DEFAULT_CONTENT_TYPE,
    DEFAULT_URL_EXPIRY_S,
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    ObjectStoreError,
    normalize_key,
)
from bulkgen_pipeline.storage.local import LocalObjectStore

if TYPE_CHECKING:
    from bulkgen_pipeline.storage.s3 import S3ObjectStore


def __getattr__(name: str) -> Any:
    if name == "S3ObjectStore":
        from bulkgen_pipeline.storage.s3 import S3ObjectStore

        return S3ObjectStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse_s3_url(storage_url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ("bucket", "some/prefix")."""
    parsed = urlparse(storage_url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3://bucket[/prefix] URL: {storage_url!r}")
    return parsed.netloc, parsed.path.strip("/")


def default_s3_endpoint() -> str | None:
    """The endpoint from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (MinIO, moto…), if set."""
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def open_object_store(storage_url: str, *, s3_client: Any = None) -> ObjectStore:
    """``s3://bucket/prefix`` → S3ObjectStore (the given client, or a boto3 client honouring
    AWS_ENDPOINT_URL); ``file:///path`` or a plain path → LocalObjectStore."""
    if storage_url.startswith("s3://"):
        from bulkgen_pipeline.storage.s3 import S3ObjectStore

        bucket, prefix = parse_s3_url(storage_url)
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3", endpoint_url=default_s3_endpoint())
        return S3ObjectStore(s3_client, bucket, prefix)
    if storage_url.startswith("file://"):
        parsed = urlparse(storage_url)
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(f"file URL with a remote host is not supported: {storage_url!r}")
        return LocalObjectStore(Path(unquote(parsed.path)))
    if not storage_url:
        raise ValueError("storage_url must not be empty")
    return LocalObjectStore(Path(storage_url))


__all__ = [
    "DEFAULT_CONTENT_TYPE",
    "DEFAULT_URL_EXPIRY_S",
    "InvalidKey",
    "LocalObjectStore",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectStoreError",
    "S3ObjectStore",
    "default_s3_endpoint",
    "normalize_key",
    "open_object_store",
    "parse_s3_url",
]
