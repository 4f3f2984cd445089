"""What people (and deadlines) do to tasks: approve, reject, complete, return, transfer, add a
signer, comment, resubmit, withdraw. Each call is one transition of one instance (see runtime)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.auth.tables import users
from engine.core.errors import Conflict, ErrorCollector, ErrorDetail, NotFound, ValidationFailed, pointer
from engine.process.compile import CompiledNode
from engine.process.nodes import CompiledEdge, Vote, decide
from engine.process.runtime import ProcessEngine, Run, Visit
from engine.process.tables import steps, tasks, tokens

ALL_ACTIONS = ("approve", "reject", "complete", "return", "transfer", "add_signer", "comment", "resubmit")
MAX_COMMENT = 4000


class ActIn(BaseModel):
    """The body of `POST /api/v1/tasks/{id}/actions`."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["approve", "reject", "complete", "return", "transfer", "add_signer", "comment", "resubmit"]
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)
    values: dict[str, Any] | None = None  # fields to change on the record (those the node makes editable)
    to: str | None = Field(default=None, max_length=63)  # return: a node id or "submitter"
    user: str | None = Field(default=None, max_length=320)  # transfer / add_signer: an e-mail (or a user id)
    placement: Literal["before", "after"] = "after"  # add_signer


@dataclass
class Acting:
    engine: ProcessEngine
    run: Run
    task: Any  # the tg_process_tasks row
    node: CompiledNode
    body: ActIn

    @property
    def conn(self) -> AsyncConnection:
        return self.run.conn


async def act(engine: ProcessEngine, conn: AsyncConnection, task_id: int, body: ActIn, actor: Access) -> dict[str, Any]:
    """Apply one action to one task; only its assignee (or an administrator) may. Returns the
    task as it is afterwards."""
    task = await _task(conn, task_id, actor)
    run = await engine.open(conn, task.instance_id, actor)
    task = await _task(conn, task_id, actor)  # again, now that the instance is locked
    if task.state != "pending":
        raise Conflict(f"task {task_id} was already handled ({task.decision or task.state})", state=task.state)
    if not run.running:
        raise Conflict(f"the process ended ({run.instance['state']})")
    node = run.process.nodes[task.node_id]
    acting = Acting(engine, run, task, node, body)
    _check_allowed(acting)
    if body.values:
        await _write_values(acting)
    handler = HANDLERS[body.action]
    await handler(acting)
    await engine.flush(run)
    await engine.touch(run)
    row = (await conn.execute(select(tasks).where(tasks.c.id == task_id))).one()
    return dict(row._mapping)


async def _task(conn: AsyncConnection, task_id: int, actor: Access) -> Any:
    row = (await conn.execute(select(tasks).where(tasks.c.id == task_id))).first()
    if row is None or row.kind == "cc" or (row.assignee_id != actor.user_id and not actor.is_admin):
        raise NotFound(f"task {task_id} does not exist or is not yours")  # never reveal others' tasks
    return row


def _check_allowed(a: Acting) -> None:
    action, task, cfg = a.body.action, a.task, a.node.cfg
    if task.kind == "resubmit":
        allowed: tuple[str, ...] = ("resubmit", "comment")
    else:
        allowed = tuple(getattr(cfg, "actions", ()))
    if action not in allowed:
        raise ValidationFailed(
            f"{action!r} is not possible on this task", errors=[_err("/action", "action", f"use one of {list(allowed)}")]
        )
    if action in getattr(cfg, "comment_required", ()) and not (a.body.comment or "").strip():
        raise ValidationFailed("a comment is required", errors=[_err("/comment", "required", f"{action} needs a comment")])
    if action == "comment" and not (a.body.comment or "").strip():
        raise ValidationFailed("the comment is empty", errors=[_err("/comment", "required", "write a comment")])


def _err(path: str, code: str, message: str) -> ErrorDetail:
    return ErrorDetail(path, code, message)


async def _write_values(a: Acting) -> None:
    """Fields the node lets its assignee edit (the submitter edits with their own rights on a
    returned request); written as the engine, so locks do not refuse them."""
    values = a.body.values or {}
    if a.task.kind == "resubmit":  # with the submitter's own rights; the instance's locks are theirs to pass
        submitter = replace(a.run.actor, source="process")
        await a.engine.services.records.update(a.conn, a.run.entity, a.run.instance["record_id"], values, submitter)
    else:
        editable = set(a.node.cfg.fields.editable)
        errors = ErrorCollector()
        for key in values:
            if key not in editable:
                errors.add("/values" + pointer(key), "not_editable", f"{key!r} cannot be changed at this step")
        errors.raise_if_any("Some fields cannot be changed here")
        engine_actor = Access.system(source="process", user_id=a.run.actor.user_id)
        try:
            await a.engine.services.records.update(a.conn, a.run.entity, a.run.instance["record_id"], values, engine_actor)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.detail, errors=[_err("/values" + e.path, e.code, e.message) for e in exc.errors]) from exc
    a.run.record = await a.engine._record(a.conn, a.run.process, a.run.entity, a.run.instance["record_id"])


