"""An instance's timeline: one entry per node visit, in order, with its people and what they did.

This is what the instance page shows as history and what reports read for "how long does each node
take" and "where do requests wait" (SCENARIOS P3, P7): every step carries its duration, its tasks
(who was asked, what they decided) and its events (comments, transfers, reminders, escalations).
Labels come from the version the instance runs on, so a renamed node keeps its old name here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.tables import users
from engine.core.jsonvalues import iso_utc, to_utc
from engine.process.tables import events, instances, process_versions, steps, tasks


async def timeline(conn: AsyncConnection, instance_id: int) -> list[dict[str, Any]]:
    """The steps of the instance, oldest first (empty for an unknown instance)."""
    definition = await _definition(conn, instance_id)
    if definition is None:
        return []
    labels = node_labels(definition)
    # Visit order: instant visits are written in a batch after the step a transition stops at, so
    # ids alone can put a waiting step before the gateways that led to it.
    step_query = select(steps).where(steps.c.instance_id == instance_id).order_by(steps.c.started_at, steps.c.id)
    step_rows = (await conn.execute(step_query)).all()
    task_rows = (await conn.execute(select(tasks).where(tasks.c.instance_id == instance_id).order_by(tasks.c.id))).all()
    event_rows = (await conn.execute(select(events).where(events.c.instance_id == instance_id).order_by(events.c.id))).all()
    names = await user_names(
        conn, [t.assignee_id for t in task_rows] + [t.on_behalf_of for t in task_rows] + [e.actor_id for e in event_rows]
    )
    by_step: dict[int, dict[str, list[dict[str, Any]]]] = {s.id: {"tasks": [], "events": []} for s in step_rows}
    for t in task_rows:
        if t.step_id in by_step:
            by_step[t.step_id]["tasks"].append(_task(t, names))
    for e in event_rows:
        if e.step_id in by_step:
            by_step[e.step_id]["events"].append(event_json(e, names))
    return [_step(s, labels, by_step[s.id]) for s in step_rows]


async def instance_events(conn: AsyncConnection, instance_id: int) -> list[dict[str, Any]]:
    """Events not tied to a step: started (with the submitter's comment), ended, withdrawn,
    cancelled, service actions."""
    query = select(events).where(events.c.instance_id == instance_id, events.c.step_id.is_(None)).order_by(events.c.id)
    rows = (await conn.execute(query)).all()
    names = await user_names(conn, [e.actor_id for e in rows])
    return [event_json(e, names) for e in rows]


async def _definition(conn: AsyncConnection, instance_id: int) -> dict[str, Any] | None:
    query = (
        select(process_versions.c.definition)
        .join(instances, instances.c.version_id == process_versions.c.id)
        .where(instances.c.id == instance_id)
    )
    found = (await conn.execute(query)).scalar()
    return None if found is None else dict(found)


def node_labels(definition: dict[str, Any]) -> dict[str, Any]:
    """Node id -> its label as the builder wrote it (a text or {locale: text}); the id when unlabelled."""
    return {n["id"]: n.get("label") or n["id"] for n in definition.get("nodes", []) if isinstance(n, dict) and "id" in n}


async def user_names(conn: AsyncConnection, ids: list[Any]) -> dict[int, str]:
    """User id -> display name (the e-mail when they gave no name), one query for all."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = (await conn.execute(select(users.c.id, users.c.name, users.c.email).where(users.c.id.in_(wanted)))).all()
    return {r.id: r.name or r.email for r in rows}


def iso(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def seconds_between(start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return round((to_utc(end) - to_utc(start)).total_seconds(), 3)


def _step(row: Any, labels: dict[str, Any], children: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "step_id": row.id,
        "node_id": row.node_id,
        "node_type": row.node_type,
        "node_label": labels.get(row.node_id, row.node_id),
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
        "duration_seconds": seconds_between(row.started_at, row.ended_at),
        "outcome": row.outcome,
        "tasks": children["tasks"],
        "events": children["events"],
    }


def _task(row: Any, names: dict[int, str]) -> dict[str, Any]:
    return {
        "task_id": row.id,
        "kind": row.kind,
        "assignee": {"id": row.assignee_id, "name": names.get(row.assignee_id)},
        # The user whose delegation gave the task to the assignee: "B, on behalf of A".
        "on_behalf_of": None if row.on_behalf_of is None else {"id": row.on_behalf_of, "name": names.get(row.on_behalf_of)},
        "state": row.state,
        "decision": row.decision,
        "comment": row.comment,
        "created_at": iso(row.created_at),
        "acted_at": iso(row.acted_at),
    }


def event_json(row: Any, names: dict[int, str]) -> dict[str, Any]:
    actor = None if row.actor_id is None else {"id": row.actor_id, "name": names.get(row.actor_id)}
    return {"action": row.action, "actor": actor, "comment": row.comment, "at": iso(row.at), "task_id": row.task_id}
