"""The demo organisation: teams and users with the package's roles, made through the admin services
(so the audit journal records them) and reused when they already exist."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.demo_spec import Organisation
from engine.audit.journal import AuditJournal
from engine.auth.admin.teams import TeamAdmin, TeamIn
from engine.auth.admin.users import MembershipIn, RolesIn, UserAdmin, UserIn
from engine.auth.policy import Access
from engine.auth.service import AuthService
from engine.auth.tables import roles, teams, users
from engine.core.errors import ErrorCollector, pydantic_errors


async def make_organisation(
    conn: AsyncConnection, auth: AuthService, org: Organisation, warnings: list[str]
) -> tuple[dict[str, list[int]], list[str]]:
    """Teams, then users with their roles and teams. Returns (role key -> user ids, user emails).

    Owners are spread by the roles the spec gives, so a role the instance lacks (warned about and
    skipped) does not change which users own the demo records."""
    actor = Access.system(source="demo")
    journal = AuditJournal(auth.clock)
    user_admin, team_admin = UserAdmin(auth, journal), TeamAdmin(auth, journal)
    ids = [await _user(conn, user_admin, actor, org, i) for i in range(len(org.users))]
    by_email = {u.email.strip().lower(): uid for u, uid in zip(org.users, ids, strict=True)}
    managers = {u.manages: by_email[u.email.strip().lower()] for u in org.users if u.manages}
    have_teams = set((await conn.execute(select(teams.c.key))).scalars())
    for t in org.teams:
        if t.key not in have_teams:
            body = TeamIn(key=t.key, label=t.label, parent=t.parent, manager_id=managers.get(t.key))
            await team_admin.create(conn, actor, body)
    have_roles = set((await conn.execute(select(roles.c.key))).scalars())
    by_role: dict[str, list[int]] = {}
    for u, uid in zip(org.users, ids, strict=True):
        for missing in [r for r in u.roles if r not in have_roles]:
            warnings.append(f"role {missing!r} does not exist: {u.email} was created without it")
        await user_admin.set_roles(conn, actor, uid, RolesIn(roles=[r for r in u.roles if r in have_roles]))
        if u.team:
            await user_admin.set_teams(conn, actor, uid, MembershipIn(primary=u.team, extra=u.also))
        for r in u.roles:
            by_role.setdefault(r, []).append(uid)
    return by_role, [u.email for u in org.users]


async def _user(conn: AsyncConnection, admin: UserAdmin, actor: Access, org: Organisation, i: int) -> int:
    spec = org.users[i]
    found = (await conn.execute(select(users.c.id).where(users.c.email == spec.email.strip().lower()))).scalar_one_or_none()
    if found is not None:
        return int(found)
    try:
        body = UserIn(email=spec.email, name=spec.name, locale=spec.locale, password=org.password)  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = ErrorCollector()
        errors.extend(pydantic_errors(exc, f"/organisation/users/{i}"))
        errors.raise_if_any("Invalid demo spec")
        raise
    user: dict[str, Any] = await admin.create(conn, actor, body)
    return int(user["id"])
