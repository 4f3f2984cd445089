"""The builder's home (`/build`): the apps the viewer builds, each with its entities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from builder_ui.builder.access import CurrentBuilder, buildable_apps
from builder_ui.i18n import text_in
from builder_ui.render import page
from engine.api.deps import Ctx
from engine.schema.keys import key_from_label

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


@router.get("/build/key")
async def key_for(
    viewer: CurrentBuilder,
    label: Annotated[str, Query(max_length=200)] = "",
    taken: Annotated[list[str], Query(max_length=2000)] = [],  # noqa: B006 (FastAPI copies defaults)
    fallback: Annotated[str, Query(pattern="^[a-z]{1,20}$")] = "field",
) -> Response:
    """The key the designers propose for a label as it is typed (pinyin for Chinese), free of `taken`."""
    return JSONResponse({"key": key_from_label(label, taken, fallback)})
