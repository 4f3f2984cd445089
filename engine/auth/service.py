"""Users, passwords (argon2) and API tokens (random, stored as SHA-256, shown once, revocable)."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pwdlib import PasswordHash
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.access import load_access
from engine.auth.policy import Access
from engine.auth.profile import PROFILE_COLUMNS, Profile
from engine.auth.roles import BUILTIN_ROLES
from engine.auth.tables import api_tokens, roles, user_roles, users
from engine.core.actor import Actor
from engine.core.clock import Clock
from engine.core.db import Database
from engine.core.errors import Conflict, ErrorDetail, NotFound

TOUCH_EVERY = timedelta(hours=1)
CACHE_SECONDS = 5.0
TOKEN_PREFIX = "tgm_"  # noqa: S105 - a prefix, not a secret
_hasher = PasswordHash.recommended()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class AuthService:
    clock: Clock
    _cache: dict[str, tuple[float, Access, datetime | None]] = field(default_factory=dict)

    async def create_user(
        self, conn: AsyncConnection, email: str, name: str = "", password: str | None = None, is_admin: bool = False,
        locale: str = "en",
    ) -> int:  # fmt: skip
        email = email.strip().lower()
        if (await conn.execute(select(users.c.id).where(users.c.email == email))).first():
            message = f"a user with email {email!r} already exists"
            raise Conflict(message, errors=[ErrorDetail("/email", "taken", message)])
        return (
            await conn.execute(
                insert(users).values(
                    email=email, name=name or email.split("@")[0], locale=locale, is_admin=is_admin, active=True,
                    password_hash=_hasher.hash(password) if password else None, created_at=self.clock.now(),
                ).returning(users.c.id)
            )
        ).scalar_one()  # fmt: skip

    async def ensure_admin(self, conn: AsyncConnection, email: str, password: str | None) -> tuple[int, str | None]:
        """The admin with this email, created if missing. Returns (id, generated password or None)."""
        row = (await conn.execute(select(users.c.id).where(users.c.email == email.strip().lower()))).first()
        if row is not None:
            return row.id, None
        generated = None if password else secrets.token_urlsafe(12)
        uid = await self.create_user(conn, email, "Administrator", password or generated, is_admin=True)
        return uid, generated

    async def any_admin(self, conn: AsyncConnection) -> bool:
        return (await conn.execute(select(users.c.id).where(users.c.is_admin.is_(True)).limit(1))).first() is not None

    async def check_password(self, conn: AsyncConnection, email: str, password: str) -> Actor | None:
        row = (await conn.execute(select(users).where(users.c.email == email.strip().lower(), users.c.active.is_(True)))).first()
        if row is None or not row.password_hash:
            _hasher.hash(password)  # same cost either way: no user enumeration by timing
            return None
        if not _hasher.verify(password, row.password_hash):
            return None
        return Actor(user_id=row.id, is_admin=row.is_admin, source="ui")

    async def user_id_by_email(self, conn: AsyncConnection, email: str) -> int:
        row = (await conn.execute(select(users.c.id).where(users.c.email == email.strip().lower()))).first()
        if row is None:
            raise NotFound(f"no user with email {email!r}")
        return int(row.id)

    async def create_token(
        self, conn: AsyncConnection, user_id: int, name: str = "", expires_at: datetime | None = None,
        *, read_only: bool = False, apps: list[str] | None = None,
    ) -> tuple[str, dict[str, Any]]:  # fmt: skip
        """A new token, optionally narrowed: read-only, and/or limited to some apps (None: every app)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        values = {"user_id": user_id, "name": name, "token_hash": token_hash(token), "prefix": token[:12],
                  "created_at": self.clock.now(), "expires_at": expires_at, "read_only": read_only, "apps": apps}  # fmt: skip
        tid = (await conn.execute(insert(api_tokens).values(**values).returning(api_tokens.c.id))).scalar_one()
        return token, _token_json({"id": tid, **values, "revoked_at": None})

    async def authenticate(self, db: Database, token: str) -> Access | None:
        """The actor a bearer token stands for, or None. Answers repeat calls from a cache for a few
        seconds (a revocation in this process applies at once, in another within CACHE_SECONDS);
        notes the token's use at most once an hour, so a busy integration's reads stay reads."""
        digest = token_hash(token)
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            _, actor, expires_at = cached
            return actor if expires_at is None or expires_at > self.clock.now() else None
        async with db.read() as conn:
            actor, last_used, expires_at = await self._token_actor(conn, token)
        if actor is not None:
            self._cache[digest] = (time.monotonic() + CACHE_SECONDS, actor, expires_at)
        if actor is not None and (last_used is None or last_used < self.clock.now() - TOUCH_EVERY):
            async with db.write() as conn:
                stamp = update(api_tokens).where(api_tokens.c.id == actor.token_id).values(last_used_at=self.clock.now())
                await conn.execute(stamp)
        return actor

    async def _token_actor(self, conn: AsyncConnection, token: str) -> tuple[Access | None, datetime | None, datetime | None]:
        t = api_tokens
        columns = (t.c.id, t.c.expires_at, t.c.revoked_at, t.c.last_used_at, t.c.read_only, t.c.apps)
        row = (
            await conn.execute(
                select(*columns, users.c.id.label("uid"), users.c.is_admin)
                .join(users, users.c.id == api_tokens.c.user_id)
                .where(api_tokens.c.token_hash == token_hash(token), users.c.active.is_(True))
            )
        ).first()
        if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= self.clock.now()):
            return None, None, None
        access = await load_access(
            conn, row.uid, row.is_admin, source="api", token_id=row.id, token_read_only=row.read_only, token_apps=row.apps
        )
        return access, row.last_used_at, row.expires_at

    async def actor_for_user(self, conn: AsyncConnection, user_id: int) -> Access | None:
        row = (
            await conn.execute(select(users.c.id, users.c.is_admin).where(users.c.id == user_id, users.c.active.is_(True)))
        ).first()
        return None if row is None else await load_access(conn, row.id, row.is_admin, source="ui")

    async def viewer_for_user(self, conn: AsyncConnection, user_id: int) -> tuple[Access, Profile] | None:
        """`actor_for_user` and the user's profile from one read of their row: what every web page needs."""
        row = (await conn.execute(select(*PROFILE_COLUMNS).where(users.c.id == user_id, users.c.active.is_(True)))).first()
        if row is None:
            return None
        return await load_access(conn, row.id, row.is_admin, source="ui"), Profile(**row._mapping)

    def forget_cached(self) -> None:
        """Drop cached accesses (after a change of roles, teams or users in this process)."""
        self._cache.clear()

    async def list_tokens(self, conn: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
        rows = (await conn.execute(select(api_tokens).where(api_tokens.c.user_id == user_id).order_by(api_tokens.c.id))).all()
        return [_token_json(r._mapping) for r in rows]

    async def revoke_token(self, conn: AsyncConnection, user_id: int, token_id: int) -> None:
        done = await conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=self.clock.now())
        )
        if done.rowcount == 0:
            raise NotFound(f"token {token_id} not found")
        self._cache = {k: v for k, v in self._cache.items() if v[1].token_id != token_id}


def _token_json(m: Any) -> dict[str, Any]:
    keys = ("id", "name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at", "read_only", "apps")
    return {k: m.get(k) for k in keys}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def ensure_builtin_roles(conn: AsyncConnection) -> None:
    """Add the built-in roles an installation starts with, if missing (never overwrites edits)."""
    have = set((await conn.execute(select(roles.c.key))).scalars())
    now = datetime.now(UTC)
    for role in BUILTIN_ROLES:
        if role.key not in have:
            values = {
                "key": role.key,
                "definition": role.model_dump(mode="json"),
                "builtin": True,
                "created_at": now,
                "updated_at": now,
            }
            await conn.execute(insert(roles).values(**values))


async def grant_role(conn: AsyncConnection, user_id: int, role_key: str) -> None:
    role_id = (await conn.execute(select(roles.c.id).where(roles.c.key == role_key))).scalar_one_or_none()
    if role_id is None:
        raise NotFound(f"no role {role_key!r}")
    if not (
        await conn.execute(select(user_roles).where(user_roles.c.user_id == user_id, user_roles.c.role_id == role_id))
    ).first():
        await conn.execute(insert(user_roles).values(user_id=user_id, role_id=role_id))
