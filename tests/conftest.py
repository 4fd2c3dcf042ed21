"""Shared fixtures: PostgreSQL (a fresh database per test session), moto's S3 server, and a
`database_url` parametrized over SQLite and PostgreSQL.

Under CI=true an unreachable PostgreSQL FAILS the tests that need it; elsewhere they skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PG_HOST = os.environ.get("BULKGEN_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BULKGEN_TEST_PG_PORT", "5432"))
PG_USERS = ("postgres", "root")
PG_MAINTENANCE_DBS = ("postgres", "test", "template1")


# `make test` runs pytest-xdist workers. Each test goes to the next free worker on its own,
# except these modules' tests, which share one costly module fixture (a production shape, a
# Dagster UI context) and so go to one worker together. (xdist's own `--dist loadgroup` cannot
# do this under pytest 9: it renames items through an attribute pytest no longer reads.)
ONE_WORKER_MODULES = frozenset(
    {"tests/pipeline/test_burst.py", "tests/pipeline/test_ui_operations.py"}
)


# Temporary files (pytest's tmp_path, every tempfile.mkdtemp of the tests and of the processes
# they start) go to RAM when /dev/shm has room, unless TMPDIR says where: SQLite and Dagster
# commit thousands of times in a run, and each commit's fsync costs ~0.3 ms on this disk
# against ~0.02 on tmpfs.
RAM_TMPDIR = Path("/dev/shm")
RAM_TMPDIR_LEAST_FREE = 4 * 2**30


def _temporary_files_in_ram() -> None:
    if "TMPDIR" in os.environ or not os.access(RAM_TMPDIR, os.W_OK):
        return
    if shutil.disk_usage(RAM_TMPDIR).free < RAM_TMPDIR_LEAST_FREE:
        return
    os.environ["TMPDIR"] = str(RAM_TMPDIR)  # the processes the tests start inherit it
    tempfile.tempdir = None  # gettempdir() chooses again, now from TMPDIR


def pytest_configure(config: pytest.Config) -> None:
    _temporary_files_in_ram()
    config.addinivalue_line(
        "markers",
        "served: the API/console deployment fixtures serve the app with uvicorn on 127.0.0.1 "
        "instead of in this process (tests/api/conftest.py)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked slow first (a stable sort: otherwise in the usual order), so that under
    pytest-xdist the minute-long ones start at once instead of ending last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which plain `pytest` may lack
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Load scheduling by test, ONE_WORKER_MODULES by module; the biggest of those first, then
    every other test in collection order (slow ones first, above)."""
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    return Scheduling(config, log)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_admin_connect():
    """Connect to a maintenance database as the first user that works."""
    import psycopg2

    errors = []
    for user in PG_USERS:
        for dbname in PG_MAINTENANCE_DBS:
            try:
                conn = psycopg2.connect(
                    host=PG_HOST, port=PG_PORT, user=user, dbname=dbname, connect_timeout=3
                )
            except psycopg2.Error as e:
                errors.append(f"{user}@{dbname}: {str(e).strip()}")
                continue
            conn.autocommit = True
            return conn, user
    raise ConnectionError("; ".join(errors))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a PostgreSQL database created for this test session and dropped after it."""
    try:
        admin, user = _pg_admin_connect()
    except (ConnectionError, ImportError) as e:
        message = f"PostgreSQL at {PG_HOST}:{PG_PORT} unreachable: {e}"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    name = f"bulkgen_test_{secrets.token_hex(6)}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://{user}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        from bulkgen_pipeline.db import dispose_shared_databases

        dispose_shared_databases()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def new_postgres_database(postgres_url: str) -> Iterator[Callable[[], str]]:
    """Makes further empty databases on the test server, for tests that start a whole
    deployment of their own (its app and Dagster tables); all are dropped after the session."""
    admin, user = _pg_admin_connect()
    names: list[str] = []

    def create() -> str:
        name = f"bulkgen_test_{secrets.token_hex(6)}"
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        names.append(name)
        return f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{name}"

    try:
        yield create
    finally:
        with admin.cursor() as cur:
            for name in names:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


REDIS_URL = os.environ.get("BULKGEN_TEST_REDIS_URL", "redis://127.0.0.1:6379")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server the run queue uses (fails under CI when unreachable, skips elsewhere)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
    except redis.RedisError as e:
        message = f"Redis at {REDIS_URL} unreachable: {e}"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return REDIS_URL


def _truncate_postgres(url: str) -> None:
    """Empty every table but the migration version tables (tests share the session database)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            tables = (
                conn.execute(
                    sa.text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename NOT IN ('alembic_version', 'bulkgen_alembic_version')"
                    )
                )
                .scalars()
                .all()
            )
            if tables:
                names = ", ".join(f'"{t}"' for t in tables)
                conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty database per test: a fresh SQLite file, or the session PostgreSQL database
    with every table truncated."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'bulkgen.db'}"
    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the head revision once per session (per xdist worker): tests
    that want a migrated database get a copy of it instead of running every migration again."""
    from bulkgen_pipeline.db import Database

    path = tmp_path_factory.mktemp("migrated") / "bulkgen.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    return path


def premigrated(request: pytest.FixtureRequest, database_url: str) -> str:
    """`database_url`; a SQLite one that has no file yet gets a copy of `migrated_sqlite`."""
    if database_url.startswith("sqlite:///"):
        path = Path(database_url.removeprefix("sqlite:///"))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
    return database_url


@pytest.fixture
def db(database_url: str, request: pytest.FixtureRequest):
    """A migrated `Database` on `database_url`, disposed after the test."""
    from bulkgen_pipeline.db import Database

    database = Database(premigrated(request, database_url))
    database.upgrade()
    yield database
    database.dispose()


_dagster_storage_template: Path | None = None


def seed_dagster_storage(folder: Path) -> Path:
    """Fills `folder` with an empty Dagster instance's SQLite storages (run, event log index and
    schedule databases at their head schema), copied from a template made once per process, and
    returns it; `dg.instance_for_test(temp_dir=folder)` then opens them as it would the ones it
    creates. Creating them costs ~0.27 CPU-s an instance, copying them ~0.04."""
    global _dagster_storage_template
    if _dagster_storage_template is None:
        import atexit

        import dagster as dg

        template = Path(tempfile.mkdtemp(prefix="bulkgen-dagster-template-"))
        atexit.register(shutil.rmtree, template, ignore_errors=True)
        with dg.instance_for_test(temp_dir=str(template)):
            pass
        _dagster_storage_template = template
    folder.mkdir(parents=True, exist_ok=True)
    for storage in ("history", "schedules"):
        if not (folder / storage).exists():
            shutil.copytree(_dagster_storage_template / storage, folder / storage)
    return folder


_FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's threaded S3 server on 127.0.0.1 (random port); yields its endpoint URL. Fake AWS
    credentials are set for the session (and restored after). AWS_ENDPOINT_URL is NOT set:
    pass the endpoint explicitly or `monkeypatch.setenv` it."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as mp:
        for key, value in _FAKE_AWS_ENV.items():
            mp.setenv(key, value)
        mp.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture
def s3_client(s3_server: str):
    """A real boto3 S3 client talking HTTP to the moto server."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def s3_bucket(s3_client) -> str:
    """A fresh bucket on the moto server; yields ``s3://<bucket>/<prefix>``."""
    bucket = f"bulkgen-test-{secrets.token_hex(4)}"
    s3_client.create_bucket(Bucket=bucket)
    return f"s3://{bucket}/data"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Iterator[Path]:
    """A fresh BULKGEN_HOME with the offline preview provider, for the CLI; restored after."""
    from bulkgen_pipeline.db import dispose_shared_databases

    home = tmp_path / "home"
    monkeypatch.setenv("BULKGEN_HOME", str(home))
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    # `bulkgen run` points DAGSTER_HOME at the embedded instance; monkeypatch restores it.
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster_home"))
    for name in ("BULKGEN_DATABASE_URL", "BULKGEN_STORAGE_URL"):
        monkeypatch.delenv(name, raising=False)
    yield home
    dispose_shared_databases()


# Debian's Chromium, driven by Playwright (never `playwright install`: it downloads).
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


# BULKGEN_TEST_CPU=FILE: each test's CPU-seconds (this process and its threads, plus the child
# processes it waited for), setup and teardown included, appended to FILE as "seconds nodeid"
# lines; each pytest-xdist worker appends its own. Wall time is noisy on a shared machine.
_CPU_REPORT = os.environ.get("BULKGEN_TEST_CPU")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    if not _CPU_REPORT:
        yield
        return
    import resource

    def cpu() -> float:
        return sum(
            usage.ru_utime + usage.ru_stime
            for usage in (
                resource.getrusage(resource.RUSAGE_SELF),
                resource.getrusage(resource.RUSAGE_CHILDREN),
            )
        )

    before = cpu()
    yield
    with open(_CPU_REPORT, "a") as report:
        report.write(f"{cpu() - before:.2f} {item.nodeid}\n")
