"""The caller's account, and whether the service is up."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..runs.health import OK, service_health
from ..runs.limits import limits_of, set_own_limits
from .deps import ServicesDep, UserDep
from .errors import responses
from .models import Credits, HealthOut, LimitsIn, LimitsOut, MeOut

router = APIRouter(tags=["account"])


@router.get("/api/me", response_model=MeOut, responses=responses())
def me(user: UserDep, services: ServicesDep) -> MeOut:
    return MeOut(
        user_id=user.id,
        name=user.name,
        credits=Credits(
            balance=user.credits_balance,
            reserved=user.credits_reserved,
            available=user.credits_available,
        ),
        limits=LimitsOut.model_validate(limits_of(services.database, user.id).as_json()),
        test_mode=user.test_mode,
    )


@router.put("/api/me/limits", response_model=LimitsOut, responses=responses())
def set_limits(body: LimitsIn, user: UserDep, services: ServicesDep) -> LimitsOut:
    """Your own daily image limit (at most your operator's ceiling; 422 naming `daily_images`
    above it) and low-credit threshold. Both are replaced: send null to clear one."""
    limits = set_own_limits(
        services.database,
        user.id,
        daily_images=body.daily_images,
        low_credit_threshold=body.low_credit_threshold,
    )
    return LimitsOut.model_validate(limits.as_json())


@router.get(
    "/healthz",
    response_model=HealthOut,
    tags=["operations"],
    responses={503: {"model": HealthOut, "description": "The database or store is unreachable"}},
)
def healthz(services: ServicesDep) -> JSONResponse:
    """Is the database answering and the object store taking writes? (No secret in the answer.)"""
    checks = service_health(services.database, services.store)
    healthy = all(v == OK for v in checks.values())
    body = HealthOut(status="ok" if healthy else "unavailable", **checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
