"""Templates: saved prompt batches, each its merchant's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.models import Template


@dataclass(frozen=True)
class TemplateView:
    id: str
    user_id: str
    name: str
    batch: dict[str, Any]
    created_at: datetime


def _view(row: Template) -> TemplateView:
    return TemplateView(row.id, row.user_id, row.name, row.batch, row.created_at)


def save_template(
    session: Session, *, template_id: str, user_id: str, name: str, batch: dict[str, Any]
) -> TemplateView:
    row = Template(id=template_id, user_id=user_id, name=name, batch=batch)
    session.add(row)
    session.flush()
    return _view(row)


def get_template(session: Session, template_id: str) -> TemplateView | None:
    row = session.get(Template, template_id)
    return None if row is None else _view(row)


def list_templates(session: Session, user_id: str) -> list[TemplateView]:
    rows = session.scalars(
        select(Template).where(Template.user_id == user_id).order_by(Template.created_at)
    )
    return [_view(row) for row in rows]


def delete_template(session: Session, template_id: str) -> None:
    session.execute(delete(Template).where(Template.id == template_id))
