"""More like this: a finished tile's "Similar" starts a new run keeping that image's attributes
but those the merchant ticks to vary."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ..domain.errors import InvalidInput
from ..runs.control import JobConflict
from ..runs.queueing import NotFound
from ..runs.similar import start_similar
from .pages import MerchantDep, canonical_id, checked_form, not_found, same_mode_page
from .preset_form import form_number
from .starting import REFUSALS, show_refused, show_started, start_caps

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_mode_page)])


@router.post("/runs/{run_id}/similar")
async def similar(request: Request, who: MerchantDep, run_id: str) -> Response:
    form = await checked_form(request, who)
    try:
        wanted = canonical_id(run_id)
        index, count = (form_number(str(form.get(n) or "")) for n in ("generation_index", "count"))
        if not isinstance(index, int):
            raise NotFound(f"run '{wanted}' has no generation {index!r}")
        started = start_similar(
            who.services.database,
            who.services.store,
            user_id=who.signed_in_user.id,
            run_id=wanted,
            generation_index=index,
            count=count,
            vary=[str(name) for name in form.getlist("vary")],
            **start_caps(who),
        )
    except NotFound:
        return not_found(request, who)
    except (JobConflict, InvalidInput, *REFUSALS) as exc:
        return show_refused(request, who, exc, f"/runs/{wanted}", why="No similar run")
    return show_started(request, who, started, what="Similar run")
