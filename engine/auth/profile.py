"""A user's own profile and preferences (language, time zone), and the names the UI shows for user ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.tables import roles, users
from engine.core.errors import ErrorCollector, NotFound

LOCALES = ("zh-CN", "en")


@dataclass(frozen=True)
class Profile:
    id: int
    email: str
    name: str
    locale: str
    locale_chosen: bool
    time_zone: str | None
    is_admin: bool

    @property
    def display_name(self) -> str:
        return self.name or self.email


PROFILE_COLUMNS = (
    users.c.id, users.c.email, users.c.name, users.c.locale, users.c.locale_chosen, users.c.time_zone, users.c.is_admin,
)  # fmt: skip


async def profile(conn: AsyncConnection, user_id: int) -> Profile:
    row = (await conn.execute(select(*PROFILE_COLUMNS).where(users.c.id == user_id))).first()
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return Profile(**row._mapping)


async def set_preferences(conn: AsyncConnection, user_id: int, locale: str | None = None, time_zone: str | None = None) -> None:
    """Remember the user's language (then it wins over the browser's) and/or time zone ("" = the installation's)."""
    errors = ErrorCollector()
    if locale is not None and locale not in LOCALES:
        errors.add("/locale", "enum", f"the language must be one of {', '.join(LOCALES)}")
    if time_zone and time_zone not in available_timezones():
        errors.add("/time_zone", "unknown_time_zone", f"unknown time zone {time_zone!r}; use an IANA name such as Asia/Shanghai")
    errors.raise_if_any("The preferences have errors")
    values: dict[str, Any] = {}
    if locale is not None:
        values |= {"locale": locale, "locale_chosen": True}
    if time_zone is not None:
        values["time_zone"] = time_zone or None
    if values:
        await conn.execute(update(users).where(users.c.id == user_id).values(**values))


async def user_names(conn: AsyncConnection, ids: set[int]) -> dict[int, str]:
    """Display names (name, else email) of active and inactive users alike: owners stay readable."""
    if not ids:
        return {}
    rows = await conn.execute(select(users.c.id, users.c.name, users.c.email).where(users.c.id.in_(sorted(ids))))
    return {r.id: r.name or r.email for r in rows}


@dataclass(frozen=True)
class UserChoice:
    id: int
    label: str


async def search_users(conn: AsyncConnection, text: str, limit: int = 10) -> list[UserChoice]:
    """Active users whose name or email contains the text (a user picker's type-ahead)."""
    query = select(users.c.id, users.c.name, users.c.email).where(users.c.active.is_(True))
    if text.strip():
        like = "%" + text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(func.lower(users.c.name).like(like, escape="\\"), func.lower(users.c.email).like(like, escape="\\"))
        )
    rows = await conn.execute(query.order_by(users.c.name, users.c.id).limit(limit))
    return [UserChoice(r.id, f"{r.name} <{r.email}>" if r.name else r.email) for r in rows]


async def role_choices(conn: AsyncConnection) -> list[tuple[str, Any]]:
    """Every role's key and label (a view can be shared with a role by those who manage its entity)."""
    rows = await conn.execute(select(roles.c.key, roles.c.definition).order_by(roles.c.key))
    return [(r.key, (r.definition or {}).get("label") or r.key) for r in rows]
