"""Who a human task goes to: the assignee specs of a node (users, role, team, manager, user field,
submitter) resolved to active user ids when the task is created, and checked against the directory
when the process is saved.

The manager walk starts at the person's primary team (user_teams.is_primary, else their lowest team
id) and climbs the team tree, loaded with one query on the materialised `path`:
- level 1 is the manager of that team; when the person manages it themself, their team is skipped
  and every level counts from the parent team instead;
- each further level is one team further up;
- a team without a manager (or with a deactivated one) yields the manager of its nearest ancestor
  that has one, so levels 1 and 2 can be the same person when the own team has no manager;
- nobody is ever their own manager; above the root there is no manager (None).
An escalation climbs further while the manager is absent (see escalation_target).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.tables import roles, teams, user_roles, user_teams, users
from engine.core.errors import ErrorCollector
from engine.process.delegation import delegate_of, is_away
from engine.process.nodes.configs import Assignee, Manager, Role, Submitter, Team, UserField, Users
from engine.schema.model import CompiledEntity

# System columns holding a user id that a `field` assignee may name besides the entity's user fields.
USER_COLUMNS = ("owner", "created_by")
MAX_ESCALATION_LEVELS = 5  # how far one escalation climbs over absent managers


async def resolve(
    conn: AsyncConnection, specs: Sequence[Assignee], *, submitter_id: int | None, record: Mapping[str, Any]
) -> list[int]:
    """Active user ids, in spec order (id order within a role or team, listed order within `users`),
    each once. A spec that finds nobody adds nothing: the runtime decides what an empty list means."""
    found: list[int] = []
    for spec in specs:
        found += await _resolve_one(conn, spec, submitter_id, record)
    return list(dict.fromkeys(found))


async def _resolve_one(conn: AsyncConnection, spec: Assignee, submitter_id: int | None, record: Mapping[str, Any]) -> list[int]:
    if isinstance(spec, Users):
        return await _by_email(conn, spec.users)
    if isinstance(spec, Role):
        return await _ids(conn, _role_holders(spec))
    if isinstance(spec, Team):
        return await _ids(conn, _team_members(spec))
    if isinstance(spec, Manager):
        person = submitter_id if spec.of == "submitter" else _user_id(record.get("owner"))
        manager = None if person is None else await manager_of(conn, person, spec.levels)
        return [] if manager is None else [manager]
    if isinstance(spec, UserField):
        return await _if_active(conn, _user_id(record.get(spec.field)))
    assert isinstance(spec, Submitter)
    return await _if_active(conn, submitter_id)


def _active(query: Select[Any], user_id: Any) -> Select[Any]:
    return query.join(users, users.c.id == user_id).where(users.c.active.is_(True)).order_by(user_id)


async def _ids(conn: AsyncConnection, query: Select[Any]) -> list[int]:
    return [int(row[0]) for row in await conn.execute(query)]


def _user_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


async def _if_active(conn: AsyncConnection, user_id: int | None) -> list[int]:
    if user_id is None:
        return []
    return await _ids(conn, select(users.c.id).where(users.c.id == user_id, users.c.active.is_(True)))


async def _by_email(conn: AsyncConnection, emails: Sequence[str]) -> list[int]:
    # E-mails are stored lower-cased (engine.auth), so comparing lower-cased keeps the unique index usable.
    wanted = [e.strip().lower() for e in emails]
    rows = await conn.execute(select(users.c.email, users.c.id).where(users.c.email.in_(set(wanted)), users.c.active.is_(True)))
    by_email = {row.email: int(row.id) for row in rows}
    return [by_email[e] for e in wanted if e in by_email]


def _role_holders(spec: Role) -> Select[Any]:
    query = select(user_roles.c.user_id).join(roles, roles.c.id == user_roles.c.role_id).where(roles.c.key == spec.role)
    return _active(query, user_roles.c.user_id)


def _team_members(spec: Team) -> Select[Any]:
    query = select(user_teams.c.user_id).distinct().join(teams, teams.c.id == user_teams.c.team_id)
    if spec.subteams:
        # The team's path is a prefix of each sub-team's path ("/1/4/" of "/1/4/9/").
        named = teams.alias("named")
        root = select(named.c.path).where(named.c.key == spec.team).scalar_subquery()
        query = query.where(teams.c.path.startswith(root))
    else:
        query = query.where(teams.c.key == spec.team)
    return _active(query, user_teams.c.user_id)


async def manager_of(conn: AsyncConnection, user_id: int, levels: int = 1) -> int | None:
    """The active manager `levels` up from the user's primary team (see the module docstring), or None."""
    chain = await _manager_chain(conn, user_id)
    start = 1 if chain and chain[0][0] == user_id else 0
    for manager_id, active in chain[start + levels - 1 :]:
        if manager_id is not None and active and manager_id != user_id:
            return int(manager_id)
    return None


