"""Request and response bodies of the HTTP API (they are its OpenAPI schema too)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictInt,
)
from pydantic_core import PydanticCustomError

from ..db.events import WEBHOOK_SUBSCRIPTIONS
from ..domain.json_schemas import preset_json_schema, prompt_batch_json_schema
from ..domain.limits import MAX_DAILY_IMAGES
from ..domain.presets import MAX_GENERATIONS, MAX_IMAGES
from ..domain.priority import Priority
from ..domain.schema import load_category_schema
from ..domain.statuses import DeliveryStatus, JobStatus
from ..webhooks.policy import MAX_URL_LENGTH

WebhookSubscription = Literal["completed", "failed", "cancelled", "item"]
assert set(WebhookSubscription.__args__) == set(WEBHOOK_SUBSCRIPTIONS)  # type: ignore[attr-defined]


def _decimal_digits(value: Any) -> Any:
    # Query and path values arrive as text, and pydantic reads "5.0", "+5", " 5" and "5_0" as
    # the integer 5 (while refusing "1e3"): only a plain decimal number is taken for one.
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise PydanticCustomError("int_parsing", "Input should be an integer in decimal digits")
    return value


# For an integer in a query or a path: `Annotated[int, Query(...), DECIMAL_DIGITS]`, after the
# Query (placed before it, FastAPI leaves the Query's bounds out of the OpenAPI schema).
DECIMAL_DIGITS = BeforeValidator(_decimal_digits)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Problem(BaseModel):
    field: str = Field(description="Dotted path of the bad field, e.g. `generation_count`")
    message: str
    allowed: list[Any] | None = None


class ErrorBody(BaseModel):
    """Every error: a sentence, and for invalid input the fields at fault."""

    detail: str
    problems: list[Problem] | None = None
    more_problems: int | None = Field(None, description="Problems left off past the first 50")
    needed: int | None = Field(None, description="402: credits the request needs")
    available: int | None = Field(None, description="402: credits available now")


def _replaced_by(make: Any) -> Any:
    """A `json_schema_extra` that puts `make()` in place of the schema pydantic derived: the
    body is checked by the use case, whose rules `make` describes."""

    def replace(schema: dict[str, Any], _owner: Any = None) -> None:
        schema.clear()
        schema.update(make())

    return replace


class WebhookFields(Strict):
    webhook_url: str | None = Field(
        None,
        max_length=MAX_URL_LENGTH,
        description="POST a signed event here (https, public address) when the job ends",
        json_schema_extra={
            "format": "uri",
            "minLength": 1,
            "pattern": (
                r"^https://[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::[1-9][0-9]{0,3})?"
                r"(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?$"
            ),
        },
    )
    webhook_events: list[WebhookSubscription] | None = Field(
        None,
        min_length=1,
        max_length=len(WEBHOOK_SUBSCRIPTIONS),
        description='Events to send; default ["completed", "failed", "cancelled"]',
    )


class StartFields(WebhookFields):
    """What any start may say besides its request: webhooks, and its priority."""

    priority: Priority = Field(
        Priority.NORMAL,
        description="high: starts before your queued normal runs (never ahead of another "
        "merchant's share)",
    )


def _start_properties() -> dict[str, Any]:
    """StartFields' properties with their definitions inlined: they go inside a schema of
    their own (the prompt batch's), where a reference to StartFields' $defs would not resolve."""
    schema = StartFields.model_json_schema()
    definitions = schema.get("$defs", {})
    properties = {}
    for name, prop in schema["properties"].items():
        ref = prop.get("$ref", "")
        if ref.startswith("#/$defs/"):
            rest = {key: value for key, value in prop.items() if key != "$ref"}
            prop = {**definitions[ref.removeprefix("#/$defs/")], **rest}
        properties[name] = prop
    return properties


class EditIn(Strict):
    generation_index: StrictInt = Field(json_schema_extra={"minimum": 1, "maximum": 50})
    prompt: str | None = Field(None, min_length=1, max_length=4000, description="the new text")
    remove: StrictBool = Field(False, description="leave this generation out (not charged)")


class SimilarRequest(Strict):
    generation_index: StrictInt = Field(
        json_schema_extra={"minimum": 1, "maximum": MAX_IMAGES},
        description="the image to make more like (its generation_index in the run)",
    )
    count: StrictInt = Field(
        json_schema_extra={"minimum": 1, "maximum": MAX_GENERATIONS},
        description=f"1-{MAX_GENERATIONS} new images",
    )
    vary: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]] = Field(
        default_factory=list,
        max_length=20,
        description="attributes to draw again (e.g. color, background); the rest are kept",
    )
    priority: Priority = Priority.NORMAL


class PreviewRequest(Strict):
    preset_id: uuid.UUID
    generation_count: StrictInt | None = Field(
        None,
        json_schema_extra={"minimum": 1, "maximum": MAX_GENERATIONS},
        description=f"1-{MAX_GENERATIONS}; default: the preset's own generation_count",
    )


class PreviewGeneration(BaseModel):
    generation_index: int
    prompt: str
    resolved_attributes: dict[str, Any]
    attribute_resolution: dict[str, Any]


class PreviewOut(BaseModel):
    preview_id: str
    expires_at: str
    generations: list[PreviewGeneration]
    resolution: dict[str, Any]
    sizes: list[str] = Field(description="each generation is made in every one of these sizes")
    image_count: int = Field(description="images a start makes: generations kept × sizes")


def _one_of_preset_or_preview(schema: dict[str, Any], _owner: Any = None) -> None:
    """Say what the handler checks: either `preset_id` (with `generation_count`) or
    `preview_id` (with `edits`), each given as a value (not null)."""
    properties = schema["properties"]
    for name in ("preset_id", "preview_id"):
        properties[name] = {"type": "string", "format": "uuid", **_described(properties[name])}
    schema["oneOf"] = [
        {
            "required": ["preset_id"],
            "not": {"anyOf": [{"required": ["preview_id"]}, {"required": ["edits"]}]},
        },
        {
            "required": ["preview_id"],
            "not": {"anyOf": [{"required": ["preset_id"]}, {"required": ["generation_count"]}]},
        },
    ]


def _described(prop: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in prop.items() if k in ("description", "title")}


class StartRequest(StartFields):
    model_config = ConfigDict(json_schema_extra=_one_of_preset_or_preview)

    preset_id: uuid.UUID | None = Field(None, description="the preset to run (or preview_id)")
    preview_id: uuid.UUID | None = Field(
        None, description="start a reviewed preview instead: exactly its prompts, edited"
    )
    edits: list[EditIn] | None = Field(
        None, max_length=MAX_GENERATIONS, description="with preview_id: prompts changed or removed"
    )
    # The bounds only described: the use case checks them after the preset (404 comes first).
    generation_count: StrictInt | None = Field(
        None,
        json_schema_extra={"minimum": 1, "maximum": MAX_GENERATIONS},
        description=f"1-{MAX_GENERATIONS}; default: the preset's own generation_count",
    )


class BatchRequest(StartFields):
    """An explicit prompt list or variations mode (seed 003); see README "Prompt batches"."""

    model_config = ConfigDict(
        extra="allow",
        allow_inf_nan=False,
        json_schema_extra=_replaced_by(lambda: prompt_batch_json_schema(_start_properties())),
    )


class TemplateIn(RootModel[dict[str, Any]]):
    """A prompt batch to keep as a template (checked by the use case, as a start's would be)."""

    model_config = ConfigDict(json_schema_extra=_replaced_by(lambda: prompt_batch_json_schema()))


class TemplateOut(BaseModel):
    template_id: str
    name: str
    batch: dict[str, Any]
    created_at: str


class TemplateListOut(BaseModel):
    templates: list[TemplateOut]


class PresetBody(RootModel[dict[str, Any]]):
    """A preset as sent (checked by the use case)."""

    model_config = ConfigDict(
        json_schema_extra=_replaced_by(lambda: preset_json_schema(load_category_schema()))
    )


class StartResponse(BaseModel):
    job_id: str
    status: JobStatus
    estimated_credits: int
    status_url: str
    events_url: str
    test: bool = Field(
        False, description="Started with a test-mode key: preview renderer, nothing charged"
    )


class ItemOut(BaseModel):
    generation_index: int = Field(description="the image's number in the run")
    generation: int | None = Field(
        None, description="in a run of several sizes: the generation this image renders"
    )
    size: str | None = Field(None, description="in a run of several sizes: which (e.g. 16x9)")
    status: str
    provider: str | None
    model: str | None
    attempts: int
    error: str | None
    latency_ms: int | None
    updated_at: str | None


class AttemptOut(BaseModel):
    attempted_at: str | None
    status_code: int | None
    error: str | None
    duration_ms: int | None


class DeliveryOut(BaseModel):
    webhook_id: str
    event_type: str
    status: DeliveryStatus
    attempts: list[AttemptOut]
    next_attempt_at: str | None
    delivered_at: str | None


class RunSummaryOut(BaseModel):
    """A run as listed: enough for a row with a progress bar and a download button."""

    job_id: str
    status: JobStatus
    preset_id: str | None
    preset_name: str | None
    category: str
    total_images: int
    completed_images: int
    failed_images: int
    credits_consumed: int
    created_at: str | None
    finished_at: str | None
    download_link: str | None
    tags: list[str] = Field(default_factory=list)
    test: bool = Field(
        False, description="Started with a test-mode key: preview renderer, nothing charged"
    )


class JobStatusOut(RunSummaryOut):
    """A run in full: its items, its timing and its webhook deliveries."""

    kind: str
    estimated_credits: int
    pass_number: int
    retry_count: int
    started_at: str | None
    eta_seconds: float | None
    error: str | None
    files_deleted_at: str | None = Field(
        description="When the run's files were deleted (then `download_link` is null)"
    )
    sizes: list[str] = Field(
        description="The sizes each generation is rendered in (several: one image per size)"
    )
    items: list[ItemOut]
    webhook_deliveries: list[DeliveryOut]


class RunPageOut(BaseModel):
    runs: list[RunSummaryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class ActionOut(BaseModel):
    job_id: str
    status: JobStatus


class RetryOut(ActionOut):
    pass_number: int
    images_to_retry: int
    estimated_credits: int
    status_url: str
    events_url: str


class DeletedOut(BaseModel):
    job_id: str
    objects_deleted: int


class PresetOut(BaseModel):
    preset_id: str
    name: str
    category: str
    config: dict[str, Any]
    created_at: str
    updated_at: str


class Credits(BaseModel):
    balance: int
    reserved: int
    available: int


class LimitsOut(BaseModel):
    daily_images: int | None = Field(description="Your own daily image limit (null: none)")
    daily_images_ceiling: int | None = Field(description="Your operator's ceiling (null: none)")
    daily_images_effective: int | None = Field(description="The lower of the two")
    images_today: int = Field(description="Images your runs started today (UTC)")
    resets_at: str = Field(description="When today's count starts again: next midnight UTC")
    low_credit_threshold: int | None = Field(
        description="credits.low is sent once when your available credits fall below this"
    )


class LimitsIn(Strict):
    # The bounds only described: the use case checks them and names the field.
    daily_images: StrictInt | None = Field(
        None,
        json_schema_extra={"minimum": 0, "maximum": MAX_DAILY_IMAGES},
        description="null: no limit of your own",
    )
    low_credit_threshold: StrictInt | None = Field(
        None,
        json_schema_extra={"minimum": 0, "maximum": MAX_DAILY_IMAGES},
        description="null: no alert",
    )


class MeOut(BaseModel):
    user_id: str
    name: str
    credits: Credits
    limits: LimitsOut
    test_mode: bool = Field(
        False, description="Called with the test-mode key: its runs are test runs, free"
    )


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str
    store: str
