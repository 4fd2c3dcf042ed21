"""The API served for real (uvicorn on 127.0.0.1) over a real database, store and Dagster
instance; tests talk to it over HTTP with httpx, and run queued jobs the way the daemon does:
the queue sensor's run requests, materialized in-process."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
import uvicorn

from bulkgen_pipeline import db
from bulkgen_pipeline.config import Settings
from bulkgen_pipeline.definitions import BULK_ASSETS
from bulkgen_pipeline.resources.database import DatabaseResource
from bulkgen_pipeline.resources.images import ImageGenerationResource
from bulkgen_pipeline.resources.object_store import ObjectStoreResource
from bulkgen_pipeline.sensors.queue import queued_bulk_jobs
from bulkgen_pipeline.storage import open_object_store
from bulkgen_pipeline.web.app import create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` with uvicorn on a free loopback port; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@dataclass
class Merchant:
    user_id: str
    api_key: str
    client: httpx.Client

    def preset(self, **config: Any) -> str:
        data = json.loads((EXAMPLES / "professional_bags.json").read_text())
        data["config"].update(config)
        response = self.client.post("/api/presets", json=data)
        assert response.status_code == 201, response.text
        return response.json()["preset_id"]

    def start(self, preset_id: str, **body: Any) -> httpx.Response:
        return self.client.post("/api/bulk-generation/start", json={"preset_id": preset_id, **body})


@dataclass
class ApiDeployment:
    settings: Settings
    base_url: str
    instance: dg.DagsterInstance
    clients: list[httpx.Client]

    @property
    def database(self) -> db.Database:
        return db.shared_database(self.settings.database_url)

    @property
    def store(self):
        return open_object_store(self.settings.storage_url)

    def merchant(self, credits: int = 50, name: str = "Shop") -> Merchant:
        with self.database.session() as session:
            created = db.create_user(session, name, credits)
        client = self.client(created.api_key)
        return Merchant(created.user_id, created.api_key, client)

    def client(self, api_key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        client = httpx.Client(base_url=self.base_url, headers=headers, timeout=30)
        self.clients.append(client)
        return client

    def resources(self, images: ImageGenerationResource | None = None) -> dict[str, Any]:
        return {
            "database": DatabaseResource(url=self.settings.database_url),
            "object_store": ObjectStoreResource(storage_url=self.settings.storage_url),
            "images": images or ImageGenerationResource(providers="local"),
        }

    def tick(self) -> list[dg.RunRequest]:
        """One evaluation of the queue sensor, its partitions added as the daemon would."""
        context = dg.build_sensor_context(
            instance=self.instance,
            resources={"database": DatabaseResource(url=self.settings.database_url)},
        )
        result = queued_bulk_jobs(context)
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions("bulk_runs", list(request.partition_keys))
        return list(result.run_requests or [])

    def run(self, partition_key: str, images: ImageGenerationResource | None = None) -> bool:
        return dg.materialize(
            BULK_ASSETS,
            partition_key=partition_key,
            instance=self.instance,
            resources=self.resources(images),
            raise_on_error=False,
        ).success

    def run_queued(self, images: ImageGenerationResource | None = None) -> list[str]:
        """Every run the sensor asks for, executed; returns their run keys."""
        requests = self.tick()
        for request in requests:
            assert request.partition_key is not None
            self.run(request.partition_key, images)
        return [r.run_key for r in requests]


def make_settings(tmp_path: Path, database_url: str, **extra: str) -> Settings:
    env = {
        "BULKGEN_HOME": str(tmp_path / "home"),
        "BULKGEN_DATABASE_URL": database_url,
        "BULKGEN_STORAGE_URL": str(tmp_path / "storage"),
        "BULKGEN_WEBHOOK_ALLOW_PRIVATE": "true",
        **extra,
    }
    return Settings.from_env(env)


@contextmanager
def deployment(tmp_path: Path, database_url: str, *, webhooks: bool = False, **extra: str):
    settings = make_settings(tmp_path, database_url, **extra)
    (tmp_path / "dagster").mkdir(exist_ok=True)
    with (
        dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance,
        serve(create_app(settings, webhooks=webhooks)) as base_url,
    ):
        deployed = ApiDeployment(settings, base_url, instance, [])
        try:
            yield deployed
        finally:
            for client in deployed.clients:
                client.close()


@pytest.fixture
def api(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    with deployment(tmp_path, database_url) as deployed:
        yield deployed


@pytest.fixture
def sqlite_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The API on SQLite only, for tests about HTTP behaviour rather than the database."""
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    with deployment(tmp_path, f"sqlite:///{tmp_path / 'bulkgen.db'}") as deployed:
        yield deployed
