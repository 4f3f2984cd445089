"""What people see of running processes: their task inbox, a task's detail page, and instances.

Read-only queries behind the task and instance routes (engine.api.tasks, engine.api.processes).
Visibility is decided here, in one place: an instance is shown to administrators, its submitter,
anyone who has or had a task on it, and anyone who may read its record; to everyone else it does
not exist (404, never 403, so ids cannot be probed). A task is shown only to its assignee (or an
administrator), with the record cut down to what the node shows and the viewer's role may read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from engine.auth.policy import Access, scope
from engine.core.errors import Forbidden, NotFound
from engine.core.jsonvalues import to_utc
from engine.process.compile import CompiledProcess
from engine.process.runtime import ProcessEngine
from engine.process.tables import instances, process_versions, processes, tasks, tokens
from engine.process.timeline import instance_events, iso, node_labels, timeline, user_names
from engine.records.reads import scoped
from engine.records.serialize import record_json
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

Box = Literal["pending", "started", "handled", "cc"]
OPEN_TASK_STATES = ("pending", "queued")
DETAIL_SYSTEM_KEYS = ("version", "created_at", "updated_at")  # always in a task's record snapshot (optimistic edits)


# -- instances -----------------------------------------------------------------------------------
async def instance_row(conn: AsyncConnection, store: EntityStore, actor: Access, instance_id: int) -> Any:
    """The instance if the caller may see it; otherwise 404 as if it did not exist."""
    row = (await conn.execute(select(instances).where(instances.c.id == instance_id))).first()
    if row is None or not await may_see(conn, store, actor, row):
        raise NotFound(f"process instance {instance_id} does not exist")
    return row


async def may_see(conn: AsyncConnection, store: EntityStore, actor: Access, row: Any) -> bool:
    if actor.token_apps is not None and row.app not in actor.token_apps:
        return False
    if actor.is_admin or (actor.user_id is not None and row.started_by == actor.user_id):
        return True
    if actor.user_id is not None and await _involved(conn, actor.user_id, [row.id]):
        return True
    entity = await store.get_or_none(conn, row.app, row.entity)
    return entity is not None and bool(await _readable(conn, actor, entity, [row.record_id]))


async def _involved(conn: AsyncConnection, user_id: int, instance_ids: list[int]) -> set[int]:
    """Instances where the user has or had a task (cc included), or acted on one."""
    t = tasks.c
    query = select(t.instance_id).where(t.instance_id.in_(instance_ids), or_(t.assignee_id == user_id, t.acted_by == user_id))
    return set((await conn.execute(query.distinct())).scalars())


async def _readable(conn: AsyncConnection, actor: Access, entity: CompiledEntity, record_ids: list[int]) -> set[int]:
    t = entity.table
    query = scoped(select(t.c.id).where(t.c.id.in_(record_ids)), scope(actor, entity, "read"))
    return set((await conn.execute(query)).scalars())


async def record_instances(
    conn: AsyncConnection, store: EntityStore, actor: Access, entity: CompiledEntity, record_id: int
) -> list[dict[str, Any]]:
    """The record's instances the caller may see, newest first."""
    query = select(instances).where(
        instances.c.app == entity.app, instances.c.entity == entity.key, instances.c.record_id == record_id
    )
    rows = (await conn.execute(query.order_by(instances.c.id.desc()))).all()
    if not rows or (actor.token_apps is not None and entity.app not in actor.token_apps):
        return []
    if not (actor.is_admin or await _readable(conn, actor, entity, [record_id])):
        mine = await _involved(conn, actor.user_id, [r.id for r in rows]) if actor.user_id is not None else set()
        rows = [r for r in rows if r.id in mine or (actor.user_id is not None and r.started_by == actor.user_id)]
    return await instances_json(conn, rows)


