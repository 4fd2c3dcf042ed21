"""Catalogue campaigns: a merchant's named group of runs started together (one per product),
and the campaign each job belongs to.

Revision ID: 0012_campaigns
Revises: 0011_test_keys
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_campaigns"
down_revision = "0011_test_keys"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_campaigns_user_id_users"),
    )
    op.create_index("ix_campaigns_user_id", "campaigns", ["user_id"])
    with op.batch_alter_table("backend_jobs") as batch:
        batch.add_column(sa.Column("campaign_id", sa.String(36), nullable=True))
        batch.create_foreign_key(
            "fk_backend_jobs_campaign_id_campaigns", "campaigns", ["campaign_id"], ["id"]
        )
        batch.create_index("ix_backend_jobs_campaign_id", ["campaign_id"])


def downgrade() -> None:
    with op.batch_alter_table("backend_jobs") as batch:
        batch.drop_index("ix_backend_jobs_campaign_id")
        batch.drop_constraint("fk_backend_jobs_campaign_id_campaigns", type_="foreignkey")
        batch.drop_column("campaign_id")
    op.drop_index("ix_campaigns_user_id", table_name="campaigns")
    op.drop_table("campaigns")
