"""Is the service able to do its work? The database answers and the object store takes writes."""

from __future__ import annotations

from ..db.engine import Database
from ..db.health import ping
from ..storage.base import ObjectStore

OK = "ok"
PROBE_KEY = "healthz/write-probe"


def check_writable(store: ObjectStore) -> None:
    """Raises the store's error unless an object can be written and removed: a store that
    lists and reads but refuses writes fails every run."""
    store.put_bytes(PROBE_KEY, b"ok", "text/plain")
    store.delete(PROBE_KEY)


def service_health(database: Database, store: ObjectStore) -> dict[str, str]:
    """{"database": ..., "store": ...}, each "ok" or "unavailable (<kind of error>)".

    The store is asked to write (and remove) a probe object: a store that still lists and reads
    but refuses writes fails every run, so reachable is not enough."""
    checks = {}
    try:
        ping(database)
        checks["database"] = OK
    except Exception as exc:
        checks["database"] = f"unavailable ({type(exc).__name__})"
    try:
        check_writable(store)
        checks["store"] = OK
    except Exception as exc:
        checks["store"] = f"unavailable ({type(exc).__name__})"
    return checks