async def instances_json(conn: AsyncConnection, rows: list[Any]) -> list[dict[str, Any]]:
    """Instances as the API shows them: where they are (current nodes) and who is to act (open tasks)."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    versions = await _versions(conn, {r.version_id for r in rows})
    tok = tokens.c
    waiting_query = select(tok.instance_id, tok.node_id).where(tok.instance_id.in_(ids), tok.state == "waiting")
    waiting = (await conn.execute(waiting_query.order_by(tok.id))).all()
    t = tasks.c
    open_query = select(tasks).where(t.instance_id.in_(ids), t.state.in_(OPEN_TASK_STATES), t.kind != "cc").order_by(t.id)
    open_tasks = (await conn.execute(open_query)).all()
    names = await user_names(conn, [o.assignee_id for o in open_tasks] + [r.started_by for r in rows])
    out = []
    for r in rows:
        version = versions[r.version_id]
        labels = node_labels(version["definition"])
        current = list(dict.fromkeys(w.node_id for w in waiting if w.instance_id == r.id))
        out.append(
            {
                "id": r.id, "process": version["key"], "process_label": version["definition"].get("label"),
                "version": version["version"], "state": r.state, "outcome": r.outcome, "app": r.app, "entity": r.entity,
                "record_id": r.record_id, "started_by": _person(r.started_by, names), "started_at": iso(r.started_at),
                "ended_at": iso(r.ended_at), "revision": r.revision,
                "current_nodes": [{"id": n, "label": labels.get(n, n)} for n in current],
                "open_tasks": [_open_task(o, labels, names) for o in open_tasks if o.instance_id == r.id],
            }
        )  # fmt: skip
    return out


async def instance_detail(conn: AsyncConnection, row: Any) -> dict[str, Any]:
    """One instance with its timeline and the events not tied to a step (start, end, withdrawal)."""
    body = (await instances_json(conn, [row]))[0]
    return body | {"timeline": await timeline(conn, row.id), "events": await instance_events(conn, row.id)}


async def _versions(conn: AsyncConnection, version_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    pv = process_versions.c
    query = select(pv.id, pv.version, pv.definition, processes.c.key).join(processes, processes.c.id == pv.process_id)
    rows = (await conn.execute(query.where(pv.id.in_(sorted(version_ids))))).all()
    return {r.id: {"version": r.version, "definition": dict(r.definition), "key": r.key} for r in rows}


def _person(user_id: int | None, names: dict[int, str]) -> dict[str, Any] | None:
    return None if user_id is None else {"id": user_id, "name": names.get(user_id)}


def _open_task(row: Any, labels: dict[str, Any], names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row.id, "node_id": row.node_id, "node_label": labels.get(row.node_id, row.node_id), "kind": row.kind,
        "state": row.state, "assignee": _person(row.assignee_id, names), "created_at": iso(row.created_at),
        "due_at": iso(row.due_at),
    }  # fmt: skip


# -- the task inbox ------------------------------------------------------------------------------
async def inbox_page(
    conn: AsyncConnection, store: EntityStore, actor: Access, box: Box, *, limit: int, cursor: int | None, now: datetime
) -> dict[str, Any]:
    """A page of one inbox box, newest first; `next_cursor` (an id) fetches the next page."""
    if actor.user_id is None:
        raise Forbidden("only a signed-in user has a task inbox")
    if box == "started":
        return await _started_page(conn, store, actor, limit, cursor)
    t = tasks.c
    where = {
        "pending": [t.assignee_id == actor.user_id, t.state == "pending", t.kind != "cc"],
        "handled": [t.acted_by == actor.user_id, t.decision.is_not(None)],
        "cc": [t.assignee_id == actor.user_id, t.kind == "cc"],
    }[box]
    query = _within_apps(
        select(tasks, instances.c.app, instances.c.entity, instances.c.record_id, instances.c.version_id)
        .join(instances, instances.c.id == t.instance_id)
        .where(*where),
        actor,
    )
    if cursor is not None:
        query = query.where(t.id < cursor)
    rows = (await conn.execute(query.order_by(t.id.desc()).limit(limit + 1))).all()
    page = rows[:limit]
    versions = await _versions(conn, {r.version_id for r in page})
    displays = await _displays(conn, store, actor, page)
    names = await user_names(conn, [r.on_behalf_of for r in page])
    items = [
        _inbox_item(r, versions[r.version_id], displays, now) | {"on_behalf_of": _person(r.on_behalf_of, names)} for r in page
    ]
    return {"items": items, "next_cursor": page[-1].id if len(rows) > limit else None}


async def _started_page(
    conn: AsyncConnection, store: EntityStore, actor: Access, limit: int, cursor: int | None
) -> dict[str, Any]:
    query = _within_apps(select(instances).where(instances.c.started_by == actor.user_id), actor)
    if cursor is not None:
        query = query.where(instances.c.id < cursor)
    rows = (await conn.execute(query.order_by(instances.c.id.desc()).limit(limit + 1))).all()
    page = rows[:limit]
    displays = await _displays(conn, store, actor, page)
    items = [
        i | {"record_display": displays.get((i["app"], i["entity"], i["record_id"]))} for i in await instances_json(conn, page)
    ]
    return {"items": items, "next_cursor": page[-1].id if len(rows) > limit else None}


def _within_apps(query: Select[Any], actor: Access) -> Select[Any]:
    """A token limited to some apps sees only their processes."""
    return query if actor.token_apps is None else query.where(instances.c.app.in_(sorted(actor.token_apps)))


def _inbox_item(row: Any, version: dict[str, Any], displays: dict[tuple[str, str, int], Any], now: datetime) -> dict[str, Any]:
    labels = node_labels(version["definition"])
    return {
        "id": row.id, "kind": row.kind, "node_id": row.node_id, "node_label": labels.get(row.node_id, row.node_id),
        "process": version["key"], "process_label": version["definition"].get("label"), "instance_id": row.instance_id,
        "app": row.app, "entity": row.entity, "record_id": row.record_id,
        "record_display": displays.get((row.app, row.entity, row.record_id)),
        "created_at": iso(row.created_at), "due_at": iso(row.due_at), "overdue": overdue(row, now), "state": row.state,
        "escalated": bool(row.escalated), "decision": row.decision, "acted_at": iso(row.acted_at),
    }  # fmt: skip


def overdue(task: Any, now: datetime) -> bool:
    return task.state == "pending" and task.due_at is not None and to_utc(task.due_at) < to_utc(now)


async def _displays(conn: AsyncConnection, store: EntityStore, actor: Access, rows: list[Any]) -> dict[tuple[str, str, int], Any]:
    """(app, entity, record id) -> the record's display value, one query per entity. A task lets
    its assignee see the record whoever owns it; a display field the caller's role hides stays null."""
    wanted: dict[tuple[str, str], set[int]] = {}
    for r in rows:
        wanted.setdefault((r.app, r.entity), set()).add(r.record_id)
    out: dict[tuple[str, str, int], Any] = {}
    for (app, key), ids in wanted.items():
        entity = await store.get_or_none(conn, app, key)
        field_key = entity.definition.display_field if entity is not None else None
        if entity is None or not field_key or field_key in scope(actor, entity, "read").hidden:
            continue
        t = entity.table
        f = entity.fields[field_key]
        for rid, value in await conn.execute(select(t.c.id, t.c[field_key]).where(t.c.id.in_(sorted(ids)))):
            out[(app, key, rid)] = None if value is None else f.type.dump(f.cfg, value)
    return out


