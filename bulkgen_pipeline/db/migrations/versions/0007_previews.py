"""Previews: a preset's prompts resolved for review before paying, valid 24 hours, started at
most once.

Revision ID: 0007_previews
Revises: 0006_spending_limits
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_previews"
down_revision = "0006_spending_limits"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "previews",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("preset_id", sa.String(36), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("started_run_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_previews"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_previews_user_id_users"),
        sa.ForeignKeyConstraint(
            ["preset_id"], ["presets.id"], name="fk_previews_preset_id_presets"
        ),
    )
    op.create_index("ix_previews_user_id", "previews", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_previews_user_id", table_name="previews")
    op.drop_table("previews")
