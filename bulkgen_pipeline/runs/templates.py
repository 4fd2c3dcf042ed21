"""Templates: a prompt batch saved once and started again by id, through the same checks and
reservation as any start."""

from __future__ import annotations

import uuid
from typing import Any

from .. import db
from ..db import templates as stored
from ..domain.requests import batch_request
from .errors import NotFound
from .queueing import Started, start_run


def save_template(database: db.Database, user_id: str, document: Any) -> stored.TemplateView:
    """Validate the prompt batch as a start would (PresetValidationError naming the field) and
    keep it; its name is the batch's."""
    request = batch_request(document)
    assert request.batch is not None
    with database.session() as session:
        return stored.save_template(
            session,
            template_id=str(uuid.uuid4()),
            user_id=user_id,
            name=request.name,
            batch=request.batch.canonical(),
        )


def templates_of(database: db.Database, user_id: str) -> list[stored.TemplateView]:
    with database.session(readonly=True) as session:
        return stored.list_templates(session, user_id)


def owned_template(database: db.Database, user_id: str, template_id: str) -> stored.TemplateView:
    with database.session(readonly=True) as session:
        found = stored.get_template(session, template_id)
    if found is None or found.user_id != user_id:
        raise NotFound(f"template '{template_id}' does not exist")
    return found


def start_template(database: db.Database, user_id: str, template_id: str, **start: Any) -> Started:
    """Start the template's batch (its prompts as saved) like any batch: `start` takes
    start_run's options (webhook, priority, caps)."""
    template = owned_template(database, user_id, template_id)
    return start_run(database, user_id=user_id, batch=template.batch, **start)


def delete_template(database: db.Database, user_id: str, template_id: str) -> stored.TemplateView:
    """Remove the caller's template; returns it as it was (NotFound for anyone else's)."""
    with database.session() as session:
        found = stored.get_template(session, template_id)
        if found is None or found.user_id != user_id:
            raise NotFound(f"template '{template_id}' does not exist")
        stored.delete_template(session, template_id)
    return found
