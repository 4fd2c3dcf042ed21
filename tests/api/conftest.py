"""The API over a real database, store and Dagster instance; tests talk to it with an httpx-style
client, and run queued jobs the way the daemon does: the queue sensor's run requests,
materialized in-process.

The app runs in this process behind starlette's TestClient (no socket, no server thread), unless
the test drives a browser (it asks for the `browser` fixture) or is marked `served`: those get
the app served for real by uvicorn on 127.0.0.1 (the API's smoke test over HTTP is one). The
Dagster instance is made the first time a test asks for it: most tests never run a job."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from bulkgen_pipeline import db
from bulkgen_pipeline.config import Settings
from bulkgen_pipeline.definitions import BULK_ASSETS
from bulkgen_pipeline.resources.database import DatabaseResource
from bulkgen_pipeline.resources.images import ImageGenerationResource
from bulkgen_pipeline.resources.object_store import ObjectStoreResource
from bulkgen_pipeline.sensors.queue import queued_bulk_jobs
from bulkgen_pipeline.storage import open_object_store
from bulkgen_pipeline.tls import shared_ssl_context
from bulkgen_pipeline.web.app import create_app

from ..conftest import premigrated, seed_dagster_storage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
IN_PROCESS_URL = "http://127.0.0.1"


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


class InProcessClient(TestClient):
    """A client of the deployment's app in this process: its requests run on the event loop the
    app's lifespan runs on (`portal`). As httpx.Client does, it follows no redirect, answers an
    unhandled error with a 500 instead of raising it, and is a context manager that only closes
    it (TestClient's would start the app a second time)."""

    def __init__(self, app: Any, portal: Any, headers: dict[str, str]) -> None:
        super().__init__(
            app,
            base_url=IN_PROCESS_URL,
            raise_server_exceptions=False,
            headers=headers,
            follow_redirects=False,
            client=("127.0.0.1", 50000),
        )
        self.portal = portal

    def __enter__(self) -> InProcessClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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
    app: Any
    portal: Any | None  # the in-process app's event loop; None when uvicorn serves it
    dagster_dir: Path
    stack: ExitStack
    clients: list[httpx.Client] = field(default_factory=list)
    _instance: dg.DagsterInstance | None = None

    @property
    def instance(self) -> dg.DagsterInstance:
        """A Dagster instance for the test, made on first use and closed with the deployment."""
        if self._instance is None:
            opened = dg.instance_for_test(temp_dir=str(seed_dagster_storage(self.dagster_dir)))
            self._instance = self.stack.enter_context(opened)
        return self._instance

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
        client: httpx.Client
        if self.portal is None:
            client = httpx.Client(
                base_url=self.base_url, headers=headers, timeout=30, verify=shared_ssl_context()
            )
        else:
            # The same calls as httpx.Client's; typed as one for the tests' helpers.
            client = InProcessClient(self.app, self.portal, headers)  # type: ignore[assignment]
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
def deployment(
    tmp_path: Path,
    database_url: str,
    *,
    webhooks: bool = False,
    served: bool = False,
    **extra: str,
) -> Iterator[ApiDeployment]:
    """The app over `database_url`, with its lifespan (the webhook sender with `webhooks`)
    running: in this process, or with `served` on uvicorn at a loopback port."""
    settings = make_settings(tmp_path, database_url, **extra)
    app = create_app(settings, webhooks=webhooks)
    with ExitStack() as stack:
        if served:
            base_url, portal = stack.enter_context(serve(app)), None
        else:
            # Entered, TestClient runs the app's lifespan on an event loop of its own, which
            # every InProcessClient of this deployment then shares.
            base_url, portal = IN_PROCESS_URL, stack.enter_context(TestClient(app)).portal
        deployed = ApiDeployment(settings, base_url, app, portal, tmp_path / "dagster", stack)
        try:
            yield deployed
        finally:
            for client in deployed.clients:
                client.close()


def served(request: pytest.FixtureRequest) -> bool:
    """Whether the test needs the app on a real server: it drives a browser, or is marked."""
    return (
        "browser" in request.fixturenames or request.node.get_closest_marker("served") is not None
    )


@pytest.fixture
def api(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
):
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    url = premigrated(request, database_url)
    with deployment(tmp_path, url, served=served(request)) as deployed:
        yield deployed


@pytest.fixture
def sqlite_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """The API on SQLite only, for tests about HTTP behaviour rather than the database."""
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    url = premigrated(request, f"sqlite:///{tmp_path / 'bulkgen.db'}")
    with deployment(tmp_path, url, served=served(request)) as deployed:
        yield deployed
