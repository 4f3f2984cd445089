"""The builder's home (`/build`): the apps the viewer builds, each with its entities."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from builder_ui.builder.access import CurrentBuilder, buildable_apps
from builder_ui.i18n import text_in
from builder_ui.render import page
from engine.api.deps import Ctx

router = APIRouter(include_in_schema=False)


@router.get("/build")
async def build_home(request: Request, c: Ctx, viewer: CurrentBuilder) -> Response:
    async with c.db.read() as conn:
        apps = await buildable_apps(c, conn, viewer)
        entities = {a["key"]: await c.store.list(conn, a["key"]) for a in apps}
    cards = [
        {
            "key": a["key"],
            "label": text_in(a.get("label"), viewer.locale, a["key"]),
            "description": text_in(a.get("description"), viewer.locale),
            "entities": [(e.key, text_in(e.label, viewer.locale, e.key)) for e in entities[a["key"]]],
        }
        for a in apps
    ]
    return page(request, "builder/home.html", viewer=viewer, apps=cards, build_section="apps")