# -- one task ------------------------------------------------------------------------------------
async def my_task(conn: AsyncConnection, actor: Access, task_id: int) -> Any:
    """The task row if it is the caller's (or the caller administers); 404 otherwise."""
    query = select(tasks, instances.c.app).join(instances, instances.c.id == tasks.c.instance_id).where(tasks.c.id == task_id)
    row = (await conn.execute(query)).first()
    mine = row is not None and (actor.is_admin or row.assignee_id == actor.user_id)
    if not mine or (actor.token_apps is not None and row.app not in actor.token_apps):
        raise NotFound(f"task {task_id} does not exist or is not yours")
    return row


async def task_json(conn: AsyncConnection, row: Any, labels: dict[str, Any], now: datetime) -> dict[str, Any]:
    names = await user_names(conn, [row.assignee_id, row.acted_by, row.on_behalf_of])
    return {
        "id": row.id, "instance_id": row.instance_id, "kind": row.kind, "node_id": row.node_id,
        "node_label": labels.get(row.node_id, row.node_id), "assignee": _person(row.assignee_id, names), "state": row.state,
        "on_behalf_of": _person(row.on_behalf_of, names),
        "decision": row.decision, "comment": row.comment, "created_at": iso(row.created_at), "due_at": iso(row.due_at),
        "overdue": overdue(row, now), "acted_at": iso(row.acted_at), "acted_by": _person(row.acted_by, names),
    }  # fmt: skip


