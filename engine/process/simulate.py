"""Simulate (试运行): the path an instance of a process would take on a record, WITHOUT WRITING
ANYTHING. A builder tries a draft before publishing it; an integrator asks "who would approve this?".

The walk uses the runtime's own pieces, only their reading halves: node types decide where a token
goes (`NodeType.enter`, with a visit that records instead of writing), assignees are resolved by
`ProcessEngine.assignees_of` (if_nobody included), delegations by `delegate_for`, deadlines by
`deadlines` (the working-hours calendar applied), human outcomes by `acts.outcome_edges`. Nothing
here inserts, updates or enqueues: it runs on a read connection.

People's decisions are assumed (approve by default, or as given per node) and taken at once; a timer
moves the simulated clock to when it would fire, so deadlines after it start from then. Service tasks'
actions are listed, not run (their field changes are not seen by later conditions); end nodes' `set`
values are applied to the in-memory record only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access, scope
from engine.auth.tables import users
from engine.core.errors import Conflict, ErrorCollector, NotFound, pointer
from engine.core.jsonvalues import iso_utc, jsonable
from engine.expr.paths import entities_for, load_paths
from engine.formula.env import Env
from engine.process.acts import outcome_edges
from engine.process.assignees import resolve
from engine.process.compile import CompiledNode, CompiledProcess
from engine.process.nodes import WAIT, CompiledEdge, Finish, Leave, Move
from engine.process.runtime import MAX_MOVES, ProcessEngine
from engine.process.tables import process_versions
from engine.process.timeline import user_names
from engine.records.computed import ComputedFields
from engine.records.events import PendingChange
from engine.records.integrity import check_references
from engine.records.reads import scoped
from engine.records.validation import validate_input
from engine.schema.model import CompiledEntity

DECISIONS = ("approved", "rejected")


@dataclass
class _Token:
    node_id: str
    forks: tuple[int, ...]  # the stack of forks this token is a branch of, innermost last


@dataclass
class _Walk:
    engine: ProcessEngine
    conn: AsyncConnection
    process: CompiledProcess
    entity: CompiledEntity
    record: dict[str, Any]
    submitter_id: int | None
    decisions: Mapping[str, str]
    env: Env
    steps: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    expected: dict[int, int] = field(default_factory=dict)  # fork id -> branches it started
    arrived: dict[tuple[str, int], int] = field(default_factory=dict)  # (join, fork) -> branches arrived
    outcome: str | None = None
    ended: bool = False


class _SimVisit:
    """A token entering a node, as the node types see it (nodes.base.Visit), writing nothing."""

    def __init__(self, walk: _Walk, token: _Token, node: CompiledNode, step: dict[str, Any]) -> None:
        self.walk, self.token, self.node, self.step = walk, token, node, step
        self.timer: datetime | None = None
        self.skipped = False

    @property
    def record(self) -> dict[str, Any]:
        return self.walk.record

    @property
    def env(self) -> Env:
        return self.walk.env

    def edges(self) -> tuple[CompiledEdge, ...]:
        return self.node.edges

    async def create_tasks(self, kind: str) -> bool:
        walk, step = self.walk, self.step
        users, fallback = await walk.engine.assignees_of(walk.conn, self.node, walk.submitter_id, walk.record)
        if fallback == "skip":
            step["notes"].append(_note("nobody_skip", "nobody found: the node is passed (if_nobody: skip)"))
            return False
        if fallback == "admins":
            step["notes"].append(_note("nobody_admins", "nobody found: the task goes to the administrators (if_nobody: admins)"))
        now = walk.env.now
        names = await user_names(walk.conn, users)
        for uid in users:
            delegate = await walk.engine.delegate_for(walk.conn, walk.process, uid, kind, now)
            if delegate is None:
                step["assignees"].append({"id": uid, "name": names.get(uid)})
                continue
            other = (await user_names(walk.conn, [delegate])).get(delegate)
            step["assignees"].append({"id": delegate, "name": other, "on_behalf_of": {"id": uid, "name": names.get(uid)}})
            away = names.get(uid)
            step["notes"].append(_note("delegated", f"{away} is away: {other} acts on their behalf", away=away, delegate=other))
        copied = await _resolve_cc(walk, self.node)
        if copied:
            step["cc"] = copied
        step["deadlines"] = [{"kind": stage, "at": iso_utc(at)} for stage, at in walk.engine.deadlines(self.node, now)]
        return True

    async def arrive_at_join(self) -> bool:
        if not self.node.joins or not self.token.forks:
            return True
        walk, fork = self.walk, self.token.forks[-1]
        key = (self.node.id, fork)
        walk.arrived[key] = walk.arrived.get(key, 0) + 1
        if walk.arrived[key] < walk.expected[fork]:
            return False
        self.token.forks = self.token.forks[:-1]
        return True

    async def set_timer(self, due: datetime) -> None:
        self.timer = due

    async def run_actions(self, steps: Any) -> None:
        kinds = ", ".join(action.key for action, _ in steps)
        message = f"would run: {kinds} (not run in a simulation; later conditions do not see its changes)"
        self.step["notes"].append(_note("actions_not_run", message, actions=kinds))

    async def write_record(self, values: dict[str, Any]) -> None:
        self.walk.record.update(values)
        self.step["sets"] = jsonable(values)


async def _resolve_cc(walk: _Walk, node: CompiledNode) -> list[dict[str, Any]]:
    ids = await resolve(walk.conn, node.cfg.cc, submitter_id=walk.submitter_id, record=walk.record)
    names = await user_names(walk.conn, ids)
    return [{"id": i, "name": names.get(i)} for i in ids]


async def simulate(
    engine: ProcessEngine,
    conn: AsyncConnection,
    process: CompiledProcess,
    entity: CompiledEntity,
    record: dict[str, Any],
    *,
    submitter_id: int | None,
    decisions: Mapping[str, str],
    now: datetime,
) -> dict[str, Any]:
    """The ordered steps an instance would take on `record` (native values, relation paths loaded) and
    how it would end. `decisions`: node id -> approved | rejected (approve where not given)."""
    tz = engine.tz
    env = Env(now=now, tz=tz, user_id=submitter_id)
    walk = _Walk(engine, conn, process, entity, dict(record), submitter_id, decisions, env)
    queue = [_Token(process.start.id, ())]
    moves = 0
    while queue and not walk.ended:
        token = queue.pop(0)
        moves += 1
        if moves > MAX_MOVES:
            walk.notes.append(_note("loop", f"the path moved {MAX_MOVES} times without ending: the decisions make it loop"))
            break
        node = process.nodes[token.node_id]
        step = _step(node, walk.env.now)
        walk.steps.append(step)
        visit = _SimVisit(walk, token, node, step)
        try:
            move = await node.type.enter(visit)
        except Conflict as exc:
            walk.notes.append(_note("stopped", f"the instance would stop at {node.id!r}: {exc.detail}", node=node.id))
            return _result(walk, "stuck")
        queue.extend(_apply(walk, visit, move))
    return _result(walk, "completed" if walk.ended or not queue else "stuck")


def _note(code: str, message: str, **params: Any) -> dict[str, Any]:
    """A note for people: a code the UI words in the viewer's language, the English message, its values."""
    return {"code": code, "message": message} | params


