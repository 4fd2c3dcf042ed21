"""What handlers depend on: the deployment's services and the calling user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import db
from ..config import Settings
from ..runs.api_keys import user_of_api_key
from ..runs.test_mode import require_same_mode
from ..storage.base import ObjectStore


@dataclass(frozen=True)
class Services:
    settings: Settings
    database: db.Database
    store: ObjectStore


def services(request: Request) -> Services:
    return request.app.state.services


_bearer = HTTPBearer(auto_error=False, description="Your API key: `Authorization: Bearer bgk_…`")


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> db.UserView:
    """The user whose API key is in `Authorization: Bearer …` (only its hash is looked up).

    The web console authenticates with its session cookie instead and sets the user on the
    request before the API's handlers run."""
    user = getattr(request.state, "user", None)
    if user is not None:
        return user
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "an API key is required: Authorization: Bearer <key>")
    found = user_of_api_key(services(request).database, credentials.credentials)
    if found is None:
        raise HTTPException(401, "unknown API key")
    return found


ServicesDep = Annotated[Services, Depends(services)]
UserDep = Annotated[db.UserView, Depends(current_user)]

# Path parameters that name one of the caller's runs.
_RUN_PARAMS = ("job_id", "run_id")


def same_mode_run(request: Request, user: UserDep) -> None:
    """A router's dependency: the run its path names is of the caller's mode (a test-mode key's
    test runs, a live key's live runs), else 404 as for a run that is not theirs."""
    if request.method == "GET":
        return  # a read passes the mode to its own one read of the run (runs.control.owned_job)
    params = request.path_params
    run_ids = [str(params[name]) for name in _RUN_PARAMS if name in params]
    require_same_mode(services(request).database, user.id, run_ids, test=user.test_mode)
