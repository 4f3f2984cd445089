"""What a user does for themselves: sign in (every attempt audited, repeated failures throttled from
the audit log), change their password, and issue or revoke their own API tokens (audited)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.journal import Journal
from engine.auth.policy import Access
from engine.auth.service import AuthService, hash_password
from engine.auth.tables import users
from engine.core.actor import Actor
from engine.core.db import Database
from engine.core.errors import Forbidden, NotFound, TooManyRequests, Unauthorized

NewPassword = Annotated[str, Field(min_length=10, max_length=1000)]
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 20
FAILED = "auth.login_failed"
# Refused unchecked: audited, but not counted as failures, so the lock ends when Retry-After says
# (counting them would let anyone keep a user locked out by retrying, with no gain in safety).
THROTTLED = "auth.login_throttled"


async def sign_in(db: Database, auth: AuthService, journal: Journal, email: str, password: str, ip: str | None) -> Actor:
    """The user with these credentials. After too many recent failures for the email or the ip the
    password is not even checked (429 with Retry-After). Every attempt is written to the audit log:
    auth.login, auth.login_failed or auth.login_throttled."""
    email = email.strip().lower()
    async with db.read() as conn:  # argon2 takes a while: never inside the (single) write transaction
        wait = await _throttled(conn, auth, journal, email, ip)
        actor = None if wait else await auth.check_password(conn, email, password)
    action = THROTTLED if wait else "auth.login" if actor is not None else FAILED
    async with db.write() as conn:
        await journal.note(conn, action, actor or Actor(user_id=None, source="ui"), subject=email, ip=ip)
    if wait:
        raise TooManyRequests(f"too many failed sign-ins: try again in {wait} seconds", retry_after=wait)
    if actor is None:
        raise Unauthorized("wrong email or password")
    return actor


async def _throttled(conn: AsyncConnection, auth: AuthService, journal: Journal, email: str, ip: str | None) -> int:
    """Seconds until the next attempt is allowed (0: now). The n-th latest failure in the window
    leaving it is what lets the count drop below the limit."""
    now = auth.clock.now()
    limits: list[tuple[int, dict[str, Any]]] = [(MAX_FAILURES_PER_EMAIL, {"subject": email})]
    if ip:
        limits.append((MAX_FAILURES_PER_IP, {"ip": ip}))
    waits = [0]
    for n, who in limits:
        nth: datetime | None = await journal.nth_latest(conn, FAILED, n, now - WINDOW, **who)
        if nth is not None:
            waits.append(max(1, math.ceil((nth + WINDOW - now).total_seconds())))
    return max(waits)


async def change_password(
    db: Database, auth: AuthService, journal: Journal, actor: Access, current: str, new: str, ip: str | None
) -> None:
    """Set a new password after checking the current one (wrong: 403, and it counts as a failed
    sign-in, so this is no way around the throttle)."""
    if actor.token_read_only or actor.token_apps is not None:
        raise Forbidden("a narrowed token cannot change the password")
    async with db.read() as conn:
        email = await _email(conn, actor)
        wait = await _throttled(conn, auth, journal, email, ip)
        ok = not wait and await auth.check_password(conn, email, current) is not None
    new_hash = hash_password(new) if ok else None
    action = "auth.password_changed" if ok else THROTTLED if wait else FAILED
    async with db.write() as conn:
        if ok:
            await conn.execute(update(users).where(users.c.id == actor.user_id).values(password_hash=new_hash))
        detail = None if ok else {"reason": "password_change"}
        await journal.note(conn, action, actor, subject=email, ip=ip, detail=detail)
    if wait:
        raise TooManyRequests(f"too many failed attempts: try again in {wait} seconds", retry_after=wait)
    if not ok:
        raise Forbidden("the current password is wrong")


async def issue_token(
    conn: AsyncConnection, auth: AuthService, journal: Journal, actor: Access, name: str,
    expires_at: datetime | None, read_only: bool, apps: list[str] | None,
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    """A new token for the caller, never wider than the credentials asking for it: a read-only token
    creates none, a token limited to some apps only creates tokens limited to some of those."""
    if actor.token_read_only:
        raise Forbidden("a read-only token cannot create tokens")
    if actor.token_apps is not None and (apps is None or not set(apps) <= actor.token_apps):
        raise Forbidden("a token limited to some apps can only create tokens limited to some of those apps")
    email = await _email(conn, actor)
    apps = None if apps is None else sorted(set(apps))
    token, info = await auth.create_token(conn, actor.user_id or 0, name, expires_at, read_only=read_only, apps=apps)
    detail = {"token_id": info["id"], "name": name, "read_only": read_only, "apps": apps}
    await journal.note(conn, "token.created", actor, subject=email, detail=detail)
    return token, info


async def revoke_token(conn: AsyncConnection, auth: AuthService, journal: Journal, actor: Access, token_id: int) -> None:
    """Revoke one of the caller's tokens. A narrowed token may revoke only itself."""
    narrowed = actor.token_read_only or actor.token_apps is not None
    if narrowed and token_id != actor.token_id:
        raise Forbidden("a narrowed token may revoke only itself")
    email = await _email(conn, actor)
    await auth.revoke_token(conn, actor.user_id or 0, token_id)
    await journal.note(conn, "token.revoked", actor, subject=email, detail={"token_id": token_id, "user_id": actor.user_id})


async def _email(conn: AsyncConnection, actor: Access) -> str:
    email = (await conn.execute(select(users.c.email).where(users.c.id == actor.user_id))).scalar_one_or_none()
    if email is None:
        raise NotFound("this actor is not a user")
    return str(email)
