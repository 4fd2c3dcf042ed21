"""The merchant's credits, the newest entries of their credit ledger, and their limits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..domain.errors import InvalidInput
from ..runs.limits import account_overview, set_own_limits
from .pages import MerchantDep, checked_form, redirect, render
from .preset_form import optional_number

router = APIRouter(include_in_schema=False)


@router.get("/account")
def account_page(request: Request, who: MerchantDep) -> Response:
    entries, limits = account_overview(who.services.database, who.signed_in_user.id)
    return render(
        request, who, "account.html", nav="account", entries=entries, limits=limits.as_json()
    )


@router.post("/account/limits")
async def save_limits(request: Request, who: MerchantDep) -> Response:
    form = await checked_form(request, who)
    try:
        set_own_limits(
            who.services.database,
            who.signed_in_user.id,
            daily_images=optional_number(str(form.get("daily_images") or "")),
            low_credit_threshold=optional_number(str(form.get("low_credit_threshold") or "")),
        )
    except InvalidInput as exc:
        who.session.set_flash("error", "Limits not saved: " + "; ".join(map(str, exc.problems)))
    else:
        who.session.set_flash("ok", "Limits saved.")
    return redirect(request, who, "/account")
