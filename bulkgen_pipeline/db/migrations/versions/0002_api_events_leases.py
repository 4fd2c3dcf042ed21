"""The HTTP API and reliability: job events (SSE), idempotency keys, webhook outbox and
attempts, retry passes in the ledger, the `partial` status, job leases, soft deletes.

Revision ID: 0002_api_events_leases
Revises: 0001_initial
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_api_events_leases"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
# Frozen here: a migration must not change when the application's enums do.
JOB_STATUSES = ("queued", "processing", "cancelling", "cancelled", "completed", "partial", "failed")
HEADER_STATUSES = ("pending", "processing", "completed", "partial", "failed", "cancelled")
OLD_JOB_STATUSES = ("queued", "processing", "cancelling", "cancelled", "completed", "failed")
OLD_HEADER_STATUSES = ("pending", "processing", "completed", "failed", "cancelled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("webhook_secret", sa.String(100), nullable=True))
    with op.batch_alter_table("presets") as batch:
        batch.add_column(sa.Column("deleted_at", TS, nullable=True))
    with op.batch_alter_table("backend_jobs") as batch:
        batch.add_column(sa.Column("webhook_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("webhook_events", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("pass_number", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("lease_owner", sa.String(200), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", TS, nullable=True))
        batch.add_column(
            sa.Column("resume_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("deleted_at", TS, nullable=True))
        batch.drop_constraint("ck_backend_jobs_status", type_="check")
        batch.create_check_constraint("ck_backend_jobs_status", _in("status", JOB_STATUSES))
    with op.batch_alter_table("bulk_generation_header") as batch:
        batch.drop_constraint("ck_bulk_generation_header_status", type_="check")
        batch.create_check_constraint(
            "ck_bulk_generation_header_status", _in("status", HEADER_STATUSES)
        )
    with op.batch_alter_table("credit_ledger") as batch:
        batch.add_column(sa.Column("pass_number", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_credit_ledger_run_id", type_="unique")
        batch.create_unique_constraint("uq_credit_ledger_run_id", ["run_id", "kind", "pass_number"])

    op.create_table(
        "job_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job_events"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["backend_jobs.uuid"],
            name="fk_job_events_run_id_backend_jobs",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_job_events_run_id_id", "job_events", ["run_id", "id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_idempotency_keys_user_id_users"
        ),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint("webhook_id", name="uq_webhook_deliveries_webhook_id"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["backend_jobs.uuid"],
            name="fk_webhook_deliveries_run_id_backend_jobs",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_webhook_deliveries_user_id_users"
        ),
        sa.CheckConstraint(
            _in("status", ("pending", "delivered", "failed")),
            name="ck_webhook_deliveries_status",
        ),
    )
    op.create_index("ix_webhook_deliveries_run_id", "webhook_deliveries", ["run_id"])
    op.create_index(
        "ix_webhook_deliveries_status_next_attempt_at",
        "webhook_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempted_at", TS, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name="fk_webhook_attempts_delivery_id_webhook_deliveries",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_attempts_delivery_id", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_status_next_attempt_at", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_run_id", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_job_events_run_id_id", table_name="job_events")
    op.drop_table("job_events")
    with op.batch_alter_table("credit_ledger") as batch:
        batch.drop_constraint("uq_credit_ledger_run_id", type_="unique")
        batch.create_unique_constraint("uq_credit_ledger_run_id", ["run_id", "kind"])
        batch.drop_column("pass_number")
    with op.batch_alter_table("bulk_generation_header") as batch:
        batch.drop_constraint("ck_bulk_generation_header_status", type_="check")
        batch.create_check_constraint(
            "ck_bulk_generation_header_status", _in("status", OLD_HEADER_STATUSES)
        )
    with op.batch_alter_table("backend_jobs") as batch:
        batch.drop_constraint("ck_backend_jobs_status", type_="check")
        batch.create_check_constraint("ck_backend_jobs_status", _in("status", OLD_JOB_STATUSES))
        for column in (
            "deleted_at",
            "resume_count",
            "lease_expires_at",
            "lease_owner",
            "pass_number",
            "webhook_events",
            "webhook_url",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("presets") as batch:
        batch.drop_column("deleted_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("webhook_secret")
