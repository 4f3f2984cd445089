"""The API reference pages, Swagger UI and ReDoc, from vendored files: they work offline, with no CDN."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from builder_ui.render import page

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
async def swagger(request: Request) -> HTMLResponse:
    return page(request, "pages/api_docs.html", kind="swagger", locale="en")


@router.get("/api/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return page(request, "pages/api_docs.html", kind="redoc", locale="en")
