"""The import wizard of an entity (file, sheet, column and value mapping, dry run, run with progress) and the
viewer's import history. The browser talks to the imports API itself (static/js/import.js)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from builder_ui.fields import Option, field_views
from builder_ui.nav import app_for
from builder_ui.render import page
from builder_ui.session import CurrentViewer
from engine.api.deps import Ctx
from engine.auth.policy import may_manage, scope
from engine.core.errors import Forbidden
from engine.imports.mapping import OWNER, writable
from engine.imports.values import OPTION_KINDS
from engine.schema.field_types.formula import value_type

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Target:
    """A field a column may feed: its key and label, and its options when cells are matched to options."""

    key: str
    label: str
    unique: bool
    options: tuple[Option, ...]


@router.get("/apps/{app}/{entity}/import")
async def import_page(request: Request, app: str, entity: str, c: Ctx, viewer: CurrentViewer) -> Response:
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        create = scope(viewer.access, e, "create")
        if not create.allowed:
            raise Forbidden(viewer._("You may not create these records, so you may not import them."))
        nav = await app_for(c, conn, viewer, app)
    views = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._, create)
    targets = [
        Target(k, views[k].label if k in views else k, bool(e.fields[k].cfg.unique),
               views[k].options if value_type(e.fields[k].cfg) in OPTION_KINDS else ())
        for k in writable(e, create) if k != OWNER
    ]  # fmt: skip
    targets.append(Target(OWNER, viewer._("Owner (email)"), False, ()))
    return page(
        request, "pages/import.html", viewer=viewer, nav=nav, current_entity=entity, entity=e, targets=targets,
        may_update=scope(viewer.access, e, "update").allowed, base=f"/apps/{app}/{entity}",
        api=f"/api/v1/apps/{app}/{entity}", may_manage=may_manage(viewer.access, app, entity),
    )  # fmt: skip


@router.get("/apps/{app}/{entity}/imports")
async def history_page(request: Request, app: str, entity: str, c: Ctx, viewer: CurrentViewer) -> Response:
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        items = await c.imports.history(conn, viewer.access, e)
        nav = await app_for(c, conn, viewer, app)
    return page(
        request, "pages/import_history.html", viewer=viewer, nav=nav, current_entity=entity, entity=e, items=items,
        base=f"/apps/{app}/{entity}", api=f"/api/v1/apps/{app}/{entity}",
    )  # fmt: skip