def _step(node: CompiledNode, now: datetime) -> dict[str, Any]:
    cfg = node.cfg
    return {
        "node": node.id, "type": node.type.key, "label": jsonable(cfg.label), "at": iso_utc(now), "assignees": [],
        "mode": getattr(cfg, "mode", None) if node.type.human else None, "deadlines": [], "branch_taken": None, "notes": [],
    }  # fmt: skip


def _apply(walk: _Walk, visit: _SimVisit, move: Move) -> list[_Token]:
    node, step, token = visit.node, visit.step, visit.token
    if move is WAIT:
        if node.type.human:
            decision = walk.decisions.get(node.id, "approved")
            step["decision"] = decision
            return _take(walk, token, node, outcome_edges(node, decision), decision)
        if visit.timer is not None:
            step["waits_until"] = iso_utc(visit.timer)
            walk.env = Env(now=visit.timer, tz=walk.env.tz, user_id=walk.env.user_id)  # the clock moves with the timer
            return _take(walk, token, node, node.edges, None)
        walk.steps.remove(step)  # a branch arriving at a join before the others: the last one shows the join
        return []
    if isinstance(move, Finish):
        step["outcome"] = move.outcome
        _end_path(walk, move.outcome)
        return []
    assert isinstance(move, Leave)
    if move.outcome == "skipped":
        step["decision"] = "skipped"
    if node.type.key in ("exclusive", "inclusive") and not (len(node.edges) == 1 and node.edges[0].condition is None):
        step["branch_taken"] = _why(walk, node, move.edges)
    return _take(walk, token, node, move.edges, None)


def _take(walk: _Walk, token: _Token, node: CompiledNode, edges: tuple[CompiledEdge, ...], decision: str | None) -> list[_Token]:
    if decision == "rejected" and not edges:
        _end_path(walk, "rejected")
        return []
    if not edges:
        message = f"node {node.id!r} has no way on for this record: the instance would stop there"
        walk.notes.append(_note("no_way_on", message, node=node.id))
        walk.ended = True
        return []
    if len(edges) == 1 and node.id not in walk.process.graph.splits.values():
        return [_Token(edges[0].target, token.forks)]
    fork = len(walk.expected) + 1
    walk.expected[fork] = len(edges)
    return [_Token(e.target, (*token.forks, fork)) for e in edges]


def _end_path(walk: _Walk, outcome: str) -> None:
    walk.outcome = outcome
    if outcome == "rejected":
        walk.ended = True  # a rejection ends the whole instance at once


