"""Generated pages of every entity: the list (a saved view, search, sort, paging with the total), the record
page (its form layout in read or edit mode, related lists, history), the new-record form and the recycle
bin. Reads go through the engine's scoped services; writes go from the browser to the REST API itself."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from builder_ui.fields import bulk_rights, display_of, field_views, filter_fields, operator_labels
from builder_ui.i18n import text_in
from builder_ui.layout import record_layout
from builder_ui.lines import line_grids
from builder_ui.nav import app_for
from builder_ui.render import page
from builder_ui.session import CurrentViewer, Viewer
from engine.api.context import Context
from engine.api.deps import Ctx
from engine.api.jsonio import json_response
from engine.api.params import IdPath
from engine.api.records import filter_context
from engine.audit import history
from engine.auth.policy import rights, scope
from engine.auth.profile import role_choices, search_users, user_names
from engine.auth.shares import may_share
from engine.core.errors import BadRequest, ValidationFailed
from engine.records.query import parse_list_query
from engine.records.related import record_360
from engine.schema.model import CompiledEntity

router = APIRouter(include_in_schema=False)
Search = Annotated[str | None, Query(max_length=200)]
Cursors = Annotated[str | None, Query(max_length=4000, description="the cursors of the pages before this one")]


async def _names(conn: AsyncConnection, records: list[dict[str, Any]], keys: list[str]) -> dict[int, str]:
    ids = {r.get(k) for r in records for k in keys}
    return await user_names(conn, {i for i in ids if isinstance(i, int)})


async def _targets(
    c: Context, conn: AsyncConnection, e: CompiledEntity, known: list[CompiledEntity] | None = None
) -> dict[str, CompiledEntity]:
    """The entity behind each relation field, for display names; `known`: entities the page has read already."""
    have = {(k.app, k.key): k for k in known or ()}
    out = {}
    for f in e.relations():
        app, key = e.relation_target(f)
        if (target := have.get((app, key)) or await c.store.get_or_none(conn, app, key)) is not None:
            out[f.key] = target
    return out


def _chosen_view(views: list[dict[str, Any]], wanted: int | None) -> dict[str, Any]:
    return next((v for v in views if wanted is not None and v["id"] == wanted), views[0])


def _combined(view_filter: str | None, user_filter: str | None) -> str | None:
    """The view's filter AND the one built on the page (each already a JSON text)."""
    parts = [json.loads(f) for f in (view_filter, user_filter) if f]
    if len(parts) < 2:
        return json.dumps(parts[0]) if parts else None
    return json.dumps({"all": parts})


def _user_filter(text: str | None) -> str | None:
    """The page's own filter, only if it is a JSON object (else the list query reports it)."""
    if not text:
        return None
    try:
        return text if isinstance(json.loads(text), dict) else None
    except ValueError:
        return None


@router.get("/apps/{app}/{entity}")
async def list_page(
    request: Request, app: str, entity: str, c: Ctx, viewer: CurrentViewer,
    view: int | None = None, q: Search = None, sort: Annotated[str | None, Query(max_length=500)] = None,
    pages: Cursors = None, filter: Annotated[str | None, Query(max_length=8192)] = None,
    columns: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:  # fmt: skip
    partial = request.headers.get("hx-target") == "tg-list"  # search, sort, paging: the table alone, no navigation
    async with c.db.read() as conn:
        entities = await c.store.list(conn, app)  # read once: this entity, the navigation and the relation targets
        e = next((x for x in entities if x.key == entity), None) or await c.store.get(conn, app, entity)  # get: 404
        views = await c.views.list(conn, viewer.access, e)
        current = _chosen_view(views, view)
        params = current["list_params"]
        stack = [p for p in (pages or "").split(",") if p][:200]
        mine = _user_filter(filter)
        where = _combined(params["filter"], mine)
        context = await filter_context(c, conn, viewer.access, e, where)
        fvs = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._)
        wanted = [k for k in (columns.split(",") if columns else current["columns"]) if k in fvs][:50] or current["columns"]
        shown = [k for k in wanted if k not in context["hidden"]]
        expand = [k for k in shown if fvs[k].type == "relation"]
        try:
            query = parse_list_query(
                e, filter=where, sort=sort or params["sort"], limit=params["limit"], cursor=stack[-1] if stack else None,
                fields=None, expand=",".join(expand) or None, count=True, q=q.strip() if q and q.strip() else None,
                **context,
            )  # fmt: skip
            result = await c.reader.list(conn, viewer.access, e, query)
            problem = None
        except (ValidationFailed, BadRequest) as exc:  # a hand-edited URL: show the list's error, not a crash
            result, problem = {"items": [], "next_cursor": None, "total": 0}, exc
        names = await _names(conn, result["items"], [k for k in shown if fvs[k].type == "user"] + ["owner"])
        nav = None if partial else await app_for(c, conn, viewer, app, entities)
        targets = await _targets(c, conn, e, entities)
        may = rights(viewer.access, e)
        roles = await _roles(conn, viewer) if may.manage and not partial else []  # in this transaction: one trip less
    template = "components/list_table.html" if partial else "pages/list.html"
    ops, units = operator_labels(viewer._)
    return page(
        request, template, viewer=viewer, nav=nav, current_entity=entity, entity=e, views=views, view=current,
        columns=[fvs[k] for k in shown], result=result, names=names, targets=targets, q=q or "",
        sort=sort or params["sort"] or "", pages=stack, may_create=may.create, display_of=display_of,
        base=f"/apps/{app}/{entity}", user_filter=mine or "", column_keys=",".join(shown), problem=problem,
        filter_fields=filter_fields(fvs, viewer._), bulk=bulk_rights(viewer.access, e), all_fields=fvs,
        op_labels=ops, unit_labels=units, may_share=may.manage, roles=roles,
    )  # fmt: skip


