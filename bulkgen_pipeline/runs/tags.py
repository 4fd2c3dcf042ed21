"""Tags and bulk actions on a merchant's runs: label runs, delete many at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import db
from ..db.ledger import lock_user
from ..db.tags import set_run_tags, tags_of
from ..domain.errors import FieldProblem, InvalidInput
from ..domain.tags import parse_tags
from ..storage.base import ObjectStore
from .control import JobConflict, delete_run, owned_job
from .errors import NotFound

MAX_BULK_RUNS = 100


def set_tags(database: db.Database, user_id: str, run_id: str, tags: Any) -> list[str]:
    """Replace the run's tags (InvalidInput naming `tags.N`; NotFound for anyone else's)."""
    wanted = parse_tags(tags)
    with database.session() as session:
        owned_job(session, user_id, run_id)
        # Two replacements at once would each delete and insert the same tags: one at a time.
        lock_user(session, user_id)
        set_run_tags(session, user_id, run_id, wanted)
    return sorted(wanted)


def run_tags(database: db.Database, run_ids: list[str]) -> dict[str, list[str]]:
    """Each run's tags (alphabetical), for a page of runs in one query."""
    with database.session(readonly=True) as session:
        return tags_of(session, run_ids)


@dataclass(frozen=True)
class BulkOutcome:
    run_id: str
    outcome: str  # deleted, not_found, conflict
    objects_deleted: int = 0
    detail: str | None = None


def delete_runs(
    database: db.Database, store: ObjectStore, user_id: str, run_ids: list[str]
) -> list[BulkOutcome]:
    """Each run deleted as the single delete does, one outcome each in the order given (a run
    that is not the merchant's is `not_found`, one still running `conflict`)."""
    if not 1 <= len(run_ids) <= MAX_BULK_RUNS:
        raise InvalidInput(
            [FieldProblem("run_ids", f"give 1 to {MAX_BULK_RUNS} run ids, got {len(run_ids)}")]
        )
    outcomes = []
    for run_id in dict.fromkeys(run_ids):  # each once, in order
        try:
            removed = delete_run(database, store, user_id=user_id, run_id=run_id)
        except NotFound:
            outcomes.append(BulkOutcome(run_id, "not_found"))
        except JobConflict as exc:
            outcomes.append(BulkOutcome(run_id, "conflict", detail=str(exc)))
        else:
            outcomes.append(BulkOutcome(run_id, "deleted", removed))
    return outcomes
