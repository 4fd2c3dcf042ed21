"""Request and response bodies of the schedules (POST/GET /api/schedules …)."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ..domain.cron import CRON_MAX_LENGTH, CRON_PATTERN, CRON_RULE, TIMEZONE_MAX_LENGTH, timezones
from ..domain.presets import MAX_GENERATIONS
from ..domain.statuses import ScheduleOutcome, ScheduleStatus
from .models import WebhookFields


def _one_source(schema: dict[str, Any], _owner: Any = None) -> None:
    """Say what the use case checks: either `preset_id` (with `generation_count`) or
    `template_id`, given as a value (not null)."""
    properties = schema["properties"]
    for name in ("preset_id", "template_id"):
        described = {k: v for k, v in properties[name].items() if k in ("description", "title")}
        properties[name] = {"type": "string", "format": "uuid", **described}
    schema["oneOf"] = [
        {"required": ["preset_id"], "not": {"required": ["template_id"]}},
        {
            "required": ["template_id"],
            "not": {"anyOf": [{"required": ["preset_id"]}, {"required": ["generation_count"]}]},
        },
    ]


class ScheduleIn(WebhookFields):
    """A preset or a template to start at the times of `cron` in `timezone`. `webhook_url`
    gets `schedule.skipped` when a time cannot start, and the events of the runs it starts
    (`webhook_events`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, json_schema_extra=_one_source)

    preset_id: uuid.UUID | None = Field(None, description="the preset to start (or template_id)")
    template_id: uuid.UUID | None = Field(None, description="the template to start")
    # The rules are the use case's (its message names the field); the schema states them.
    cron: str = Field(
        max_length=CRON_MAX_LENGTH,
        description=f"{CRON_RULE}; month and day names (JAN, MON-FRI) are taken too",
        json_schema_extra={"pattern": CRON_PATTERN},
    )
    timezone: str = Field(
        max_length=TIMEZONE_MAX_LENGTH,
        description="the IANA time zone the cron's times are in, e.g. Europe/Berlin",
        json_schema_extra={"enum": list(timezones())},
    )
    generation_count: StrictInt | None = Field(
        None,
        json_schema_extra={"minimum": 1, "maximum": MAX_GENERATIONS},
        description=f"with preset_id: 1-{MAX_GENERATIONS}; default: the preset's own",
    )


class ScheduleRunOut(BaseModel):
    scheduled_for: str
    outcome: ScheduleOutcome
    run_id: str | None = Field(description="the run started")
    reason: str | None = Field(description="why it could not start")
    at: str = Field(description="when the sensor handled it")


class ScheduleOut(BaseModel):
    schedule_id: str
    preset_id: str | None
    template_id: str | None
    cron: str
    timezone: str
    generation_count: int | None
    webhook_url: str | None
    webhook_events: list[str] | None
    status: ScheduleStatus
    next_run_at: str | None = Field(description="UTC; null while paused")
    next_runs: list[str] = Field(description="the next five times, UTC; none while paused")
    last: ScheduleRunOut | None = Field(description="what the newest due time came to")
    created_at: str


class ScheduleDetailOut(ScheduleOut):
    history: list[ScheduleRunOut] = Field(description="the newest 20 due times, newest first")


class ScheduleListOut(BaseModel):
    schedules: list[ScheduleOut]
