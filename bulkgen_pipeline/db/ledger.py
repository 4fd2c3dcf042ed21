"""Row locks and the append-only credit ledger.

Lock order everywhere: user row → job row → header row (no deadlocks on PostgreSQL).
Per run and pass (the first run is pass 0, each retry-failed opens the next) the ledger holds at
most one `reserve`, one `charge` and one `release` row; a reservation is *open* while its pass
has no `release` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.errors import UnknownJob, UnknownUser
from bulkgen_pipeline.db.models import BackendJob, BulkGenerationHeader, CreditLedger, User

# Which way each kind moves a merchant's credits: a grant and a release come in, a reservation
# and a charge go out (a charge spends what its reservation held; the release returns the rest).
DIRECTION = {"grant": 1, "reserve": -1, "charge": -1, "release": 1}


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    user_id: str
    run_id: str | None
    kind: str
    amount: int
    created_at: datetime
    pass_number: int = 0
    note: str | None = None  # why an operator granted credits

    @property
    def signed_amount(self) -> int:
        return DIRECTION[self.kind] * self.amount

    @classmethod
    def of(cls, row: CreditLedger) -> LedgerEntry:
        return cls(
            row.id,
            row.user_id,
            row.run_id,
            row.kind,
            row.amount,
            row.created_at,
            row.pass_number,
            row.note,
        )


def _locked(session: Session, stmt: Select):
    # FOR NO KEY UPDATE: rows inserted meanwhile that reference this one (events, items, ledger)
    # take a KEY SHARE lock on it, which this does not wait for, so they cannot deadlock with it.
    return session.execute(
        stmt.with_for_update(key_share=True).execution_options(populate_existing=True)
    ).scalar_one_or_none()


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def lock_user(session: Session, user_id: str) -> User:
    """SELECT … FOR UPDATE the user (SQLite: the whole transaction is already exclusive)."""
    user = _locked(session, select(User).where(User.id == user_id))
    if user is None:
        raise UnknownUser(user_id)
    return user


def lock_run(session: Session, run_id: str) -> tuple[BackendJob, BulkGenerationHeader, User]:
    """Lock the run's user, job and header rows (in that order)."""
    user_id = session.scalar(select(BackendJob.user_id).where(BackendJob.uuid == run_id))
    if user_id is None:
        raise UnknownJob(run_id)
    user = lock_user(session, user_id)
    job, header = lock_run_rows(session, run_id)
    return job, header, user


def lock_run_rows(session: Session, run_id: str) -> tuple[BackendJob, BulkGenerationHeader]:
    """Lock the run's job and header rows (not the user: no credits are touched)."""
    job = _locked(session, select(BackendJob).where(BackendJob.uuid == run_id))
    header = _locked(session, select(BulkGenerationHeader).where(BulkGenerationHeader.id == run_id))
    if job is None or header is None:
        raise UnknownJob(run_id)
    return job, header


def ledger_entry(
    session: Session, run_id: str, kind: str, pass_number: int = 0
) -> CreditLedger | None:
    return session.execute(
        select(CreditLedger).where(
            CreditLedger.run_id == run_id,
            CreditLedger.kind == kind,
            CreditLedger.pass_number == pass_number,
        )
    ).scalar_one_or_none()


def add_ledger_entry(
    session: Session,
    *,
    user_id: str,
    run_id: str | None,
    kind: str,
    amount: int,
    pass_number: int = 0,
    note: str | None = None,
) -> None:
    session.add(
        CreditLedger(
            user_id=user_id,
            run_id=run_id,
            kind=kind,
            amount=amount,
            pass_number=pass_number,
            note=note,
        )
    )
    session.flush()


def open_reservation(session: Session, job: BackendJob) -> int | None:
    """Credits still reserved by the job's current pass (None when nothing is open)."""
    reserve = ledger_entry(session, job.uuid, "reserve", job.pass_number)
    if reserve is None or ledger_entry(session, job.uuid, "release", job.pass_number):
        return None
    return reserve.amount


def release_reservation(session: Session, user: User, job: BackendJob) -> int:
    """Close the current pass's reservation if it is still open; returns the credits released
    (0 when there was nothing open). Caller holds the user lock."""
    amount = open_reservation(session, job)
    if amount is None:
        return 0
    user.credits_reserved -= amount
    add_ledger_entry(
        session,
        user_id=user.id,
        run_id=job.uuid,
        kind="release",
        amount=amount,
        pass_number=job.pass_number,
    )
    return amount


def ledger_entries(
    session: Session, *, run_id: str | None = None, user_id: str | None = None
) -> list[LedgerEntry]:
    stmt = select(CreditLedger).order_by(CreditLedger.id)
    if run_id is not None:
        stmt = stmt.where(CreditLedger.run_id == run_id)
    if user_id is not None:
        stmt = stmt.where(CreditLedger.user_id == user_id)
    return [LedgerEntry.of(row) for row in session.scalars(stmt)]


def credit_invariant_violations(session: Session, user_id: str | None = None) -> list[str]:
    """Check the books: reserved == open reservations, balance == grants − charges,
    0 <= reserved <= balance. Returns human-readable problems (empty = consistent)."""
    problems: list[str] = []
    users = session.scalars(
        select(User).where(User.id == user_id) if user_id else select(User)
    ).all()
    release = CreditLedger.__table__.alias("release_row")
    released = exists().where(
        and_(
            release.c.kind == "release",
            release.c.run_id == CreditLedger.run_id,
            release.c.pass_number == CreditLedger.pass_number,
        )
    )
    for user in users:
        open_reserved: int = session.scalar(  # type: ignore[assignment]
            select(func.coalesce(func.sum(CreditLedger.amount), 0)).where(
                CreditLedger.user_id == user.id,
                CreditLedger.kind == "reserve",
                ~released,
            )
        )
        grants, charges = (
            int(
                session.scalar(  # type: ignore[arg-type]
                    select(func.coalesce(func.sum(CreditLedger.amount), 0)).where(
                        CreditLedger.user_id == user.id, CreditLedger.kind == kind
                    )
                )
            )
            for kind in ("grant", "charge")
        )
        if user.credits_reserved != open_reserved:
            problems.append(
                f"user {user.id}: credits_reserved={user.credits_reserved} but open "
                f"reservations sum to {open_reserved}"
            )
        if user.credits_balance != grants - charges:
            problems.append(
                f"user {user.id}: credits_balance={user.credits_balance} but grants-charges="
                f"{grants - charges}"
            )
        if not 0 <= user.credits_reserved <= user.credits_balance:
            problems.append(
                f"user {user.id}: reserved={user.credits_reserved} balance={user.credits_balance}"
            )
    return problems
