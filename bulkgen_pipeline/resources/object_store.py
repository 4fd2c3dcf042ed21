"""Dagster resource for the object store: a local folder, or S3 via dagster-aws S3Resource."""

from __future__ import annotations

import threading

import dagster as dg

from bulkgen_pipeline.storage import ObjectStore, default_s3_endpoint, open_object_store
from bulkgen_pipeline.storage.retrying import DEFAULT_WRITE_RETRY_S, RetryingStore

_stores: dict[tuple[str, str | None, str | None], ObjectStore] = {}
_lock = threading.Lock()


class ObjectStoreResource(dg.ConfigurableResource):
    """`storage_url` is a folder path (``file://`` accepted) or ``s3://bucket/prefix``. For S3
    the client comes from dagster-aws `S3Resource`; without `endpoint_url` it honours
    AWS_ENDPOINT_URL (MinIO, moto…). Credentials come from the usual AWS environment."""

    storage_url: str
    endpoint_url: str | None = None
    region_name: str | None = None
    # How long a bulk run keeps retrying a write the store refuses (BULKGEN_STORE_RETRY_SECONDS).
    write_retry_seconds: float = DEFAULT_WRITE_RETRY_S

    def get_run_store(self) -> ObjectStore:
        """The store the assets (a bulk run's and the analytics) write through: a refused write
        is retried for `write_retry_seconds`, the bytes kept, before the asset gives up on it."""
        return RetryingStore(self.get_store(), self.write_retry_seconds)

    def get_store(self) -> ObjectStore:
        """The store (one per configuration per process; boto3 clients are thread-safe)."""
        endpoint = self.endpoint_url
        if self.storage_url.startswith("s3://") and endpoint is None:
            endpoint = default_s3_endpoint()
        cache_key = (self.storage_url, endpoint, self.region_name)
        with _lock:
            store = _stores.get(cache_key)
            if store is None:
                store = self._build(endpoint)
                _stores[cache_key] = store
            return store

    def _build(self, endpoint: str | None) -> ObjectStore:
        if not self.storage_url.startswith("s3://"):
            return open_object_store(self.storage_url)
        # Imported here: loading dagster-aws takes over a second every run worker and code
        # server would otherwise pay before its first step, S3 or not.
        from dagster_aws.s3 import S3Resource

        client = S3Resource(endpoint_url=endpoint, region_name=self.region_name).get_client()
        return open_object_store(self.storage_url, s3_client=client)
