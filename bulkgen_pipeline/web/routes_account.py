"""The merchant's credits and the newest entries of their credit ledger."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..runs.credits import recent_ledger
from .pages import MerchantDep, render

router = APIRouter(include_in_schema=False)


@router.get("/account")
def account_page(request: Request, who: MerchantDep) -> Response:
    entries = recent_ledger(who.services.database, who.signed_in_user.id)
    return render(request, who, "account.html", nav="account", entries=entries)