async def task_after_action(conn: AsyncConnection, task_id: int, now: datetime) -> dict[str, Any]:
    """The task as an action left it (the body of the actions route's answer)."""
    row = (await conn.execute(select(tasks).where(tasks.c.id == task_id))).one()
    version_id = (await conn.execute(select(instances.c.version_id).where(instances.c.id == row.instance_id))).scalar_one()
    labels = node_labels((await _versions(conn, [version_id]))[version_id]["definition"])
    return await task_json(conn, row, labels, now)


async def task_detail(conn: AsyncConnection, engine: ProcessEngine, actor: Access, task_id: int) -> dict[str, Any]:
    """Everything the task page needs: the task, its instance, the record as this node shows it,
    what may be edited and done, where it may be returned to, and the history."""
    row = await my_task(conn, actor, task_id)
    instance = (await conn.execute(select(instances).where(instances.c.id == row.instance_id))).one()
    process = await engine.compiled(conn, instance.version_id)
    entity = await engine.services.store.get(conn, instance.app, instance.entity)
    node = process.nodes[row.node_id]
    cfg = node.cfg
    access = getattr(cfg, "fields", None)
    labels = node_labels(process.definition.to_json())
    actions = _actions(row, cfg)
    return {
        "task": await task_json(conn, row, labels, engine.services.clock.now()),
        "instance": (await instances_json(conn, [instance]))[0],
        "record": await _snapshot(conn, actor, entity, instance.record_id, None if access is None else access.visible),
        "editable": _editable(actor, entity, row, access),
        "required": [] if access is None or row.kind == "resubmit" else list(access.required),
        "actions": actions,
        "comment_required": [a for a in getattr(cfg, "comment_required", ()) if a in actions],
        "return_to": _return_targets(process, row.node_id, cfg) if "return" in actions else [],
        "timeline": await timeline(conn, instance.id),
    }


async def _snapshot(
    conn: AsyncConnection, actor: Access, entity: CompiledEntity, record_id: int, visible: list[str] | None
) -> dict[str, Any] | None:
    """The record with the fields the node shows (all when it names none) that the viewer's role
    may read; None once the record is deleted. The task itself is the right to see the record."""
    t = entity.table
    found = (await conn.execute(select(t).where(t.c.id == record_id, t.c.deleted_at.is_(None)))).first()
    if found is None:
        return None
    only = None if visible is None else [*visible, *DETAIL_SYSTEM_KEYS]
    return record_json(entity, found, only, scope(actor, entity, "read").hidden)


def _editable(actor: Access, entity: CompiledEntity, row: Any, access: Any) -> list[str]:
    """A returned request is edited with the submitter's own rights; a node's task edits what the
    node lets it (written as the engine, so locks and read-only grants do not refuse them)."""
    if row.state != "pending":
        return []
    if row.kind == "resubmit":
        s = scope(actor, entity, "update")
        return [k for k in entity.fields if k not in s.read_only and k not in s.hidden]
    return [] if access is None else list(access.editable)


def _actions(row: Any, cfg: Any) -> list[str]:
    if row.state != "pending" or row.kind == "cc":
        return []
    if row.kind == "resubmit":
        return ["resubmit", "comment"]
    return list(getattr(cfg, "actions", ()))


def _return_targets(process: CompiledProcess, node_id: str, cfg: Any) -> list[str]:
    """The same list acts.py checks a return against."""
    return list(getattr(cfg, "return_to", ())) or ["submitter", *process.graph.earlier_human(node_id)]
