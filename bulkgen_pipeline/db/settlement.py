"""Settlement: the one transaction that ends a run's pass.

Credit rules (see also ledger.py):
- a pass reserved R credits when it was queued (the first pass: the whole run; a retry-failed
  pass: the images still missing);
- settling charges exactly the images this pass delivered, S of them, images settled by an
  earlier pass being charged never again (ledger `charge` S, balance −= S) and closes the
  reservation (ledger `release` R−S, reserved −= R);
- if the reservation was already closed (the run had failed or been cancelled, then was
  re-executed), S is charged from the available balance (balance − reserved) directly, or
  InsufficientCredits is raised and nothing changes;
- the `charge` row (UNIQUE(run_id, kind, pass_number)) makes each pass settle at most once:
  calling again returns already_settled=True and changes nothing;
- a test-mode job (`is_test`) reserved nothing and is charged nothing: no ledger row, no
  balance change; its pass is settled once its status says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.errors import InsufficientCredits
from bulkgen_pipeline.db.ledger import add_ledger_entry, ledger_entry, lock_run, open_reservation
from bulkgen_pipeline.db.models import OPERATION_BULK, BackendJob, ImgHistory, User, utcnow
from bulkgen_pipeline.db.transitions import fail_job, set_status
from bulkgen_pipeline.domain.statuses import JobStatus, settled_status

NO_IMAGES_ERROR = "No images were generated successfully"
# A test-mode pass has no `charge` row to say it was settled: these statuses do (a retry-failed
# pass starts queued again).
_TEST_PASS_SETTLED = frozenset({JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.CANCELLED})


@dataclass(frozen=True)
class SettledImage:
    generation_index: int
    object_key: str
    provider: str | None
    model: str | None
    prompt: str | None


@dataclass(frozen=True)
class SettlementResult:
    credits_consumed: int
    credits_released: int
    already_settled: bool


@dataclass(frozen=True)
class ImgHistoryView:
    id: int
    user_id: str
    aws_folder_id: str
    ai_model: str | None
    operation_type: str
    prompt: str | None
    object_key: str | None
    generation_index: int | None
    provider: str | None
    created_at: datetime


def settle_run(
    session: Session,
    run_id: str,
    *,
    images: list[SettledImage],
    failed_count: int,
    zip_key: str,
    zip_url: str,
    zip_expires_at: datetime,
    download_link: str,
) -> SettlementResult:
    """Charge the images this pass delivered, release the rest of its reservation, write one
    img_history row per new image and end header + job (completed, partial, or cancelled when
    a cancel came in), all in the caller's transaction. `images` are every image the run has.

    With no images at all the run is failed instead ("No images were generated
    successfully", reservation released) and credits_consumed is 0.
    """
    indices = [img.generation_index for img in images]
    if len(set(indices)) != len(indices):
        raise ValueError(f"duplicate generation_index in images: {sorted(indices)}")
    if failed_count < 0:
        raise ValueError("failed_count must be >= 0")

    job, header, user = lock_run(session, run_id)
    if job.is_test and job.status in _TEST_PASS_SETTLED:
        return SettlementResult(0, 0, True)
    charge = ledger_entry(session, run_id, "charge", job.pass_number)
    if charge is not None:
        release = ledger_entry(session, run_id, "release", job.pass_number)
        return SettlementResult(charge.amount, release.amount if release else 0, True)

    if job.status == JobStatus.QUEUED:  # it ran before any step recorded that it started
        set_status(session, job, header, JobStatus.PROCESSING)
    open_amount = open_reservation(session, job)
    if not images:
        fail_job(session, run_id, NO_IMAGES_ERROR)
        return SettlementResult(0, open_amount or 0, False)
    if len(images) > job.requested_count:
        raise ValueError(f"{len(images)} images settled but only {job.requested_count} requested")

    new_images = _not_yet_recorded(session, run_id, images)
    consumed, released = _charge(session, job, user, len(new_images), open_amount)
    _record_history(session, user.id, run_id, new_images)
    header.completed_images = len(images)
    header.failed_images = failed_count
    header.credits_consumed += consumed
    header.zip_file_s3_key = zip_key
    header.zip_file_url = zip_url
    header.zip_file_expires_at = zip_expires_at
    job.result_url = job.download_link = download_link
    # A run cancelled mid-way still hands over (and charges) what it finished.
    target = (
        JobStatus.CANCELLED
        if job.status == JobStatus.CANCELLING
        else settled_status(len(images), failed_count)
    )
    set_status(session, job, header, target)
    session.flush()
    return SettlementResult(consumed, released, False)


def _not_yet_recorded(
    session: Session, run_id: str, images: list[SettledImage]
) -> list[SettledImage]:
    """The images of `images` no earlier pass settled (those are never charged again)."""
    already = set(
        session.scalars(
            select(ImgHistory.generation_index).where(ImgHistory.aws_folder_id == run_id)
        )
    )
    return [img for img in images if img.generation_index not in already]


def _charge(
    session: Session, job: BackendJob, user: User, new_images: int, open_amount: int | None
) -> tuple[int, int]:
    """Charge `new_images` at the job's price and close its open reservation (or, when it was
    closed already, charge the available balance); book both. Returns (consumed, released);
    (0, 0) for a test-mode job, which moves no credit."""
    if job.is_test:
        return 0, 0
    consumed = new_images * job.credits_per_image  # credits, at the job's price
    released = 0
    if open_amount is not None:
        released = open_amount - consumed
        if released < 0:
            raise ValueError(
                f"{new_images} images ({consumed} credits) exceed the reservation of {open_amount}"
            )
        user.credits_reserved -= open_amount
        user.credits_balance -= consumed
    else:
        available = user.credits_balance - user.credits_reserved
        if available < consumed:
            raise InsufficientCredits(consumed, available)
        user.credits_balance -= consumed
    moves = [("charge", consumed)] + ([("release", released)] if open_amount is not None else [])
    for kind, amount in moves:
        add_ledger_entry(
            session,
            user_id=user.id,
            run_id=job.uuid,
            kind=kind,
            amount=amount,
            pass_number=job.pass_number,
        )
    return consumed, released


def _record_history(
    session: Session, user_id: str, run_id: str, new_images: list[SettledImage]
) -> None:
    """One img_history row per image this pass delivered, in generation order."""
    now = utcnow()
    for img in sorted(new_images, key=lambda i: i.generation_index):
        session.add(
            ImgHistory(
                user_id=user_id,
                aws_folder_id=run_id,
                ai_model=img.model,
                operation_type=OPERATION_BULK,
                prompt=img.prompt,
                object_key=img.object_key,
                generation_index=img.generation_index,
                provider=img.provider,
                created_at=now,
            )
        )


def list_img_history(session: Session, run_id: str) -> list[ImgHistoryView]:
    rows = session.scalars(
        select(ImgHistory)
        .where(ImgHistory.aws_folder_id == run_id)
        .order_by(ImgHistory.generation_index)
    )
    return [
        ImgHistoryView(
            id=r.id,
            user_id=r.user_id,
            aws_folder_id=r.aws_folder_id,
            ai_model=r.ai_model,
            operation_type=r.operation_type,
            prompt=r.prompt,
            object_key=r.object_key,
            generation_index=r.generation_index,
            provider=r.provider,
            created_at=r.created_at,
        )
        for r in rows
    ]
