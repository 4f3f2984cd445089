"""Invitations: an administrator adds a person by email and gets a first-password link to hand over.

The link's token is 256-bit random, shown once and stored as its SHA-256; it works once, until it
expires (INVITATION_DAYS), and issuing a new link for the same person voids the older ones. Following
it (`accept`) sets the password and signs the person in; a deactivated user's link does nothing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.admin.base import AdminService, require_admin
from engine.auth.admin.users import KeyRef, Locale, RolesIn, UserAdmin, _email
from engine.auth.journal import Journal
from engine.auth.policy import Access
from engine.auth.service import AuthService, hash_password, token_hash
from engine.auth.tables import invitations, users
from engine.core.actor import Actor
from engine.core.db import Database
from engine.core.errors import Conflict, NotFound

INVITATION_DAYS = 7
INVALID = "this invitation link is not valid: it was used, replaced or has expired, or the account is deactivated"


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(max_length=320), AfterValidator(_email)]
    name: Annotated[str, Field(max_length=200)] = ""
    locale: Locale = "en"
    roles: Annotated[list[KeyRef], Field(max_length=100)] = []


@dataclass(frozen=True)
class InvitationAdmin(AdminService):
    async def invite(self, conn: AsyncConnection, actor: Access, body: InviteIn) -> dict[str, Any]:
        """A new user (no password yet) with these roles, and their first-password link."""
        require_admin(actor, write=True)
        people = UserAdmin(self.auth, self.journal)
        uid = await self.auth.create_user(conn, body.email, body.name, None, False, body.locale)
        user = await people.get(conn, actor, uid)
        created = {k: [None, user[k]] for k in ("name", "locale")}
        await self.journal.note(conn, "user.created", actor, subject=user["email"], changes=created, detail={"invited": True})
        if body.roles:
            user = await people.set_roles(conn, actor, uid, RolesIn(roles=body.roles))
        return {"user": user, "invitation": await self._issue(conn, actor, user)}

    async def reissue(self, conn: AsyncConnection, actor: Access, user_id: int) -> dict[str, Any]:
        """A new first-password link for an existing, active user (the older links stop working)."""
        require_admin(actor, write=True)
        user = await UserAdmin(self.auth, self.journal).get(conn, actor, user_id)
        if not user["active"]:
            raise Conflict("the user is deactivated: reactivate them before inviting them again", code="inactive")
        return {"user": user, "invitation": await self._issue(conn, actor, user)}

    async def _issue(self, conn: AsyncConnection, actor: Access, user: dict[str, Any]) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        expires_at = now + timedelta(days=INVITATION_DAYS)
        await conn.execute(delete(invitations).where(invitations.c.user_id == user["id"], invitations.c.used_at.is_(None)))
        values = {"user_id": user["id"], "token_hash": token_hash(token), "created_at": now, "created_by": actor.user_id,
                  "expires_at": expires_at}  # fmt: skip
        await conn.execute(insert(invitations).values(**values))
        await self.journal.note(conn, "user.invited", actor, subject=user["email"], detail={"expires_at": expires_at.isoformat()})
        return {"token": token, "path": f"/invite/{token}", "expires_at": expires_at}


async def invited(conn: AsyncConnection, auth: AuthService, token: str) -> dict[str, Any]:
    """Whom a still valid invitation link is for ({id, email, name, locale}); NotFound otherwise."""
    row = await _valid(conn, auth, token)
    return {"id": row.user_id, "email": row.email, "name": row.name, "locale": row.locale}


async def accept(db: Database, auth: AuthService, journal: Journal, token: str, password: str) -> Actor:
    """Set the invited user's first password and use the link up; the caller signs them in."""
    new_hash = hash_password(password)  # argon2 takes a while: never inside the (single) write transaction
    async with db.write() as conn:
        row = await _valid(conn, auth, token)
        used = update(invitations).where(invitations.c.id == row.id, invitations.c.used_at.is_(None))
        if (await conn.execute(used.values(used_at=auth.clock.now()))).rowcount != 1:
            raise NotFound(INVALID)  # a concurrent accept took it
        await conn.execute(update(users).where(users.c.id == row.user_id).values(password_hash=new_hash))
        actor = Actor(user_id=row.user_id, is_admin=row.is_admin, source="ui")
        await journal.note(conn, "auth.invitation_accepted", actor, subject=row.email)
    return actor


async def _valid(conn: AsyncConnection, auth: AuthService, token: str) -> Any:
    i, u = invitations, users
    query = (
        select(i.c.id, i.c.user_id, u.c.email, u.c.name, u.c.locale, u.c.is_admin)
        .join(u, u.c.id == i.c.user_id)
        .where(i.c.token_hash == token_hash(token), i.c.used_at.is_(None), i.c.expires_at > auth.clock.now())
        .where(u.c.active.is_(True))
    )
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound(INVALID)
    return row
