"""Loading an Access: a user's roles, teams (with sub-teams) and the token's narrowing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.auth.roles import BUILDER_ROLE, RoleDefinition
from engine.auth.tables import record_shares, roles, team_roles, teams, user_roles, user_teams


async def load_access(
    conn: AsyncConnection, user_id: int, is_admin: bool, *, source: str, token_id: int | None = None,
    token_read_only: bool = False, token_apps: Any = None,
) -> Access:  # fmt: skip
    """Small indexed queries: the user's teams, their roles (their own and their teams'), the sub-teams."""
    mine = (
        await conn.execute(
            select(teams.c.id, teams.c.path, user_teams.c.is_primary).join(user_teams).where(user_teams.c.user_id == user_id)
        )
    ).all()
    # The user's roles, and those held by their teams or any team above them (a team's role covers its sub-teams).
    above = {int(t) for row in mine for t in row.path.strip("/").split("/") if t}
    held = select(user_roles.c.role_id).where(user_roles.c.user_id == user_id)
    if above:
        held = held.union(select(team_roles.c.role_id).where(team_roles.c.team_id.in_(sorted(above))))
    role_rows = (await conn.execute(select(roles.c.key, roles.c.definition).where(roles.c.id.in_(held)))).all()
    grants = tuple(tuple(RoleDefinition.model_validate(r.definition).grants) for r in role_rows)
    subtree: frozenset[int] = frozenset()
    members: frozenset[int] = frozenset()
    if mine:
        below = select(teams.c.id).where(or_(*(teams.c.path.startswith(t.path, autoescape=True) for t in mine)))
        subtree = frozenset((await conn.execute(below)).scalars())
        members = frozenset((await conn.execute(select(user_teams.c.user_id).where(user_teams.c.team_id.in_(subtree)))).scalars())
    shared = await _shares(conn, user_id, frozenset(t.id for t in mine))
    return Access(
        user_id=user_id, token_id=token_id, is_admin=is_admin, source=source, roles=grants,
        team_ids=frozenset(t.id for t in mine), subtree_team_ids=subtree,
        primary_team_id=min((t.id for t in mine if t.is_primary), default=None), team_member_ids=members, shared=shared,
        token_read_only=token_read_only, creates_apps=any(r.key == BUILDER_ROLE for r in role_rows),
        token_apps=None if token_apps is None else frozenset(token_apps),
    )  # fmt: skip


async def _shares(
    conn: AsyncConnection, user_id: int, team_ids: frozenset[int]
) -> dict[tuple[str, str], tuple[frozenset[int], frozenset[int]]]:
    """Record ids shared with the user or their teams, per (app, entity): (readable, editable)."""
    s = record_shares
    holders = [s.c.user_id == user_id] + ([s.c.team_id.in_(team_ids)] if team_ids else [])
    rows = (await conn.execute(select(s.c.app, s.c.entity, s.c.record_id, s.c.can_edit).where(or_(*holders)))).all()
    readable: dict[tuple[str, str], set[int]] = {}
    editable: dict[tuple[str, str], set[int]] = {}
    for r in rows:
        readable.setdefault((r.app, r.entity), set()).add(r.record_id)
        if r.can_edit:
            editable.setdefault((r.app, r.entity), set()).add(r.record_id)
    return {k: (frozenset(v), frozenset(editable.get(k, ()))) for k, v in readable.items()}
