"""Spending limits and the low-credit alert: a daily image limit per merchant (the operator's
ceiling and the merchant's own, lower one) and a low-credit threshold with when it last
alerted.

Revision ID: 0006_spending_limits
Revises: 0005_job_priority_and_price
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_spending_limits"
down_revision = "0005_job_priority_and_price"
branch_labels = None
depends_on = None

COLUMNS = ("daily_image_ceiling", "daily_image_limit", "low_credit_threshold")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer, nullable=True))
        batch.add_column(sa.Column("low_credit_alerted_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("low_credit_alerted_at")
        for name in reversed(COLUMNS):
            batch.drop_column(name)
