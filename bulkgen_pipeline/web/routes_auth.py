"""Signing in with an API key (checked once, by its hash) and signing out, which ends the
sign-in on the server too."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..runs.console_sessions import sign_in, sign_out
from .pages import VisitorDep, checked_form, cookies, redirect, render, safe_next

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, who: VisitorDep) -> Response:
    return redirect(request, who, "/presets" if who.user else "/signin")


@router.get("/signin")
def sign_in_page(request: Request, who: VisitorDep, next: str | None = None) -> Response:
    if who.user is not None:
        return redirect(request, who, safe_next(next))
    return render(request, who, "signin.html", next=safe_next(next))


@router.post("/signin")
async def sign_in_form(request: Request, who: VisitorDep) -> Response:
    form = await checked_form(request, who)
    key = str(form.get("api_key") or "").strip()
    target = safe_next(str(form.get("next") or ""))
    signed_in = sign_in(who.services.database, key)
    if signed_in is None:
        return render(
            request, who, "signin.html", status_code=401, next=target, error="Unknown API key."
        )
    if who.session.sign_in_token is not None:  # signing in again: the earlier sign-in ends
        sign_out(who.services.database, who.session.sign_in_token)
    who.session.sign_in(signed_in.token)
    who.user = signed_in.user
    return redirect(request, who, target)


@router.post("/signout")
async def sign_out_form(request: Request, who: VisitorDep) -> Response:
    await checked_form(request, who)
    if who.session.sign_in_token is not None:
        sign_out(who.services.database, who.session.sign_in_token)
    response = redirect(request, who, "/signin")
    return cookies(request).clear(response)
