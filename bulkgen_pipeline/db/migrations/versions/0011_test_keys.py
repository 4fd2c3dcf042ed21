"""Test-mode keys: a merchant's second API key (`bgk_test_…`, only its hash kept), the
console sign-ins made with it, and the jobs started with it, which run on the preview
renderer and charge nothing.

Revision ID: 0011_test_keys
Revises: 0010_schedules
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_test_keys"
down_revision = "0010_schedules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: users made before test keys have none until `bulkgen users rotate-api-key --test`.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("test_api_key_hash", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_users_test_api_key_hash", ["test_api_key_hash"])
    for table in ("backend_jobs", "console_sessions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("is_test", sa.Boolean(), nullable=False, server_default=sa.false())
            )


def downgrade() -> None:
    for table in ("console_sessions", "backend_jobs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("is_test")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_test_api_key_hash", type_="unique")
        batch.drop_column("test_api_key_hash")