async def _roles(conn: AsyncConnection, viewer: Viewer) -> list[tuple[str, str]]:
    return [(key, text_in(label, viewer.locale, key)) for key, label in await role_choices(conn)]


async def _record_context(
    c: Context, conn: AsyncConnection, viewer: Viewer, e: CompiledEntity, rid: int | None
) -> dict[str, Any]:
    read = scope(viewer.access, e, "read")
    write = scope(viewer.access, e, "update" if rid is not None else "create")
    fvs = field_views(e, read, viewer.locale, viewer._, write if write.allowed else None)
    layout = await record_layout(c, conn, e, fvs, viewer.locale)
    grids = await line_grids(c, conn, viewer, e, rid, _targets)  # lines sections with their lines
    return {"entity": e, "fields": fvs, "layout": layout, "targets": await _targets(c, conn, e), "display_of": display_of,
            "grids": grids}  # fmt: skip


@router.get("/apps/{app}/{entity}/new")
async def new_page(request: Request, app: str, entity: str, c: Ctx, viewer: CurrentViewer) -> Response:
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        if not rights(viewer.access, e).create:
            raise BadRequest(viewer._("You may not create {entity} records.", entity=e.key))
        ctx = await _record_context(c, conn, viewer, e, None)
        record = _prefill(e, request.query_params)
        nav = await app_for(c, conn, viewer, app)
    return page(request, "pages/record.html", viewer=viewer, nav=nav, current_entity=entity, record=record, mode="new",
                names={}, related=[], changes=[], **ctx)  # fmt: skip


def _prefill(e: CompiledEntity, params: Any) -> dict[str, Any]:
    """`?account=3` on the new form of a contact: the link from a related list's "new" button."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in e.fields and e.fields[key].cfg.type == "relation" and value.isdigit():
            out[key] = int(value)
    return out


@router.get("/apps/{app}/{entity}/trash")
async def trash_page(request: Request, app: str, entity: str, c: Ctx, viewer: CurrentViewer, pages: Cursors = None) -> Response:
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        stack = [p for p in (pages or "").split(",") if p][:200]
        context = await filter_context(c, conn, viewer.access, e, None)
        query = parse_list_query(e, filter=None, sort=None, limit=50, cursor=stack[-1] if stack else None,
                                 fields=None, expand=None, count=True, q=None, **context)  # fmt: skip
        result = await c.reader.list(conn, viewer.access, e, query, binned=True)
        nav = await app_for(c, conn, viewer, app)
    return page(request, "pages/trash.html", viewer=viewer, nav=nav, current_entity=entity, entity=e, result=result,
                pages=stack, display_of=display_of, base=f"/apps/{app}/{entity}")  # fmt: skip


@router.get("/apps/{app}/{entity}/{rid}")
async def record_page(
    request: Request,
    app: str,
    entity: str,
    rid: IdPath,
    c: Ctx,
    viewer: CurrentViewer,
    edit: bool = False,
    duplicates: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        full = await record_360(conn, c.reader, viewer.access, e, rid, limit=5, timeline=0, tz=viewer.tz.key)
        record = await c.reader.get(conn, viewer.access, e, rid, expand=[f.key for f in e.relations()])
        ctx = await _record_context(c, conn, viewer, e, rid)
        changes = list(reversed(await history.record_history(conn, viewer.access, e, rid)))[:50]
        user_keys = [k for k, f in ctx["fields"].items() if f.type == "user"]
        names = await _names(conn, [record, *({"actor_id": h["actor_id"]} for h in changes)], [*user_keys, "actor_id"])
        nav = await app_for(c, conn, viewer, app)
        shown = {(r["app"], r["entity"]): (await c.store.get(conn, r["app"], r["entity"])) for r in full["related"]}
        sharing = await may_share(conn, viewer.access, e, rid)  # the shares API's own check
    mode = "edit" if edit and scope(viewer.access, e, "update").allowed else "read"
    return page(request, "pages/record.html", viewer=viewer, nav=nav, current_entity=entity, record=record, mode=mode,
                names=names, related=full["related"], changes=changes, may_delete=scope(viewer.access, e, "delete").allowed,
                may_edit=scope(viewer.access, e, "update").allowed, related_entities=shown,
                duplicates=_duplicate_links(duplicates), may_share_record=sharing, **ctx)  # fmt: skip


def _duplicate_links(header: str | None) -> list[tuple[str, str]]:
    """`crm.lead/12, crm.lead/15` (the Tangram-Duplicates header a save answered) as record links."""
    links = []
    for item in (header or "").split(",")[:10]:
        ref, _, rid = item.strip().partition("/")
        app, _, entity = ref.partition(".")
        if app.isidentifier() and entity.isidentifier() and rid.isdigit():
            links.append((f"/apps/{app}/{entity}/{rid}", f"{entity} #{rid}"))
    return links


@router.get("/ui/users")
async def user_picker(c: Ctx, viewer: CurrentViewer, q: Search = None) -> Response:
    """Colleagues for a user field's type-ahead: name or email containing the text."""
    async with c.db.read() as conn:
        users = await search_users(conn, q or "", limit=10)
    return json_response({"items": [{"id": u.id, "label": u.label} for u in users]})
