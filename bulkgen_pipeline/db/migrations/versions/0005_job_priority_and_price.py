"""A job's priority among its merchant's queued jobs, and the credits one of its images costs
(its chosen model's price; 1 unless the catalogue says more).

Revision ID: 0005_job_priority_and_price
Revises: 0004_ledger_notes
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_job_priority_and_price"
down_revision = "0004_ledger_notes"
branch_labels = None
depends_on = None

# Frozen here: a migration must not change when the application's enums do.
PRIORITIES = ("normal", "high")


def upgrade() -> None:
    with op.batch_alter_table("backend_jobs") as batch:
        batch.add_column(
            sa.Column("priority", sa.String(10), nullable=False, server_default="normal")
        )
        batch.add_column(
            sa.Column("credits_per_image", sa.Integer, nullable=False, server_default="1")
        )
        batch.create_check_constraint(
            "ck_backend_jobs_priority",
            "priority IN (" + ", ".join(f"'{p}'" for p in PRIORITIES) + ")",
        )
        batch.create_check_constraint("ck_backend_jobs_credits_per_image", "credits_per_image >= 1")


def downgrade() -> None:
    with op.batch_alter_table("backend_jobs") as batch:
        batch.drop_constraint("ck_backend_jobs_credits_per_image", type_="check")
        batch.drop_constraint("ck_backend_jobs_priority", type_="check")
        batch.drop_column("credits_per_image")
        batch.drop_column("priority")