async def _mark(a: Acting, decision: str, state: str = "done") -> None:
    now = a.engine.services.clock.now()
    await a.conn.execute(
        update(tasks).where(tasks.c.id == a.task.id)
        .values(state=state, decision=decision, comment=a.body.comment, acted_at=now, acted_by=a.run.actor.user_id)
    )  # fmt: skip
    await a.engine.event(a.run, decision, step_id=a.task.step_id, task_id=a.task.id, comment=a.body.comment,
                         data={"node": a.node.id, "assignee": a.task.assignee_id})  # fmt: skip


# -- decisions -----------------------------------------------------------------------------------
async def _decide(a: Acting) -> None:
    """Record an approve / reject / complete, move a chain on, and leave the node when decided."""
    if a.body.action in ("approve", "complete"):
        _check_required(a)
    await _mark(a, a.body.action)
    if a.body.action in ("approve", "complete"):
        await _activate_next(a)
        if a.task.placement == "before":
            return  # the signer added before has approved: the task is back with its assignee, who decides
    rows = (await a.conn.execute(select(tasks).where(tasks.c.step_id == a.task.step_id, tasks.c.kind != "cc"))).all()
    votes = [Vote(r.state, r.decision, r.placement) for r in rows]
    outcome = decide(a.node.cfg, votes)
    if outcome is None:
        return
    await leave_node(a.engine, a.run, a.task.step_id, a.node, outcome)


def _check_required(a: Acting) -> None:
    """The node's required fields must hold a value (after this action's edits) to approve or complete."""
    errors = ErrorCollector()
    for key in a.node.cfg.fields.required:
        if a.run.record.get(key) in (None, "", []):
            errors.add("/values" + pointer(key), "required", f"{key!r} must be filled in before you {a.body.action}")
    errors.raise_if_any("Required fields are empty")


async def _activate_next(a: Acting) -> None:
    """After an approval: the assignee a signer was added before gets the task back; in a chain,
    the next position starts once everyone at this one has acted."""
    t = tasks.c
    if a.task.placement == "before" and a.task.origin_id is not None:
        origin = (await a.conn.execute(select(tasks).where(t.id == a.task.origin_id))).one()
        if origin.state == "queued":
            await a.engine.activate(a.run, a.node, origin.id, origin.assignee_id, origin.kind)
        return
    if getattr(a.node.cfg, "mode", "single") != "sequential":
        return
    same = select(t.id).where(t.step_id == a.task.step_id, t.position == a.task.position, t.state.in_(("pending", "queued")))
    if (await a.conn.execute(same)).first() is not None:
        return
    nxt = (
        await a.conn.execute(
            select(tasks).where(t.step_id == a.task.step_id, t.state == "queued", t.position > a.task.position)
            .order_by(t.position, t.id)
        )
    ).all()  # fmt: skip
    for row in [r for r in nxt if r.position == nxt[0].position] if nxt else []:
        await a.engine.activate(a.run, a.node, row.id, row.assignee_id, row.kind)


async def leave_node(engine: ProcessEngine, run: Run, step_id: int, node: CompiledNode, outcome: str) -> None:
    """A human node is decided: cancel its open tasks, close its step, move its token on."""
    t = tasks.c
    await run.conn.execute(
        update(tasks).where(t.step_id == step_id, t.state.in_(("pending", "queued"))).values(state="cancelled")
    )
    completed = node.type.key == "fill" and outcome == "approved"  # a fill task is completed, not approved
    await engine.end_step(run, step_id, "completed" if completed else outcome)
    token = await _token_at(engine, run, step_id)
    edges = outcome_edges(node, outcome)
    if outcome == "rejected" and not edges:
        engine.retire(token, "done")
        await engine.end_path(run, "rejected")
        return
    await engine.advance(run, await engine.take(run, token, edges, node))


def outcome_edges(node: CompiledNode, outcome: str) -> tuple[CompiledEdge, ...]:
    """The edges a decided human node leaves along (none for a rejection without a rejected edge:
    the instance ends as rejected)."""
    return tuple(e for e in node.edges if (e.edge.outcome or "approved") == outcome)


async def _token_at(engine: ProcessEngine, run: Run, step_id: int) -> Any:
    token_id = (await run.conn.execute(select(steps.c.token_id).where(steps.c.id == step_id))).scalar_one()
    return await engine.load_token(run, token_id)


# -- other actions -------------------------------------------------------------------------------
async def _comment(a: Acting) -> None:
    await a.engine.event(a.run, "comment", step_id=a.task.step_id, task_id=a.task.id, comment=a.body.comment)


