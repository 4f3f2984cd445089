"""The builder's home (`/build`): the apps the viewer builds, each with its entities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from builder_ui.builder.access import CurrentBuilder, buildable_apps, manages_app
from builder_ui.builder.apps import card_of, form_choices
from builder_ui.i18n import text_in
from builder_ui.render import page
from engine.api.deps import Ctx
from engine.auth.policy import may_create_apps
from engine.schema.keys import key_from_label

router = APIRouter(include_in_schema=False)


@router.get("/build")
async def build_home(request: Request, c: Ctx, viewer: CurrentBuilder) -> Response:
    """The apps the viewer builds; creating one (administrators and app builders), installing a package
    (administrators), and the apps in the recycle bin the viewer manages."""
    async with c.db.read() as conn:
        apps = await buildable_apps(c, conn, viewer)
        entities = {a["key"]: await c.store.list(conn, a["key"]) for a in apps}
        binned = await c.app_admin.binned(conn, viewer.access)
        taken = [a["key"] for flag in (False, True) for a in await c.schema.list_apps(conn, binned=flag)]
    cards = [
        card_of(a, viewer)
        | {
            "entities": [(e.key, text_in(e.label, viewer.locale, e.key)) for e in entities[a["key"]]],
            "manages": manages_app(viewer, a["key"]),
        }
        for a in apps
    ]
    binned_cards = [card_of(a, viewer) | {"deleted_at": a["deleted_at"]} for a in binned]
    return page(
        request, "builder/home.html", viewer=viewer, apps=cards, binned=binned_cards, taken=taken,
        may_create=may_create_apps(viewer.access), build_section="apps", **form_choices(viewer),
    )  # fmt: skip


@router.get("/build/key")
async def key_for(
    viewer: CurrentBuilder,
    label: Annotated[str, Query(max_length=200)] = "",
    taken: Annotated[list[str], Query(max_length=2000)] = [],  # noqa: B006 (FastAPI copies defaults)
    fallback: Annotated[str, Query(pattern="^[a-z]{1,20}$")] = "field",
) -> Response:
    """The key the designers propose for a label as it is typed (pinyin for Chinese), free of `taken`."""
    return JSONResponse({"key": key_from_label(label, taken, fallback)})
