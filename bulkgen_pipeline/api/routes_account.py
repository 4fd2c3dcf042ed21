"""The caller's account, and whether the service is up."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .deps import ServicesDep, UserDep
from .errors import responses
from .models import Credits, HealthOut, MeOut

router = APIRouter(tags=["account"])


@router.get("/api/me", response_model=MeOut, responses=responses())
def me(user: UserDep) -> MeOut:
    return MeOut(
        user_id=user.id,
        name=user.name,
        credits=Credits(
            balance=user.credits_balance,
            reserved=user.credits_reserved,
            available=user.credits_available,
        ),
    )


@router.get(
    "/healthz",
    response_model=HealthOut,
    tags=["operations"],
    responses={503: {"model": HealthOut, "description": "The database or store is unreachable"}},
)
def healthz(services: ServicesDep) -> JSONResponse:
    """Is the database answering and the object store reachable? (No secret in the answer.)"""
    checks = {}
    try:
        with services.database.session(readonly=True) as session:
            session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable ({type(exc).__name__})"
    try:
        services.store.exists("healthz/probe")
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"unavailable ({type(exc).__name__})"
    healthy = all(v == "ok" for v in checks.values())
    body = HealthOut(status="ok" if healthy else "unavailable", **checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
