"""Initial schema: users, presets, backend_jobs, bulk_generation_header, img_history,
generation_items, credit_ledger.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("api_key_hash", sa.String(64), nullable=False),
        sa.Column("credits_balance", sa.Integer(), nullable=False),
        sa.Column("credits_reserved", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("api_key_hash", name="uq_users_api_key_hash"),
        sa.CheckConstraint("credits_balance >= 0", name="ck_users_balance_non_negative"),
        sa.CheckConstraint("credits_reserved >= 0", name="ck_users_reserved_non_negative"),
    )
    op.create_table(
        "presets",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_presets"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_presets_user_id_users"),
    )
    op.create_index("ix_presets_user_id", "presets", ["user_id"])
    op.create_table(
        "backend_jobs",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("job_type", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("preset_id", sa.String(36), nullable=True),
        sa.Column("preset_snapshot", sa.JSON(), nullable=False),
        sa.Column("requested_count", sa.Integer(), nullable=False),
        sa.Column("result_url", sa.Text(), nullable=True),
        sa.Column("download_link", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("dagster_run_id", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_backend_jobs"),
        sa.UniqueConstraint("uuid", name="uq_backend_jobs_uuid"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_backend_jobs_user_id_users"),
        sa.ForeignKeyConstraint(
            ["preset_id"], ["presets.id"], name="fk_backend_jobs_preset_id_presets"
        ),
        sa.CheckConstraint(
            _in(
                "status",
                ("queued", "processing", "cancelling", "cancelled", "completed", "failed"),
            ),
            name="ck_backend_jobs_status",
        ),
    )
    op.create_index("ix_backend_jobs_user_id", "backend_jobs", ["user_id"])
    op.create_index("ix_backend_jobs_status", "backend_jobs", ["status"])
    op.create_table(
        "bulk_generation_header",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("preset_id", sa.String(36), nullable=True),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("total_images", sa.Integer(), nullable=False),
        sa.Column("completed_images", sa.Integer(), nullable=False),
        sa.Column("failed_images", sa.Integer(), nullable=False),
        sa.Column("s3_folder_path", sa.Text(), nullable=False),
        sa.Column("zip_file_s3_key", sa.Text(), nullable=True),
        sa.Column("zip_file_url", sa.Text(), nullable=True),
        sa.Column("zip_file_expires_at", TS, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("credits_consumed", sa.Integer(), nullable=False),
        sa.Column("estimated_credits", sa.Integer(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bulk_generation_header"),
        sa.ForeignKeyConstraint(
            ["id"], ["backend_jobs.uuid"], name="fk_bulk_generation_header_id_backend_jobs"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_bulk_generation_header_user_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["preset_id"], ["presets.id"], name="fk_bulk_generation_header_preset_id_presets"
        ),
        sa.CheckConstraint(
            _in("status", ("pending", "processing", "completed", "failed", "cancelled")),
            name="ck_bulk_generation_header_status",
        ),
    )
    op.create_index("ix_bulk_generation_header_user_id", "bulk_generation_header", ["user_id"])
    op.create_table(
        "img_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("aws_folder_id", sa.String(64), nullable=False),
        sa.Column("ai_model", sa.String(200), nullable=True),
        sa.Column("operation_type", sa.String(50), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("object_key", sa.Text(), nullable=True),
        sa.Column("generation_index", sa.Integer(), nullable=True),
        sa.Column("provider", sa.String(100), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_img_history"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_img_history_user_id_users"),
        sa.UniqueConstraint(
            "aws_folder_id", "generation_index", name="uq_img_history_aws_folder_id"
        ),
    )
    op.create_index("ix_img_history_user_id", "img_history", ["user_id"])
    op.create_table(
        "generation_items",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("generation_index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("provider", sa.String(100), nullable=True),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("object_key", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "generation_index", name="pk_generation_items"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["backend_jobs.uuid"],
            name="fk_generation_items_run_id_backend_jobs",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            _in("status", ("pending", "running", "succeeded", "failed")),
            name="ck_generation_items_status",
        ),
    )
    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_credit_ledger"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_credit_ledger_user_id_users"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["backend_jobs.uuid"], name="fk_credit_ledger_run_id_backend_jobs"
        ),
        sa.UniqueConstraint("run_id", "kind", name="uq_credit_ledger_run_id"),
        sa.CheckConstraint(
            _in("kind", ("grant", "reserve", "charge", "release")), name="ck_credit_ledger_kind"
        ),
        sa.CheckConstraint("amount >= 0", name="ck_credit_ledger_amount_non_negative"),
    )
    op.create_index("ix_credit_ledger_user_id", "credit_ledger", ["user_id"])


def downgrade() -> None:
    for index, table in (
        ("ix_credit_ledger_user_id", "credit_ledger"),
        ("ix_img_history_user_id", "img_history"),
        ("ix_bulk_generation_header_user_id", "bulk_generation_header"),
        ("ix_backend_jobs_status", "backend_jobs"),
        ("ix_backend_jobs_user_id", "backend_jobs"),
        ("ix_presets_user_id", "presets"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "credit_ledger",
        "generation_items",
        "img_history",
        "bulk_generation_header",
        "backend_jobs",
        "presets",
        "users",
    ):
        op.drop_table(table)
