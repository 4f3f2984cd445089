"""The app launcher (`/`) and an app's home (its first list)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from builder_ui.nav import app_for, apps_for
from builder_ui.render import page
from builder_ui.session import CurrentViewer
from engine.api.deps import Ctx

router = APIRouter(include_in_schema=False)


@router.get("/")
async def launcher(request: Request, c: Ctx, viewer: CurrentViewer) -> Response:
    async with c.db.read() as conn:
        apps = await apps_for(c, conn, viewer)
    return page(request, "pages/launcher.html", viewer=viewer, apps=apps, nav=None)


@router.get("/apps/{app}")
async def app_home(app: str, c: Ctx, viewer: CurrentViewer) -> Response:
    async with c.db.read() as conn:
        nav = await app_for(c, conn, viewer, app)
    target = f"/apps/{app}/{nav.entities[0].key}" if nav.entities else "/"
    return RedirectResponse(target, status_code=303)
