"""Helpers for identity tests: a user with roles and a bearer token (set up directly in the
database), a team made over the admin API, the audit log's rows, and a problem's error paths."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.api.context import Context
from engine.audit.tables import audit_log
from engine.auth.service import grant_role


async def make_user(ctx: Context, email: str, *roles: str, password: str | None = None) -> tuple[int, dict[str, str]]:
    """(user id, Authorization headers with a fresh token of theirs)."""
    async with ctx.db.write() as conn:
        uid = await ctx.auth.create_user(conn, email, password=password)
        for role in roles:
            await grant_role(conn, uid, role)
        token, _ = await ctx.auth.create_token(conn, uid, "tests")
    return uid, {"Authorization": f"Bearer {token}"}


async def audit_rows(ctx: Context, prefix: str = "") -> list[dict[str, Any]]:
    """The audit log's rows whose action starts with `prefix`, oldest first."""
    async with ctx.db.read() as conn:
        query = select(audit_log).where(audit_log.c.action.startswith(prefix)).order_by(audit_log.c.id)
        return [dict(r._mapping) for r in await conn.execute(query)]


async def new_team(client: Any, key: str, parent: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {"key": key, "label": {"en": key.title()}, "parent": parent, **extra}
    r = await client.post("/api/v1/admin/teams", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def errors(response: Any) -> list[tuple[str, str]]:
    """The problem's (path, code) pairs, sorted."""
    return sorted((e["path"], e["code"]) for e in response.json().get("errors", []))
