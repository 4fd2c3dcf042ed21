"""The object store contract shared by the local folder and S3 implementations."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_URL_EXPIRY_S = 3600


class ObjectStoreError(Exception):
    """Base class for object store errors."""


class ObjectNotFound(ObjectStoreError, LookupError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"No such object: {key}")


class InvalidKey(ObjectStoreError, ValueError):
    """A key that is empty, absolute, or would escape the store (``..``)."""


@runtime_checkable
class ObjectStore(Protocol):
    """Keys are relative, '/'-separated paths such as ``u1/bulk_runs/bags/r1/images/x.png``."""

    def put_bytes(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        """Store `data` under `key` (atomically: readers see the old object or the new one)."""

    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; ObjectNotFound if missing."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object (nothing happens when it is already gone)."""

    def list_keys(self, prefix: str = "") -> list[str]:
        """Sorted keys starting with `prefix` (plain string prefix, as S3 does)."""

    def list_versions(self, prefix: str = "") -> dict[str, str]:
        """The keys list_keys gives, in its order, each with a version that changes whenever
        the object is rewritten (the local folder: mtime and size; S3: ETag and size)."""

    def local_path(self, key: str) -> Path | None:
        """The object's file on this machine, for readers that open files in place (pyarrow,
        a browser download); None where objects are not local files (S3). The file need not
        exist."""

    def open_read(self, key: str) -> BinaryIO:
        """A streaming binary reader (use as a context manager); ObjectNotFound if missing."""

    def upload_file(self, key: str, path: Path, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        """Store a local file without reading it whole into memory (multipart on S3)."""

    def download_url(
        self, key: str, expires_in: int = DEFAULT_URL_EXPIRY_S, filename: str | None = None
    ) -> str:
        """A URL to fetch the object: presigned GET on S3 (``filename`` sets a download
        Content-Disposition), a file:// URI locally."""

    def location(self, key: str) -> str:
        """Where the object lives, for display: ``s3://bucket/prefix/key`` or a local path."""


def normalize_key(key: str, *, allow_empty: bool = False) -> str:
    """Validate a key (or, with allow_empty, a prefix) and return it unchanged.

    Rejects absolute keys, backslashes, NUL, empty, ``.`` and ``..`` segments (a trailing '/'
    is allowed for prefixes)."""
    if not isinstance(key, str):
        raise InvalidKey(f"key must be a string, got {type(key).__name__}")
    if key == "":
        if allow_empty:
            return key
        raise InvalidKey("key must not be empty")
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidKey(f"invalid key {key!r}: must be a relative '/'-separated path")
    segments = key.split("/")
    if allow_empty and segments[-1] == "":
        segments = segments[:-1]
    for segment in segments:
        if segment in ("", ".", ".."):
            raise InvalidKey(f"invalid key {key!r}: empty, '.' or '..' segment")
    return key
