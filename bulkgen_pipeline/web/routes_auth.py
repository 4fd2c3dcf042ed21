"""Signing in with an API key (checked once, by its hash) and signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .. import db
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
async def sign_in(request: Request, who: VisitorDep) -> Response:
    form = await checked_form(request, who)
    key = str(form.get("api_key") or "").strip()
    target = safe_next(str(form.get("next") or ""))
    with who.services.database.session(readonly=True) as session:
        user = db.find_user_by_api_key(session, key) if key else None
    if user is None:
        return render(
            request, who, "signin.html", status_code=401, next=target, error="Unknown API key."
        )
    who.session.sign_in(user.id)
    who.user = user
    return redirect(request, who, target)


@router.post("/signout")
async def sign_out(request: Request, who: VisitorDep) -> Response:
    await checked_form(request, who)
    response = redirect(request, who, "/signin")
    return cookies(request).clear(response)
