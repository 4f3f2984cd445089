"""The node types that need no person: start, end, gateways, service tasks and timers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from engine.core.errors import pydantic_errors
from engine.expr.dates import Span, shift
from engine.formula.env import Env
from engine.process.calendar import deadline
from engine.process.nodes.base import WAIT, CompiledEdge, Finish, Leave, Move, NodeCheck, NodeType, Visit
from engine.process.nodes.configs import EndConfig, GatewayConfig, ServiceConfig, StartConfig, TimerConfig
from engine.rules.actions import Check, actions
from engine.rules.values import compile_values

# Rule actions a service task may not run: waiting is a timer node's job, and round-robin
# assignment keeps its turn per rule.
NOT_IN_SERVICE = {"wait": "use a timer node to wait", "assign_owner": "assign the owner with a rule", "reject": ""}


class Start(NodeType):
    key = "start"
    config = StartConfig

    async def enter(self, visit: Visit) -> Move:
        return Leave(visit.edges())


class End(NodeType):
    key = "end"
    config = EndConfig

    def prepare(self, cfg: EndConfig, check: NodeCheck) -> Any:
        rule_check = Check(check.entity, check.entities, check.errors, check.path, "after_save", True)
        return compile_values(cfg.set, check.entity, check.entity, rule_check, "set") if cfg.set else {}

    async def enter(self, visit: Visit) -> Move:
        values = {k: v.compute(visit.record, visit.env) for k, v in visit.node.prepared.items()}
        if values:
            await visit.write_record(values)
        return Finish(visit.node.cfg.outcome)


class Exclusive(NodeType):
    """The first outgoing edge whose condition holds, in definition order; else the default."""

    key = "exclusive"
    config = GatewayConfig

    async def enter(self, visit: Visit) -> Move:
        taken = _matching(visit)
        return Leave(taken[:1] if taken else _default(visit))


class Inclusive(NodeType):
    """Every outgoing edge whose condition holds (each starts a branch); else the default. As a
    join, waits for the branches its split started."""

    key = "inclusive"
    config = GatewayConfig

    async def enter(self, visit: Visit) -> Move:
        if not await visit.arrive_at_join():
            return WAIT
        return Leave(tuple(_matching(visit)) or _default(visit))


class Parallel(NodeType):
    """Starts every outgoing edge at once; as a join, waits for every branch of its split."""

    key = "parallel"
    config = GatewayConfig

    async def enter(self, visit: Visit) -> Move:
        if not await visit.arrive_at_join():
            return WAIT
        return Leave(visit.edges())


def _matching(visit: Visit) -> tuple[CompiledEdge, ...]:
    edges = visit.edges()
    if len(edges) == 1 and edges[0].condition is None:
        return edges
    return tuple(e for e in edges if e.condition is not None and e.condition(visit.record, visit.env))


def _default(visit: Visit) -> tuple[CompiledEdge, ...]:
    return tuple(e for e in visit.edges() if e.edge.default)


class Service(NodeType):
    """Runs rule actions on the record (set fields, create a record, notify, e-mail, webhook...)."""

    key = "service"
    config = ServiceConfig

    def prepare(self, cfg: ServiceConfig, check: NodeCheck) -> Any:
        steps = []
        for i, doc in enumerate(cfg.actions):
            path = check.at("actions", i)
            kind = doc.get("type")
            action = actions().get(kind) if isinstance(kind, str) else None
            if action is None or kind in NOT_IN_SERVICE or "after_save" not in action.phases:
                usable = [k for k in actions().keys() if k not in NOT_IN_SERVICE]  # noqa: SIM118 (a Registry, not a dict)
                why = NOT_IN_SERVICE.get(str(kind)) or f"use one of {usable}"
                check.errors.add(f"{path}/type", "unknown_action", f"a service task cannot run {str(kind)[:50]!r}: {why}")
                continue
            try:
                parsed = action.config.model_validate(doc)
            except ValidationError as exc:
                check.errors.extend(pydantic_errors(exc), prefix=path)
                continue
            steps.append(
                (action, action.prepare(parsed, Check(check.entity, check.entities, check.errors, path, "after_save", True)))
            )
        return tuple(steps)

    async def enter(self, visit: Visit) -> Move:
        await visit.run_actions(visit.node.prepared)
        return Leave(visit.edges())


class Timer(NodeType):
    """Waits a duration, or until a date field (shifted by an offset); a date already past goes on."""

    key = "timer"
    config = TimerConfig

    def prepare(self, cfg: TimerConfig, check: NodeCheck) -> Any:
        if cfg.field is not None:
            f = check.entity.fields.get(cfg.field)
            kind = f.cfg.type if f is not None else ("datetime" if cfg.field in ("created_at", "updated_at") else None)
            if kind not in ("date", "datetime"):
                check.errors.add(check.at("field"), "type", f"{cfg.field!r} is not a date or datetime field")
        if cfg.working_hours and check.process.working_hours is None:
            check.errors.add(check.at("working_hours"), "calendar", "the process has no working_hours calendar")
        return cfg

    async def enter(self, visit: Visit) -> Move:
        due = self.due(visit)
        if due is None or due <= visit.env.now:
            return Leave(visit.edges())
        await visit.set_timer(due)
        return WAIT

    def due(self, visit: Visit) -> datetime | None:
        cfg: TimerConfig = visit.node.cfg
        env = visit.env
        if cfg.duration is not None:
            return deadline(env.now, cfg.duration, env.tz, visit.node.calendar if cfg.working_hours else None)
        value = visit.record.get(cfg.field or "")
        if value is None:
            return None  # no date: nothing to wait for
        if not isinstance(value, datetime):  # a date: its start in the business time zone
            value = datetime.combine(value, datetime.min.time(), tzinfo=env.tz)
        if cfg.offset is None:
            return value
        sign = 1 if cfg.direction == "after" else -1
        return shift(Env(now=value, tz=env.tz), Span(cfg.offset.amount, cfg.offset.unit), sign, "datetime")
