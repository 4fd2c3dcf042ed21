"""Object store in an S3 bucket (AWS, MinIO, moto…), through a boto3 S3 client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from bulkgen_pipeline.storage.base import (
    DEFAULT_CONTENT_TYPE,
    DEFAULT_URL_EXPIRY_S,
    ObjectNotFound,
    normalize_key,
)

_MB = 1024 * 1024
# Files above 8 MB go up in 8 MB parts, at most 4 in flight: memory stays bounded.
TRANSFER_CONFIG = TransferConfig(
    multipart_threshold=8 * _MB, multipart_chunksize=8 * _MB, max_concurrency=4
)
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def _is_not_found(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _NOT_FOUND


class S3ObjectStore:
    """Keys live under ``s3://{bucket}/{prefix}/``. The client is used as given (boto3 clients
    are thread-safe), so endpoint, region and credentials are the caller's choice."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        if not bucket:
            raise ValueError("bucket must not be empty")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            normalize_key(self.prefix)

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.location('')!r})"

    def _key(self, key: str) -> str:
        key = normalize_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_bytes(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
        )

    def upload_file(self, key: str, path: Path, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        self.client.upload_file(
            str(path),
            self.bucket,
            self._key(key),
            ExtraArgs={"ContentType": content_type},
            Config=TRANSFER_CONFIG,
        )

    def open_read(self, key: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as e:
            if _is_not_found(e):
                raise ObjectNotFound(key) from None
            raise
        return response["Body"]

    def get_bytes(self, key: str) -> bytes:
        with self.open_read(key) as body:
            return body.read()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as e:
            if _is_not_found(e):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def _objects(self, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(key, listing entry) of every object whose key starts with `prefix`."""
        normalize_key(prefix, allow_empty=True)
        root = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=root + prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(root) :], obj

    def list_keys(self, prefix: str = "") -> list[str]:
        return sorted(key for key, _ in self._objects(prefix))

    def list_versions(self, prefix: str = "") -> dict[str, str]:
        return dict(sorted((key, f"{o['ETag']}:{o['Size']}") for key, o in self._objects(prefix)))

    def local_path(self, key: str) -> Path | None:
        normalize_key(key)
        return None

    def download_url(
        self, key: str, expires_in: int = DEFAULT_URL_EXPIRY_S, filename: str | None = None
    ) -> str:
        params = {"Bucket": self.bucket, "Key": self._key(key)}
        if filename:
            safe = filename.replace('"', "").replace("\\", "")
            params["ResponseContentDisposition"] = f'attachment; filename="{safe}"'
        return self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=int(expires_in)
        )

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key) if key else self.prefix}".rstrip("/")
