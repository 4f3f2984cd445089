"""An entity's list as everyone first sees it, set in the builder (`/build/apps/{app}/entities/{entity}/list`):
the default view's columns, sort and page size, and the shared kanban board's lane field and card fields.
Both are shared saved views (engine.records.views); static/js/builder-list.js saves them through the views API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from builder_ui.builder.access import CurrentBuilder, app_nav
from builder_ui.fields import field_views
from builder_ui.i18n import text_in
from builder_ui.render import page
from engine.api.deps import Ctx
from engine.auth.policy import scope
from engine.core.errors import NotFound

router = APIRouter(include_in_schema=False)


@router.get("/build/apps/{app}/entities/{entity}/list")
async def list_defaults_page(request: Request, app: str, entity: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    async with c.db.read() as conn:
        nav, entities = await app_nav(c, conn, viewer, app)
        e = next((x for x in entities if x.key == entity), None)
        if e is None:
            raise NotFound(viewer._("This app has no such entity"))
        views = await c.views.list(conn, viewer.access, e)
    fields = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._)
    table = views[0]  # the default first: the stored one, else the generated one
    board = next((v for v in views if v.get("kind") == "kanban" and v.get("shared_with") == "*"), None)
    return page(
        request, "builder/list_defaults.html", viewer=viewer, build_section="apps", build_app=nav, build_entity=entity,
        title=text_in(e.label, viewer.locale, e.key), app_key=app, entity_key=entity, table=table, board=board,
        columns=_ordered(fields, table["columns"]), lanes=[(k, f.label) for k, f in fields.items() if f.type == "select"],
        cards=_ordered(fields, (board or {}).get("card_fields", [])),
    )  # fmt: skip


def _ordered(fields: dict[str, Any], chosen: list[str]) -> list[tuple[str, str, bool]]:
    """(key, label, chosen) with the chosen ones first, in their order, then the others in definition order."""
    first = [(k, fields[k].label, True) for k in chosen if k in fields]
    return first + [(k, f.label, False) for k, f in fields.items() if k not in chosen]
