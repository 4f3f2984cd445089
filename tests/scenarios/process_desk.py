"""Shared by the process API tests: the discount approval (SCENARIOS P2) on the rule scenarios' sales app,
and one API client per person of that world."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import httpx

from engine.api.app import create_app
from engine.api.context import Context
from tests.scenarios.rules_world import RulesWorld

DEFS = "/api/v1/meta/apps/sales/processes"
DISCOUNT: dict[str, Any] = {
    "key": "discount", "entity": "opportunity", "label": {"en": "Discount approval"},
    "lock": "fields", "lock_fields": ["amount"],
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "big", "type": "exclusive", "label": "Big deal?"},
        {"id": "manager", "type": "approval", "label": "Manager", "assignees": [{"type": "manager"}],
         "cc": [{"type": "users", "users": ["w1@example.com"]}],
         "fields": {"visible": ["name", "amount", "important"], "editable": ["important"]}},
        {"id": "both", "type": "approval", "mode": "all",
         "assignees": [{"type": "users", "users": ["b1@example.com", "w1@example.com"]}]},
        {"id": "ok", "type": "end", "outcome": "approved", "set": {"status": "won"}},
        {"id": "no", "type": "end", "outcome": "rejected"},
    ],
    "edges": [
        {"from": "start", "to": "big"},
        {"from": "big", "to": "manager", "condition": {"field": "amount", "op": "gt", "value": 1000}},
        {"from": "big", "to": "ok", "default": True},
        {"from": "manager", "to": "both"},
        {"from": "manager", "to": "no", "outcome": "rejected"},
        {"from": "both", "to": "ok"},
    ],
}  # fmt: skip


async def clients_for(ctx: Context, world: RulesWorld, stack: AsyncExitStack) -> dict[str, httpx.AsyncClient]:
    app = create_app(ctx.settings, ctx)
    clients = {"admin": world.http}
    for who, uid in world.users.items():
        if who == "admin":
            continue
        async with ctx.db.write() as conn:
            token, _ = await ctx.auth.create_token(conn, uid, "tests")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        clients[who] = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers)
        )
    return clients
