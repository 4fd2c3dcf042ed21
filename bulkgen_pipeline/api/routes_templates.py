"""Templates: a prompt batch saved once and started again by id."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from ..db.templates import TemplateView
from ..runs import templates
from .deps import ServicesDep, UserDep
from .errors import responses
from .models import StartFields, StartResponse, TemplateIn, TemplateListOut, TemplateOut
from .routes_runs import started_response, webhook_of

router = APIRouter(tags=["templates"])
TEMPLATE = "/api/templates/{template_id}"


def _out(template: TemplateView) -> TemplateOut:
    return TemplateOut(
        template_id=template.id,
        name=template.name,
        batch=template.batch,
        created_at=template.created_at.isoformat(),
    )


@router.post(
    "/api/templates",
    status_code=201,
    response_model=TemplateOut,
    responses=responses(),
    summary="Keep a prompt batch as a template, to start again by id",
)
def create(body: TemplateIn, user: UserDep, services: ServicesDep) -> TemplateOut:
    return _out(templates.save_template(services.database, user.id, body.root))


@router.get("/api/templates", response_model=TemplateListOut, responses=responses())
def list_all(user: UserDep, services: ServicesDep) -> TemplateListOut:
    return TemplateListOut(
        templates=[_out(t) for t in templates.templates_of(services.database, user.id)]
    )


@router.post(
    TEMPLATE + "/start",
    status_code=202,
    response_model=StartResponse,
    responses=responses(402, 404, 409, 429),
    summary="Start a template's prompt batch, checked and reserved like any start",
)
def start(
    template_id: uuid.UUID, body: StartFields, user: UserDep, services: ServicesDep
) -> StartResponse:
    started = templates.start_template(
        services.database,
        user.id,
        str(template_id),
        webhook=webhook_of(body),
        priority=body.priority,
        max_active_jobs=services.settings.max_active_jobs_per_user,
        allow_private_webhooks=services.settings.webhook_allow_private,
        test=user.test_mode,
    )
    return started_response(started, test=user.test_mode)


@router.delete(TEMPLATE, response_model=TemplateOut, responses=responses(404))
def delete(template_id: uuid.UUID, user: UserDep, services: ServicesDep) -> TemplateOut:
    return _out(templates.delete_template(services.database, user.id, str(template_id)))
