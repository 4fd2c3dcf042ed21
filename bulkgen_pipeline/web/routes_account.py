"""The merchant's credits and the newest entries of their credit ledger."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..db.overview import recent_ledger_entries
from .pages import MerchantDep, render

router = APIRouter(include_in_schema=False)


@router.get("/account")
def account_page(request: Request, who: MerchantDep) -> Response:
    with who.services.database.session(readonly=True) as session:
        entries = recent_ledger_entries(session, who.signed_in_user.id)
    return render(request, who, "account.html", nav="account", entries=entries)
