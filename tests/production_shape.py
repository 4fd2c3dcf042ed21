"""The production shape brought up the way the README says: an environment file and
`deploy/production.sh`, which runs `bulkgen serve` (code server, daemon, run workers, API).

Shared by the burst test (tests/pipeline/test_burst.py) and `make bench` (bench_burst.py): a
fresh PostgreSQL database for the app and Dagster, a fresh DAGSTER_HOME, a local object store,
the fake Replicate server given by the caller, Redis as the run queue.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PRODUCTION_SCRIPT = REPO / "deploy" / "production.sh"
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Shape:
    process: subprocess.Popen[bytes]
    api_url: str
    env: dict[str, str]
    log_path: Path

    @property
    def database_url(self) -> str:
        return self.env["BULKGEN_DATABASE_URL"]

    def request(
        self, method: str, path: str, key: str, body: object = None, timeout: float = 30
    ) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.api_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def shape_env(
    workdir: Path, postgres_url: str, provider_env: Mapping[str, str], *, broker_db: int
) -> dict[str, str]:
    """The environment file's values for a shape in `workdir` on the database `postgres_url`."""
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    return {
        "BULKGEN_HOME": str(workdir / "home"),
        "BULKGEN_DATABASE_URL": postgres_url,
        "BULKGEN_STORAGE_URL": str(workdir / "store"),
        "DAGSTER_HOME": str(workdir / "dagster_home"),
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_USER": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": url.database or "",
        "BULKGEN_BROKER_URL": f"redis://127.0.0.1:6379/{broker_db}",
        "BULKGEN_CODE_SERVER_HOST": "127.0.0.1",
        "BULKGEN_CODE_SERVER_PORT": str(free_port()),
        "BULKGEN_API_HOST": "127.0.0.1",
        "BULKGEN_API_PORT": str(free_port()),
        **provider_env,
    }


@contextmanager
def production_shape(
    workdir: Path,
    postgres_url: str,
    provider_env: Mapping[str, str],
    *,
    broker_db: int = 14,
    dagster_yaml: str | None = None,
) -> Iterator[Shape]:
    """Start deploy/production.sh with a fresh environment file; stop it (SIGTERM) on exit.

    `dagster_yaml` replaces deploy/dagster.yaml (production.sh keeps an instance's own file),
    for the benchmark's comparison of designs."""
    import redis

    env = shape_env(workdir, postgres_url, provider_env, broker_db=broker_db)
    if dagster_yaml is not None:
        Path(env["DAGSTER_HOME"]).mkdir(parents=True)
        (Path(env["DAGSTER_HOME"]) / "dagster.yaml").write_text(dagster_yaml)
    redis.Redis.from_url(env["BULKGEN_BROKER_URL"]).flushdb()  # no message of an earlier run
    env_file = workdir / "production.env"
    env_file.write_text("".join(f"{name}='{value}'\n" for name, value in env.items()))
    log_path = workdir / "production.log"
    process_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BULKGEN_", "DAGSTER_", "REPLICATE_", "GOOGLE_"))
    }
    process_env["BULKGEN_BIN"] = str(Path(sys.executable).with_name("bulkgen"))
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(PRODUCTION_SCRIPT), "--env-file", str(env_file)],
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,
        )
    shape = Shape(process, f"http://127.0.0.1:{env['BULKGEN_API_PORT']}", env, log_path)
    try:
        _wait_until_up(shape)
        yield shape
    finally:
        _stop(process)


def _wait_until_up(shape: Shape) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if shape.process.poll() is not None:
            raise RuntimeError(f"production.sh exited ({shape.process.returncode}):\n{shape.log()}")
        try:
            with urllib.request.urlopen(shape.api_url + "/healthz", timeout=2):
                pass
        except OSError:
            time.sleep(0.2)
            continue
        if "worker: ready" in shape.log() or "ready." in shape.log():
            return
        time.sleep(0.2)
    raise TimeoutError(f"the production shape did not come up:\n{shape.log()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
