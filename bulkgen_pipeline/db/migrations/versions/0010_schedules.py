"""Schedules: a preset or a template started at the times of a cron expression in a time zone,
each due time's outcome (the run it started, or why it could not), the schedule a job came
from, and webhook deliveries of no run (`schedule.skipped`).

Revision ID: 0010_schedules
Revises: 0009_templates
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_schedules"
down_revision = "0009_templates"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
# Frozen here: a migration must not change when the application's values do.
STATUSES = ("active", "paused")
OUTCOMES = ("started", "skipped")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "merchant_schedules",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("preset_id", sa.String(36), nullable=True),
        sa.Column("template_id", sa.String(36), nullable=True),
        sa.Column("cron", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("generation_count", sa.Integer, nullable=True),
        sa.Column("webhook_url", sa.Text, nullable=True),
        sa.Column("webhook_events", sa.JSON, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("next_run_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_merchant_schedules"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_merchant_schedules_user_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["preset_id"], ["presets.id"], name="fk_merchant_schedules_preset_id_presets"
        ),
        sa.CheckConstraint(_in("status", STATUSES), name="ck_merchant_schedules_status"),
        sa.CheckConstraint(
            "(preset_id IS NULL) <> (template_id IS NULL)", name="ck_merchant_schedules_one_source"
        ),
    )
    op.create_index("ix_merchant_schedules_user_id", "merchant_schedules", ["user_id"])
    op.create_index(
        "ix_merchant_schedules_status_next_run_at", "merchant_schedules", ["status", "next_run_at"]
    )
    op.create_table(
        "merchant_schedule_runs",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("schedule_id", sa.String(36), nullable=False),
        sa.Column("scheduled_for", TS, nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_merchant_schedule_runs"),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["merchant_schedules.id"],
            name="fk_merchant_schedule_runs_schedule_id_merchant_schedules",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(_in("outcome", OUTCOMES), name="ck_merchant_schedule_runs_outcome"),
    )
    op.create_index(
        "ix_merchant_schedule_runs_schedule_id_id", "merchant_schedule_runs", ["schedule_id", "id"]
    )
    with op.batch_alter_table("backend_jobs") as batch:
        batch.add_column(sa.Column("schedule_id", sa.String(36), nullable=True))
    _deliveries_run_id(nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM webhook_deliveries WHERE run_id IS NULL")
    _deliveries_run_id(nullable=False)
    with op.batch_alter_table("backend_jobs") as batch:
        batch.drop_column("schedule_id")
    op.drop_index("ix_merchant_schedule_runs_schedule_id_id", table_name="merchant_schedule_runs")
    op.drop_table("merchant_schedule_runs")
    op.drop_index("ix_merchant_schedules_status_next_run_at", table_name="merchant_schedules")
    op.drop_index("ix_merchant_schedules_user_id", table_name="merchant_schedules")
    op.drop_table("merchant_schedules")


def _deliveries_run_id(*, nullable: bool) -> None:
    """webhook_deliveries.run_id NULL or NOT NULL. SQLite rebuilds the table to change it, and
    with foreign keys on, dropping the old table deletes its attempts (ON DELETE CASCADE):
    they are kept aside and put back."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMPORARY TABLE kept_webhook_attempts AS SELECT * FROM webhook_attempts")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.alter_column("run_id", existing_type=sa.String(64), nullable=nullable)
    if sqlite:
        op.execute(
            "INSERT INTO webhook_attempts SELECT * FROM kept_webhook_attempts"
            " WHERE id NOT IN (SELECT id FROM webhook_attempts)"
        )
        op.execute("DROP TABLE kept_webhook_attempts")
