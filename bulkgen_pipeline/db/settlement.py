"""Settlement: the one transaction that ends a successful run.

Credit rules (see also ledger.py):
- a run reserved N credits when it was queued (ledger `reserve` N, users.credits_reserved += N);
- settling charges exactly the successful images S (ledger `charge` S, balance −= S) and closes
  the reservation (ledger `release` N−S, reserved −= N);
- if the reservation was already closed (the run had failed or been cancelled, then was
  re-executed), S is charged from the available balance (balance − reserved) directly, or
  InsufficientCredits is raised and nothing changes;
- the `charge` row (UNIQUE(run_id, kind)) makes settlement happen at most once: calling again
  returns already_settled=True and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.errors import InsufficientCredits
from bulkgen_pipeline.db.jobs import fail_job
from bulkgen_pipeline.db.ledger import add_ledger_entry, ledger_entry, lock_run
from bulkgen_pipeline.db.models import OPERATION_BULK, ImgHistory, utcnow

NO_IMAGES_ERROR = "No images were generated successfully"


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
    """Charge the successful images, release the rest of the reservation, write one
    img_history row per image and complete header + job, all in the caller's transaction.

    With no images at all the run is failed instead ("No images were generated
    successfully", reservation released) and credits_consumed is 0.
    """
    indices = [img.generation_index for img in images]
    if len(set(indices)) != len(indices):
        raise ValueError(f"duplicate generation_index in images: {sorted(indices)}")
    if failed_count < 0:
        raise ValueError("failed_count must be >= 0")

    job, header, user = lock_run(session, run_id)
    charge = ledger_entry(session, run_id, "charge")
    if charge is not None:
        release = ledger_entry(session, run_id, "release")
        return SettlementResult(charge.amount, release.amount if release else 0, True)

    reserve = ledger_entry(session, run_id, "reserve")
    open_amount = (
        reserve.amount
        if reserve is not None and ledger_entry(session, run_id, "release") is None
        else None
    )
    if not images:
        fail_job(session, run_id, NO_IMAGES_ERROR)
        return SettlementResult(0, open_amount or 0, False)

    consumed = len(images)
    if consumed > job.requested_count:
        raise ValueError(f"{consumed} images settled but only {job.requested_count} were requested")
    released = 0
    if open_amount is not None:
        released = open_amount - consumed
        if released < 0:
            raise ValueError(f"{consumed} images exceed the reservation of {open_amount}")
        user.credits_reserved -= open_amount
        user.credits_balance -= consumed
    else:
        available = user.credits_balance - user.credits_reserved
        if available < consumed:
            raise InsufficientCredits(consumed, available)
        user.credits_balance -= consumed
    add_ledger_entry(session, user_id=user.id, run_id=run_id, kind="charge", amount=consumed)
    if open_amount is not None:
        add_ledger_entry(session, user_id=user.id, run_id=run_id, kind="release", amount=released)

    now = utcnow()
    for img in sorted(images, key=lambda i: i.generation_index):
        session.add(
            ImgHistory(
                user_id=user.id,
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
    # A run cancelled mid-way still hands over (and charges) what it finished.
    header.status = job.status = "cancelled" if job.status == "cancelling" else "completed"
    header.completed_images = consumed
    header.failed_images = failed_count
    header.credits_consumed = consumed
    header.zip_file_s3_key = zip_key
    header.zip_file_url = zip_url
    header.zip_file_expires_at = zip_expires_at
    header.error_message = job.error_message = None
    header.updated_at = now
    job.result_url = job.download_link = download_link
    job.completed_at = now
    session.flush()
    return SettlementResult(consumed, released, False)


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