async def _transfer(a: Acting) -> None:
    user = await _user(a, a.body.user, "/user")
    if user == a.task.assignee_id:
        raise ValidationFailed("the task is already theirs", errors=[_err("/user", "same_user", "pick someone else")])
    await _mark(a, "transfer")
    row = {"user": user, "state": "pending", "position": a.task.position, "origin": a.task.id, "placement": a.task.placement}
    await a.engine.add_tasks(a.run, a.node, a.task.step_id, a.task.kind, [row])


async def _add_signer(a: Acting) -> None:
    user = await _user(a, a.body.user, "/user")
    placement = a.body.placement
    await a.engine.event(a.run, "add_signer", step_id=a.task.step_id, task_id=a.task.id, comment=a.body.comment,
                         data={"user": user, "placement": placement})  # fmt: skip
    if placement == "before":  # they act first; the task comes back to me after their approval
        await a.conn.execute(update(tasks).where(tasks.c.id == a.task.id).values(state="queued"))
    row = {"user": user, "state": "pending", "position": a.task.position, "origin": a.task.id, "placement": placement}
    await a.engine.add_tasks(a.run, a.node, a.task.step_id, a.task.kind, [row])


async def _user(a: Acting, ref: str | None, path: str) -> int:
    if not ref:
        raise ValidationFailed("say who", errors=[_err(path, "required", "give the user's e-mail")])
    query = select(users.c.id).where(users.c.active.is_(True))
    query = query.where(users.c.id == int(ref)) if ref.isdigit() else query.where(users.c.email == ref.strip().lower())
    found = (await a.conn.execute(query)).scalar()
    if found is None:
        raise ValidationFailed("unknown user", errors=[_err(path, "unknown_user", f"no active user {ref[:100]!r}")])
    return int(found)


async def _return(a: Acting) -> None:
    """Send the request back to an earlier task, or to the submitter to change and resubmit."""
    target = a.body.to or "submitter"
    allowed = list(a.node.cfg.return_to) or ["submitter", *a.run.process.graph.earlier_human(a.node.id)]
    if target not in allowed:
        raise ValidationFailed("cannot return there", errors=[_err("/to", "return_target", f"return to one of {allowed}")])
    await _mark(a, "return")
    await send_back(a.engine, a.run, target, a.node)


async def send_back(engine: ProcessEngine, run: Run, target: str, node: CompiledNode) -> None:
    """Cancel everything open and start again at `target` (a node, or the submitter's resubmit task)."""
    t = tasks.c
    await run.conn.execute(
        update(tasks).where(t.instance_id == run.id, t.state.in_(("pending", "queued"))).values(state="cancelled")
    )
    now = engine.services.clock.now()
    open_steps = (steps.c.instance_id == run.id) & steps.c.ended_at.is_(None)
    await run.conn.execute(update(steps).where(open_steps).values(ended_at=now, outcome="returned"))
    await run.conn.execute(
        update(tokens).where(tokens.c.instance_id == run.id, tokens.c.state == "waiting").values(state="cancelled")
    )
    for token in run.tokens.values():
        token.state = "cancelled" if token.state == "waiting" else token.state
    if target != "submitter":
        await engine.advance(run, [await engine.new_token(run, target, None)])
        return
    start = run.process.start
    token = await engine.new_token(run, start.id, None)
    visit = Visit(engine, run, token, start)
    step_id = await visit.step()
    token.step_id, token.dirty = step_id, True
    submitter = run.instance["started_by"]
    who = submitter if submitter is not None else (await engine.admins(run.conn))[0]
    await engine.add_tasks(run, start, step_id, "resubmit", [{"user": who, "state": "pending", "position": 0}])


async def _resubmit(a: Acting) -> None:
    await _mark(a, "resubmit")
    await a.engine.end_step(a.run, a.task.step_id, "resubmitted")
    token = await _token_at(a.engine, a.run, a.task.step_id)
    await a.engine.advance(a.run, await a.engine.take(a.run, token, a.node.edges, a.node))


HANDLERS = {
    "approve": _decide, "reject": _decide, "complete": _decide, "comment": _comment, "transfer": _transfer,
    "add_signer": _add_signer, "return": _return, "resubmit": _resubmit,
}  # fmt: skip


async def withdraw(engine: ProcessEngine, conn: AsyncConnection, instance_id: int, actor: Access, comment: str | None) -> None:
    """The submitter (or an administrator) takes a running request back."""
    run = await engine.open(conn, instance_id, actor)
    if run.instance["started_by"] != actor.user_id and not actor.is_admin:
        raise NotFound(f"process instance {instance_id} does not exist or is not yours")
    if not run.process.definition.withdraw and not actor.is_admin:
        raise Conflict(f"process {run.process.key!r} cannot be withdrawn")
    if not run.running:
        raise Conflict(f"the process already ended ({run.instance['state']})")
    await engine.finish(run, "withdrawn", None, comment)
    await engine.touch(run)
