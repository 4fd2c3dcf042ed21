"""A note on a credit ledger row: why an operator granted credits (`bulkgen users add-credits
--note`), shown to the merchant on the console's account page.

Revision ID: 0004_ledger_notes
Revises: 0003_console_sessions
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_ledger_notes"
down_revision = "0003_console_sessions"
branch_labels = None
depends_on = None

# Frozen here: a migration must not change when the application's limits do.
NOTE_LENGTH = 200


def upgrade() -> None:
    with op.batch_alter_table("credit_ledger") as batch:
        batch.add_column(sa.Column("note", sa.String(NOTE_LENGTH), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credit_ledger") as batch:
        batch.drop_column("note")
