"""Run tags: replaced as a whole, read for a page of runs at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.models import RunTag


def set_run_tags(session: Session, user_id: str, run_id: str, tags: Sequence[str]) -> None:
    session.execute(delete(RunTag).where(RunTag.run_id == run_id))
    session.add_all(RunTag(run_id=run_id, user_id=user_id, tag=tag) for tag in tags)
    session.flush()


def tags_of(session: Session, run_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each run's tags, in alphabetical order (runs without any are left out)."""
    if not run_ids:
        return {}
    found: dict[str, list[str]] = defaultdict(list)
    rows = session.execute(
        select(RunTag.run_id, RunTag.tag)
        .where(RunTag.run_id.in_(list(run_ids)))
        .order_by(RunTag.run_id, RunTag.tag)
    )
    for run_id, tag in rows:
        found[run_id].append(tag)
    return dict(found)
