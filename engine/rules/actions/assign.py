"""assign_owner: fixed user, round-robin over a team, a condition table, or the least loaded member (R1, R9).

    {"type": "assign_owner", "strategy": "table",
     "table": [{"condition": {"field": "industry", "op": "eq", "value": "manufacturing"}, "team": "key_accounts_a"}],
     "default": {"user": 7}}

A team target picks among the team's active members by `pick` (round_robin or least_open).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.tables import teams, user_teams, users
from engine.expr.condition import parse_condition
from engine.expr.to_python import compile_python
from engine.expr.to_sql import to_sql
from engine.rules.actions.base import Action, ActionFailed, Check, Run
from engine.rules.definition import Strict
from engine.rules.tables import rule_counters
from engine.schema.definition import Key


class Target(Strict):
    """A user by id, or a team by key (then `pick` chooses the member)."""

    user: int | None = Field(default=None, ge=1)
    team: Key | None = None

    @model_validator(mode="after")
    def _one(self) -> Target:
        if (self.user is None) == (self.team is None):
            raise ValueError("give exactly one of user or team")
        return self


class Row(Strict):
    condition: dict[str, Any]
    user: int | None = Field(default=None, ge=1)
    team: Key | None = None


class AssignConfig(Strict):
    type: Literal["assign_owner"]
    strategy: Literal["fixed", "round_robin", "least_open", "table"]
    user: int | None = Field(default=None, ge=1)  # fixed
    team: Key | None = None  # round_robin / least_open
    table: list[Row] = Field(default=[], max_length=100)  # table: first matching row wins
    default: Target | None = None  # table: when no row matches
    pick: Literal["round_robin", "least_open"] = "round_robin"  # table rows naming a team
    # least_open: which records count as open work (e.g. status not in won/lost); all live records when omitted.
    open_condition: dict[str, Any] | None = None


class AssignOwner(Action):
    key = "assign_owner"
    config = AssignConfig
    phases = frozenset({"before_save", "after_save"})
    writes_record = True

    def prepare(self, cfg: AssignConfig, check: Check) -> Any:
        needs = {"fixed": "user", "round_robin": "team", "least_open": "team", "table": "table"}[cfg.strategy]
        if not getattr(cfg, needs):
            check.errors.add(check.at(needs), "required", f"the {cfg.strategy} strategy needs {needs!r}")
        rows = []
        for i, row in enumerate(cfg.table):
            node = parse_condition(row.condition, check.entity, check.errors, check.at("table", i, "condition"))
            if (row.user is None) == (row.team is None):
                check.errors.add(check.at("table", i), "shape", "give exactly one of user or team")
            if node is not None:
                rows.append((compile_python(node), Target(user=row.user, team=row.team) if row.user or row.team else None))
        open_node = None
        if cfg.open_condition is not None:
            open_node = parse_condition(cfg.open_condition, check.entity, check.errors, check.at("open_condition"))
        return cfg, rows, open_node

    async def run(self, prepared: Any, run: Run) -> dict[str, Any]:
        cfg, rows, open_node = prepared
        target = _target(cfg, rows, run)
        if target is None:
            return {"unchanged": "owner", "reason": "no row of the table matched and there is no default"}
        owner = target.user if target.user is not None else await self._member(cfg, target.team, open_node, run)
        if owner != run.record.get("owner"):
            await run.write_record({"owner": owner})
        return {"owner": owner} | ({"team": target.team} if target.team else {})

    async def _member(self, cfg: AssignConfig, team: str, open_node: Any, run: Run) -> int:
        members = await team_members(run.conn, team)
        if not members:
            raise ActionFailed(f"team {team!r} has no active members to assign to")
        pick = cfg.strategy if cfg.strategy in ("round_robin", "least_open") else cfg.pick
        if pick == "least_open":
            return await _least_open(run, members, open_node)
        turn = await _next_turn(run.conn, run.rule_id, f"round_robin:{team}")
        return members[turn % len(members)]


def _target(cfg: AssignConfig, rows: list[tuple[Callable[..., bool], Target | None]], run: Run) -> Target | None:
    if cfg.strategy == "fixed":
        return Target(user=cfg.user)
    if cfg.strategy in ("round_robin", "least_open"):
        return Target(team=cfg.team)
    return next((target for matches, target in rows if matches(run.record, run.env)), cfg.default)


async def team_members(conn: AsyncConnection, team: str) -> list[int]:
    """Active members of a team, by id (a stable order for round-robin)."""
    query = (
        select(users.c.id)
        .join(user_teams, user_teams.c.user_id == users.c.id)
        .join(teams, teams.c.id == user_teams.c.team_id)
        .where(teams.c.key == team, users.c.active.is_(True))
        .order_by(users.c.id)
    )
    return list((await conn.execute(query)).scalars())


async def _next_turn(conn: AsyncConnection, rule_id: int, name: str) -> int:
    """Advance the rule's counter and return its previous value, atomically (row lock / single writer)."""
    bump = (
        update(rule_counters)
        .where(rule_counters.c.rule_id == rule_id, rule_counters.c.name == name)
        .values(value=rule_counters.c.value + 1)
        .returning(rule_counters.c.value)
    )
    value = (await conn.execute(bump)).scalar()
    if value is None:
        await conn.execute(rule_counters.insert().values(rule_id=rule_id, name=name, value=1))
        value = 1
    return value - 1


async def _least_open(run: Run, members: list[int], open_node: Any) -> int:
    """The member with the fewest open records of this entity (ties: the lowest id)."""
    t = run.entity.table
    query = select(t.c.owner, func.count()).where(t.c.deleted_at.is_(None), t.c.owner.in_(members)).group_by(t.c.owner)
    if open_node is not None:
        query = query.where(to_sql(open_node, t, run.env))
    if run.change is None:
        query = query.where(t.c.id != run.record["id"])
    load = dict((await run.conn.execute(query)).all())
    return min(members, key=lambda m: (load.get(m, 0), m))
