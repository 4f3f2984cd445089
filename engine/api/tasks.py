"""The task inbox: the signed-in user's process tasks (to do, submitted, handled, copied to them),
one task's page, and acting on it (approve, reject, complete, return, transfer, add a signer,
comment, resubmit). Someone else's task answers 404, as if it did not exist."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.params import MAX_ID, IdPath
from engine.process import inbox
from engine.process.acts import ActIn

router = APIRouter(prefix="/api/v1", tags=["tasks"])

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_cursor of the previous page")]


@router.get("/me/tasks")
async def my_tasks(c: Ctx, actor: CurrentActor, box: inbox.Box = "pending", limit: Limit = 50, cursor: Cursor = None) -> Response:
    """A page of the caller's inbox, newest first. `pending`: tasks waiting for me; `started`:
    requests I submitted; `handled`: tasks I acted on; `cc`: requests copied to me."""
    async with c.db.read() as conn:
        page = await inbox.inbox_page(conn, c.store, actor, box, limit=limit, cursor=cursor, now=c.clock.now())
    return json_response(page)


@router.get("/tasks/{task_id}")
async def get_task(task_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    """The task page: the task, its instance, the record as the node shows it, what may be edited,
    the possible actions and return targets, and the history."""
    async with c.db.read() as conn:
        return json_response(await inbox.task_detail(conn, c.processes, actor, task_id))


@router.post("/tasks/{task_id}/actions")
async def act(task_id: IdPath, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Act on the task (body: acts.ActIn). A task already handled is a 409; the whole action,
    field edits included, is applied or nothing is."""
    body = parse_model(ActIn, await read_json(request))
    async with c.db.write() as conn:
        await c.processes.act(conn, task_id, body, actor)
        return json_response(await inbox.task_after_action(conn, task_id, c.clock.now()))
