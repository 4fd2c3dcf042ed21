"""Templates: a prompt batch saved to start again by id.

Revision ID: 0009_templates
Revises: 0008_job_tags
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_templates"
down_revision = "0008_job_tags"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("batch", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_templates"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_templates_user_id_users"),
    )
    op.create_index("ix_templates_user_id", "templates", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_templates_user_id", table_name="templates")
    op.drop_table("templates")
