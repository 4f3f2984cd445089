"""Approvals: the inbox (four boxes, filters, batch approve), a task's page (record, actions, flow, timeline),
the nav badge, the record page's approval panel and My settings > Delegations. Reads go through
engine.process; every write goes from the browser to the REST API."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from starlette.responses import HTMLResponse, Response

from builder_ui.fields import display_of, field_views
from builder_ui.i18n import text_in
from builder_ui.nav import NavApp, apps_for
from builder_ui.pages.records import _names, _targets
from builder_ui.render import page
from builder_ui.session import CurrentViewer, Viewer
from engine.api.deps import Ctx
from engine.api.params import IdPath
from engine.auth.policy import scope
from engine.process import delegation, inbox
from engine.process.tables import instances

router = APIRouter(include_in_schema=False)
BOXES: tuple[inbox.Box, ...] = ("pending", "started", "handled", "cc")
PAGE = 200
Key = Annotated[str | None, Query(max_length=63, pattern=r"^([A-Za-z_][A-Za-z0-9_-]*)?$")]


async def _box(c: Any, conn: Any, viewer: Viewer, box: inbox.Box) -> dict[str, Any]:
    return await inbox.inbox_page(conn, c.store, viewer.access, box, limit=PAGE, cursor=None, now=c.clock.now())


def _count(result: dict[str, Any]) -> str:
    return f"{len(result['items'])}+" if result["next_cursor"] else str(len(result["items"]))


@router.get("/inbox")
async def inbox_view(
    request: Request, c: Ctx, viewer: CurrentViewer, box: inbox.Box = "pending", app: Key = None, process: Key = None
) -> Response:
    """One box of the inbox, filtered by app and process; the tabs carry every box's count."""
    async with c.db.read() as conn:
        pages = {b: await _box(c, conn, viewer, b) for b in BOXES}
    items = pages[box]["items"]
    apps = sorted({i["app"] for i in items})
    processes = {i["process"]: text_in(i.get("process_label"), viewer.locale, i["process"]) for i in items}
    shown = [i for i in items if (not app or i["app"] == app) and (not process or i["process"] == process)]
    return page(
        request, "pages/inbox.html", viewer=viewer, nav=None, box=box, boxes=BOXES, items=shown,
        counts={b: _count(p) for b, p in pages.items()}, apps=apps, processes=processes, app=app or "",
        process=process or "",
    )  # fmt: skip


@router.get("/inbox/badge")
async def inbox_badge(c: Ctx, viewer: CurrentViewer) -> Response:
    """The pending count beside the nav's Approvals entry (htmx-loaded; empty when nothing waits)."""
    async with c.db.read() as conn:
        count = _count(await _box(c, conn, viewer, "pending"))
    html = "" if count == "0" else f'<span class="badge bg-red text-white ms-auto" data-inbox-count>{count}</span>'
    return HTMLResponse(html)


def flow(definition: dict[str, Any], timeline: list[dict[str, Any]], current: list[str]) -> list[dict[str, Any]]:
    """The nodes in walking order from the start, each with its depth (inside a branch) and its mark:
    done (visited and left), current (a token waits there) or waiting."""
    nodes = {n["id"]: n for n in definition.get("nodes", [])}
    edges: dict[str, list[str]] = {}
    for e in definition.get("edges", []):
        edges.setdefault(e["from"], []).append(e["to"])
    done = {s["node_id"] for s in timeline if s.get("ended_at")}
    start = next((k for k, n in nodes.items() if n.get("type") == "start"), None)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    queue = [(start, 0)] if start else []
    while queue:
        key, depth = queue.pop(0)
        if key in seen or key not in nodes:
            continue
        seen.add(key)
        mark = "current" if key in current else "done" if key in done else "waiting"
        out.append({"id": key, "type": nodes[key].get("type"), "label": nodes[key].get("label") or key, "depth": depth,
                    "mark": mark})  # fmt: skip
        nexts = edges.get(key, [])
        queue.extend((n, depth + 1 if len(nexts) > 1 else max(depth - _joins(edges, n), 0)) for n in nexts)
    return out


def _joins(edges: dict[str, list[str]], node: str) -> int:
    """1 when several arrows meet at the node (the branches end there)."""
    return int(sum(targets.count(node) for targets in edges.values()) > 1)