def _why(walk: _Walk, node: CompiledNode, taken: tuple[CompiledEdge, ...]) -> dict[str, Any]:
    """Which edges were taken and why: every condition tried with whether it held, and the record's
    values of the fields they read."""
    taken_ids = {e.index for e in taken}
    tried, paths = [], []
    for e in node.edges:
        entry = {"edge": e.edge.id or str(e.index), "to": e.target, "label": jsonable(e.edge.label),
                 "condition": e.edge.condition, "default": e.edge.default, "taken": e.index in taken_ids}  # fmt: skip
        if e.condition is not None:
            entry["held"] = bool(e.condition(walk.record, walk.env))
            paths += _fields(e.edge.condition)
        tried.append(entry)
    values = {p: _dump(walk, p) for p in dict.fromkeys(paths)}
    return {"edges": [t for t in tried if t["taken"]], "tried": tried, "values": values}


def _dump(walk: _Walk, path: str) -> Any:
    """A value as the record API writes it (a decimal as its text, a date as ISO)."""
    value, f = walk.record.get(path), walk.entity.fields.get(path)
    return jsonable(value) if f is None or value is None else f.type.dump(f.cfg, value)


def _fields(condition: Any) -> list[str]:
    """The field paths a condition document reads (compared fields and fields used as values)."""
    if isinstance(condition, list):
        return [p for item in condition for p in _fields(item)]
    if not isinstance(condition, dict):
        return []
    found = [condition["field"]] if isinstance(condition.get("field"), str) else []
    return found + [p for k, v in condition.items() if k != "field" for p in _fields(v)]


def _result(walk: _Walk, state: str) -> dict[str, Any]:
    return {"state": state, "outcome": walk.outcome, "steps": walk.steps, "notes": walk.notes, "written": False}


# -- what the API asks for -------------------------------------------------------------------------
@dataclass(frozen=True)
class Trial:
    """A simulation request (the API body, parsed): a stored record or typed values, which version
    (None: the draft), who submits (None: the caller) and assumed decisions."""

    record_id: int | None
    values: dict[str, Any] | None
    version: int | None
    submitter_id: int | None
    decisions: Mapping[str, str]


async def simulate_request(
    engine: ProcessEngine, service: Any, conn: AsyncConnection, actor: Access, app: str, key: str, trial: Trial,
    computed: ComputedFields | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Load what a simulation needs, reading only, then walk: the draft (checked as a save would, so a
    broken draft is the same 422) or a published version; the record as the caller may read it (404
    otherwise) or the values validated as a record save (422 at /values/<field>)."""
    row = await service.row(conn, app, key)
    if trial.version is None:
        checked = await service.check(conn, app, row.definition)
        process = checked.compiled(row.id, 0, 0, app)
    else:
        query = select(process_versions.c.id).where(
            process_versions.c.process_id == row.id, process_versions.c.version == trial.version
        )
        version_id = (await conn.execute(query)).scalar()
        if version_id is None:
            raise NotFound(f"process {key!r} has no version {trial.version}")
        process = await engine.compiled(conn, version_id)
    entity = await engine.services.store.get(conn, app, process.definition.entity)
    errors = ErrorCollector()
    submitter = trial.submitter_id if trial.submitter_id is not None else actor.user_id
    if trial.submitter_id is not None and not await _active_user(conn, trial.submitter_id):
        errors.add("/submitter_id", "unknown_user", f"no active user has the id {trial.submitter_id}")
    for node_id in trial.decisions:
        node = process.nodes.get(node_id)
        if node is None or not node.type.human:
            errors.add(pointer("decisions", node_id), "unknown_node", f"{node_id!r} is not an approval or fill node of {key!r}")
    now = engine.services.clock.now()
    if trial.record_id is not None:
        errors.raise_if_any("The simulation cannot run")
        await _readable(conn, actor, entity, trial.record_id)
        record = await engine._record(conn, process, entity, trial.record_id)
    else:
        may_create = scope(actor, entity, "create")
        values = validate_input(entity, trial.values, actor, errors, partial=False, path="/values", scope=may_create)
        await check_references(conn, engine.services.store, actor, entity, [values], errors, ["/values"])
        errors.raise_if_any("The values are not valid")
        if computed is not None:  # formula fields, as the save would compute them (reading only)
            change = PendingChange("create", None, None, values, "/values", errors)
            await computed.before_save(conn, entity, actor, [change])
            values = change.values
        record = {k: values.get(k) for k in entity.fields} | {
            "id": None, "owner": values.get("owner", submitter), "created_by": submitter, "created_at": now, "updated_at": now,
        }  # fmt: skip
        if process.paths:
            await load_paths(conn, await entities_for(engine.services.store, conn, entity), entity, [record], set(process.paths))
    result = await simulate(engine, conn, process, entity, record, submitter_id=submitter, decisions=trial.decisions, now=now)
    return {"process": key, "version": trial.version, "record_id": trial.record_id, "submitter_id": submitter} | result


async def _readable(conn: AsyncConnection, actor: Access, entity: CompiledEntity, record_id: int) -> None:
    t = entity.table
    query = scoped(select(t.c.id), scope(actor, entity, "read")).where(t.c.id == record_id, t.c.deleted_at.is_(None))
    if (await conn.execute(query)).first() is None:
        raise NotFound(f"{entity.key} record {record_id} does not exist")


async def _active_user(conn: AsyncConnection, user_id: int) -> bool:
    query = select(users.c.id).where(users.c.id == user_id, users.c.active.is_(True))
    return (await conn.execute(query)).first() is not None
