"""What a merchant's overview pages need at a glance, each in one bounded query whatever the
number of runs: the newest run of each preset, and the newest credit ledger entries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bulkgen_pipeline.db.ledger import LedgerEntry
from bulkgen_pipeline.db.models import BackendJob, CreditLedger

RECENT_LEDGER_ENTRIES = 20


@dataclass(frozen=True)
class LastRun:
    run_id: str
    status: str
    created_at: datetime


def last_runs_by_preset(
    session: Any, user_id: str, preset_ids: Iterable[str]
) -> dict[str, LastRun]:
    """The user's newest (not deleted) run of each of `preset_ids`; presets never run are absent."""
    wanted = list(preset_ids)
    if not wanted:
        return {}
    newest = (
        select(func.max(BackendJob.seq))
        .where(
            BackendJob.user_id == user_id,
            BackendJob.preset_id.in_(wanted),
            BackendJob.deleted_at.is_(None),
        )
        .group_by(BackendJob.preset_id)
    )
    rows = session.execute(
        select(
            BackendJob.preset_id, BackendJob.uuid, BackendJob.status, BackendJob.created_at
        ).where(BackendJob.seq.in_(newest))
    ).all()
    return {row.preset_id: LastRun(row.uuid, row.status, row.created_at) for row in rows}


def recent_ledger_entries(
    session: Any, user_id: str, limit: int = RECENT_LEDGER_ENTRIES
) -> list[LedgerEntry]:
    """The user's newest `limit` ledger entries that moved credits, newest first (a release of
    nothing, booked when a run used all it reserved, is left out)."""
    rows = session.scalars(
        select(CreditLedger)
        .where(CreditLedger.user_id == user_id, CreditLedger.amount != 0)
        .order_by(CreditLedger.id.desc())
        .limit(limit)
    )
    return [LedgerEntry.of(row) for row in rows]