@router.get("/tasks/{task_id}")
async def task_page(request: Request, task_id: IdPath, c: Ctx, viewer: CurrentViewer) -> Response:
    async with c.db.read() as conn:
        detail = await inbox.task_detail(conn, c.processes, viewer.access, task_id)
        inst = detail["instance"]
        e = await c.store.get(conn, inst["app"], inst["entity"])
        process = await c.processes.compiled(conn, await _version_id(conn, inst["id"]))
        targets = await _targets(c, conn, e)
        record = detail["record"] or {}
        # Linked records by their display value, as far as the viewer may read them (else their id).
        await c.reader.expand_relations(conn, viewer.access, e, [record], [f.key for f in e.relations() if f.key in record])
        fvs = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._)
        users = [k for k, f in fvs.items() if f.type == "user"]
        names = await _names(conn, [record], users)
    editable, required = set(detail["editable"]), set(detail["required"])
    shown = [
        replace(f, writable=k in editable and not _generated(e, k), required=f.required or k in required)
        for k, f in fvs.items() if k in record and k not in inbox.DETAIL_SYSTEM_KEYS and k != "id"
    ]  # fmt: skip
    current = [n["id"] for n in inst["current_nodes"]]
    return page(
        request, "pages/task.html", viewer=viewer, nav=None, detail=detail, entity=e, record=record, fields=shown,
        targets=targets, names=names, display_of=display_of, flow=flow(process.definition.to_json(), detail["timeline"], current),
        node_labels={n["id"]: n.get("label") or n["id"] for n in process.definition.to_json().get("nodes", [])},
    )  # fmt: skip


def _generated(e: Any, key: str) -> bool:
    """A number, formula or read-only field: shown, never offered for editing (the API refuses it)."""
    bound = e.fields.get(key)
    return bound is None or bool(bound.type.generated or bound.type.computed or bound.cfg.read_only)


async def _version_id(conn: Any, instance_id: int) -> int:
    return (await conn.execute(select(instances.c.version_id).where(instances.c.id == instance_id))).scalar_one()


@router.get("/ui/approvals/{app}/{entity}/{rid}")
async def approval_panel(request: Request, app: str, entity: str, rid: IdPath, c: Ctx, viewer: CurrentViewer) -> Response:
    """The record page's approval panel: its requests (state, where they wait, withdraw for the
    submitter) and the published processes it may be submitted to by hand."""
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        runs = await inbox.record_instances(conn, c.store, viewer.access, e, rid)
        defined = await c.process_service.list(conn, app, entity)
    running = [r for r in runs if r["state"] == "running"]
    manual = [p for p in defined if p.get("published_version") and p.get("enabled", True)
              and (p.get("start") or {}).get("manual", True)]  # fmt: skip
    startable = [] if running else manual
    locks = [p for p in defined if any(r["process"] == p["key"] for r in running) and p.get("lock", "none") != "none"]
    fvs = field_views(e, scope(viewer.access, e, "read"), viewer.locale, viewer._)
    return page(
        request, "components/approval_panel.html", viewer=viewer, runs=runs[:5], startable=startable, locks=locks,
        fields=fvs, api=f"/api/v1/apps/{app}/{entity}/{rid}/processes",
    )  # fmt: skip


@router.get("/me/delegations")
async def delegations_page(request: Request, c: Ctx, viewer: CurrentViewer) -> Response:
    """My settings > Delegations: mine (with delete), those naming me, and the form that adds one
    (the scopes offered: every app the viewer reads and each of its published processes)."""
    async with c.db.read() as conn:
        listed = await delegation.list_delegations(conn, viewer.profile.id, c.clock.now())
        scopes = [s for a in await apps_for(c, conn, viewer) for s in await _scopes(c, conn, a, viewer.locale)]
    return page(
        request, "pages/delegations.html", viewer=viewer, nav=None, mine=listed["items"], received=listed["received"],
        scopes=scopes, scope_labels={f"{s['app']}/{s['process'] or ''}": s["label"] for s in scopes},
    )  # fmt: skip


async def _scopes(c: Any, conn: Any, app: NavApp, locale: str) -> list[dict[str, Any]]:
    published = [p for p in await c.process_service.list(conn, app.key, None) if p.get("published_version")]
    return [{"app": app.key, "process": None, "label": app.label}] + [
        {"app": app.key, "process": p["key"], "label": f"{app.label} · {text_in(p.get('label'), locale, p['key'])}"}
        for p in published
    ]
