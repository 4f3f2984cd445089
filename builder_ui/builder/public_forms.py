"""Publishing public forms in the builder (`/build/apps/{app}/public-forms`): the app's public forms with their
link and embed snippet, and a form to publish a layout or change one. Saves go to the public forms API
(/api/v1/apps/{app}/public-forms) from static/js/builder-public-forms.js; the engine checks everything."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from builder_ui.builder.access import CurrentBuilder, app_nav
from builder_ui.fields import field_views
from builder_ui.i18n import text_in
from builder_ui.render import page
from engine.api.deps import Ctx
from engine.apps.forms import FormService
from engine.auth.policy import may_manage, scope
from engine.process.timeline import user_names

router = APIRouter(include_in_schema=False)


@router.get("/build/apps/{app}/public-forms")
async def public_forms_page(request: Request, app: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    async with c.db.read() as conn:
        build_app, listed = await app_nav(c, conn, viewer, app)
        entities = {e.key: e for e in listed}
        layouts = [r for r in await FormService(c.store, c.clock).list(conn, app)
                   if r.entity in entities and may_manage(viewer.access, app, r.entity)]  # fmt: skip
        published = [p for p in await c.public_forms.list(conn, app) if any(r.key == p["form"] for r in layouts)]
        owners = await user_names(conn, [p["owner"] for p in published if p.get("owner")])
    base = str(request.base_url).rstrip("/")
    forms = [_layout(r, entities[r.entity], viewer) for r in layouts]
    items = [p | {"link": base + p["url"], "owner_name": owners.get(p.get("owner"), "")} for p in published]
    return page(request, "builder/public_forms.html", viewer=viewer, build_app=build_app, build_section="public_forms",
                forms=forms, items=items, app=app)  # fmt: skip


def _layout(row: Any, entity: Any, viewer: Any) -> dict[str, Any]:
    """A layout that may be published, with the fields a status link may show (its entity's readable ones)."""
    views = field_views(entity, scope(viewer.access, entity, "read"), viewer.locale, viewer._)
    shown = [(k, f.label) for k, f in views.items() if k in entity.fields]
    return {"key": row.key, "label": text_in(row.definition.get("label"), viewer.locale, row.key), "fields": shown}
