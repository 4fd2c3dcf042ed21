"""Job tags: a merchant's labels on their runs (`PUT …/runs/{id}/tags`, `GET …/runs?tag=`).
The table is not `run_tags`: Dagster's run storage has one, in the same database in
production.

Revision ID: 0008_job_tags
Revises: 0007_previews
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_job_tags"
down_revision = "0007_previews"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_tags",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("tag", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "tag", name="pk_job_tags"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["backend_jobs.uuid"], name="fk_job_tags_run_id_backend_jobs"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_job_tags_user_id_users"),
    )
    op.create_index("ix_job_tags_user_id_tag", "job_tags", ["user_id", "tag"])


def downgrade() -> None:
    op.drop_index("ix_job_tags_user_id_tag", table_name="job_tags")
    op.drop_table("job_tags")
