"""Loading an Access: a user's roles, teams (with sub-teams) and the token's narrowing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.policy import Access
from engine.auth.roles import RoleDefinition
from engine.auth.tables import roles, teams, user_roles, user_teams


async def load_access(
    conn: AsyncConnection, user_id: int, is_admin: bool, *, source: str, token_id: int | None = None,
    token_read_only: bool = False, token_apps: Any = None,
) -> Access:  # fmt: skip
    """Two small indexed queries: the user's role definitions, and their teams with sub-teams."""
    role_rows = (await conn.execute(select(roles.c.definition).join(user_roles).where(user_roles.c.user_id == user_id))).all()
    grants = tuple(tuple(RoleDefinition.model_validate(r.definition).grants) for r in role_rows)
    mine = (await conn.execute(select(teams.c.id, teams.c.path).join(user_teams).where(user_teams.c.user_id == user_id))).all()
    subtree: frozenset[int] = frozenset()
    if mine:
        below = select(teams.c.id).where(or_(*(teams.c.path.startswith(t.path, autoescape=True) for t in mine)))
        subtree = frozenset((await conn.execute(below)).scalars())
    return Access(
        user_id=user_id, token_id=token_id, is_admin=is_admin, source=source, roles=grants,
        team_ids=frozenset(t.id for t in mine), subtree_team_ids=subtree, token_read_only=token_read_only,
        token_apps=None if token_apps is None else frozenset(token_apps),
    )  # fmt: skip
