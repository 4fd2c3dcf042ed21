"""The image models a merchant can choose, as the API's GET /api/models lists them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..runs.models import model_catalogue
from .pages import MerchantDep, render

router = APIRouter(include_in_schema=False)


@router.get("/models")
def models_page(request: Request, who: MerchantDep) -> Response:
    return render(request, who, "models.html", nav="models", models=model_catalogue())
