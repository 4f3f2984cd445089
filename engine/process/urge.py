"""Urging (催办): the submitter nudges the people a running request waits for. Each pending task
of the instance is urged at most once an hour (URGE_EVERY); the nudge is an in-app notification and an
email to its assignee (the rules' `rules.email` delivery job, sent after the commit) and an `urge` event
on the timeline."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.core.errors import Conflict, NotFound, TooManyRequests
from engine.core.jsonvalues import to_utc
from engine.jobs.queue import enqueue
from engine.notify.names import record_name
from engine.process.runtime import ProcessEngine, Run
from engine.process.tables import events, tasks
from engine.process.timeline import user_names

URGE_EVERY = timedelta(hours=1)


async def urge(
    engine: ProcessEngine, conn: AsyncConnection, instance_id: int, actor: Access, comment: str | None
) -> dict[str, Any]:
    """Nudge the assignees of the instance's pending tasks not urged in the last hour; 404 for anyone
    but the submitter, 409 when the request is not running, 429 (Retry-After) when every pending
    task was urged less than an hour ago."""
    run = await engine.open(conn, instance_id, actor)
    if run.instance["started_by"] != actor.user_id or actor.user_id is None:
        raise NotFound(f"process instance {instance_id} does not exist or is not yours")
    if not run.running:
        raise Conflict(f"the process already ended ({run.instance['state']})")
    waiting = await _pending(conn, instance_id)
    if not waiting:
        raise Conflict("no task of this request is waiting for anyone")
    now = engine.services.clock.now()
    last = await _last_urged(conn, [t.id for t in waiting])
    due = [t for t in waiting if t.id not in last or to_utc(last[t.id]) + URGE_EVERY <= now]
    if not due:
        wait = min(to_utc(at) + URGE_EVERY - now for at in last.values())
        retry = max(1, math.ceil(wait.total_seconds()))
        raise TooManyRequests("these tasks were urged less than an hour ago", retry_after=retry)
    for t in due:
        await _nudge(engine, run, t, comment)
    await engine.touch(run)
    names = await user_names(conn, [t.assignee_id for t in due])
    return {"urged": [{"task_id": t.id, "assignee": {"id": t.assignee_id, "name": names.get(t.assignee_id)}} for t in due]}


async def _pending(conn: AsyncConnection, instance_id: int) -> list[Any]:
    t = tasks.c
    query = select(tasks).where(t.instance_id == instance_id, t.state == "pending", t.kind != "cc").order_by(t.id)
    return list((await conn.execute(query)).all())


async def _last_urged(conn: AsyncConnection, task_ids: list[int]) -> dict[int, Any]:
    e = events.c
    query = select(e.task_id, func.max(e.at)).where(e.task_id.in_(task_ids), e.action == "urge").group_by(e.task_id)
    return {int(row[0]): row[1] for row in await conn.execute(query)}


async def _nudge(engine: ProcessEngine, run: Run, task: Any, comment: str | None) -> None:
    await engine.event(run, "urge", step_id=task.step_id, task_id=task.id, comment=comment, data={"assignee": task.assignee_id})
    what = "the submitter is waiting for your decision"
    await engine.tell(run, [task.assignee_id], what)
    now = engine.services.clock.now()
    subject = f"{run.process.label()}: {what}"
    text = "\n\n".join(part for part in (f"{subject}: {record_name(run.entity, run.record)}", comment) if part)
    payload = {"user_id": task.assignee_id, "subject": subject, "text": text}
    await enqueue(run.conn, now, "rules.email", payload, dedup_key=f"urge:{task.id}:{now.isoformat()}")