async def escalation_target(
    conn: AsyncConnection, user_id: int, app: str, process: str, now: datetime
) -> tuple[int | None, list[int]]:
    """Whom an escalation of the user's task goes to, and the absent managers climbed over: the
    first manager up the chain (level 1, 2 ... MAX_ESCALATION_LEVELS) who is not absent. A manager
    is absent when deactivated, or away (a delegation of theirs covers `now` for this app and
    process) with no active delegate to take the task. A manager away WITH an active delegate is
    not absent: the task goes to them and their delegation hands it on (runtime.add_tasks)."""
    skipped: list[int] = []
    for level in range(1, MAX_ESCALATION_LEVELS + 1):
        manager = await manager_of(conn, user_id, level)
        if manager is None:
            break
        if manager in skipped:
            continue  # a team without a manager: levels 1 and 2 can be the same person
        away = await is_away(conn, manager, app, process, now)
        if not away or await delegate_of(conn, manager, app, process, now) is not None:
            return manager, skipped
        skipped.append(manager)
    return None, skipped


async def _manager_chain(conn: AsyncConnection, user_id: int) -> list[tuple[int | None, bool]]:
    """(manager id, manager active) of the primary team and each ancestor, the primary team first."""
    primary = (
        select(user_teams.c.team_id)
        .where(user_teams.c.user_id == user_id)
        .order_by(user_teams.c.is_primary.desc(), user_teams.c.team_id)
        .limit(1)
        .scalar_subquery()
    )
    own, up = teams.alias("own"), teams.alias("up")
    query = (
        select(up.c.path, up.c.manager_id, users.c.active)
        .select_from(own)
        .join(up, own.c.path.startswith(up.c.path))  # the team and every ancestor
        .outerjoin(users, users.c.id == up.c.manager_id)
        .where(own.c.id == primary)
    )
    rows = sorted(await conn.execute(query), key=lambda row: len(row.path), reverse=True)
    return [(row.manager_id, bool(row.active)) for row in rows]


async def check_assignees(
    conn: AsyncConnection, specs: Sequence[Assignee], entity: CompiledEntity, errors: ErrorCollector, path: str
) -> None:
    """Report e-mails, role keys and team keys that name nothing, and `field` specs that do not name a
    user field of `entity`, each at its own path under `path` (e.g. "/nodes/3/assignees")."""
    await _check_emails(conn, specs, errors, path)
    await _check_keys(conn, specs, Role, roles.c.key, "role", errors, path)
    await _check_keys(conn, specs, Team, teams.c.key, "team", errors, path)
    for i, spec in enumerate(specs):
        if isinstance(spec, UserField) and not _is_user_field(entity, spec.field):
            errors.add(f"{path}/{i}/field", "not_a_user_field", f"{spec.field!r} is not a user field of {entity.key!r}")


def _is_user_field(entity: CompiledEntity, key: str) -> bool:
    bound = entity.fields.get(key)
    return key in USER_COLUMNS or (bound is not None and bound.cfg.type == "user")


async def _check_emails(conn: AsyncConnection, specs: Sequence[Assignee], errors: ErrorCollector, path: str) -> None:
    named = [
        (f"{path}/{i}/users/{j}", email)
        for i, spec in enumerate(specs)
        if isinstance(spec, Users)
        for j, email in enumerate(spec.users)
    ]
    if not named:
        return
    wanted = {email.strip().lower() for _, email in named}
    known = {row[0] for row in await conn.execute(select(users.c.email).where(users.c.email.in_(wanted)))}
    for where, email in named:
        if email.strip().lower() not in known:
            errors.add(where, "unknown_user", f"no user has the e-mail {email!r}")


async def _check_keys(
    conn: AsyncConnection,
    specs: Sequence[Assignee],
    kind: type[Role] | type[Team],
    column: Any,
    what: str,
    errors: ErrorCollector,
    path: str,
) -> None:
    named = [(i, getattr(spec, what)) for i, spec in enumerate(specs) if isinstance(spec, kind)]
    if not named:
        return
    known = {row[0] for row in await conn.execute(select(column).where(column.in_({key for _, key in named})))}
    for i, key in named:
        if key not in known:
            errors.add(f"{path}/{i}/{what}", f"unknown_{what}", f"no {what} has the key {key!r}")
