"""Simulate (试运行) a process in the builder (`/build/apps/{app}/processes/{key}/simulate`): pick a record
or type values in a form drawn with the end user's field macros, choose approve / reject per human node,
run, and read the path as a timeline. static/js/builder-process-simulate.js calls
POST /api/v1/meta/apps/{app}/processes/{key}/simulate, the integrators' API, which writes nothing."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi import APIRouter, Request
from starlette.responses import Response

from builder_ui.builder.access import CurrentBuilder, app_nav
from builder_ui.fields import field_views
from builder_ui.i18n import text_in
from builder_ui.render import page
from engine.api.deps import Ctx, require_manage
from engine.auth.policy import scope
from engine.process.graph import HUMAN_TYPES

router = APIRouter(include_in_schema=False)


@router.get("/build/apps/{app}/processes/{key}/simulate")
async def simulate_page(request: Request, app: str, key: str, c: Ctx, viewer: CurrentBuilder) -> Response:
    async with c.db.read() as conn:
        nav, entities = await app_nav(c, conn, viewer, app)
        row = await c.process_service.row(conn, app, key)
        require_manage(viewer.access, app, row.entity, "processes")  # the API's own check
        e = await c.store.get(conn, app, row.entity)
        versions = [v["version"] for v in await c.process_service.versions(conn, app, key)]
    fields = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._, scope(viewer.access, e, "create"))
    have = {(x.app, x.key): x for x in entities}
    targets = {f.key: have[f.target] for f in fields.values() if f.target in have}
    definition = row.definition
    human = [
        (n["id"], text_in(n.get("label"), viewer.locale, n["id"]), n["type"])
        for n in definition.get("nodes", [])
        if n.get("type") in HUMAN_TYPES
    ]
    labels = {k: f.label for k, f in fields.items()}
    options = {k: {o.key: o.label for o in f.options} for k, f in fields.items() if f.options}
    percent = [k for k, f in fields.items() if f.type == "percent"]
    return page(
        request, "builder/process_simulate.html", viewer=viewer, build_section="apps", build_app=nav,
        title=text_in(definition.get("label"), viewer.locale, key), app_key=app, process_key=key, entity=e,
        entity_label=text_in(e.label, viewer.locale, e.key), fields=[f for f in fields.values() if f.writable],
        labels=labels, options=options, percent=percent, human=human,
        ctx=SimpleNamespace(tz=viewer.tz, targets=targets, names={}),
        versions=list(reversed(versions)), published=row.published_version,
    )  # fmt: skip
