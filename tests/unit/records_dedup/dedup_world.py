"""The R13 world: a CRM whose accounts have duplicate rules, with contacts, opportunities and tickets
referring to them, and a second app (service) whose cases refer to crm accounts across apps."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from engine.api.context import Context
from engine.records.dedup.tables import dedup_keys
from tests.factories import make_app

ACCOUNTS = "/api/v1/apps/crm/account"

ACCOUNT: dict[str, Any] = {
    "key": "account",
    "label": {"en": "Account", "zh-CN": "客户"},
    "display_field": "name",
    "options": {
        "duplicates": [
            {"key": "same_phone", "label": {"en": "Same phone", "zh-CN": "电话相同"},
             "match": [{"field": "phone", "normalize": "phone"}], "action": "warn"},
            {"key": "same_company", "match": [{"field": "name", "normalize": "company"}, {"field": "city"}], "action": "warn"},
            {"key": "same_email", "match": [{"field": "email", "normalize": "email"}], "action": "block"},
        ]
    },
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "city", "type": "text"},
        {"key": "phone", "type": "phone"},
        {"key": "email", "type": "email"},
        {"key": "industry", "type": "text"},
    ],
}  # fmt: skip
CONTACT = {
    "key": "contact",
    "label": "Contact",
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "account", "type": "relation", "target": "account", "on_delete": "restrict"},
    ],
}
OPPORTUNITY = {
    "key": "opportunity",
    "label": "Opportunity",
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "amount", "type": "decimal", "precision": 15, "scale": 2},
        {"key": "account", "type": "relation", "target": "account", "on_delete": "cascade"},
    ],
}
TICKET = {
    "key": "ticket",
    "label": "Ticket",
    "fields": [
        {"key": "subject", "type": "text", "required": True},
        {"key": "customer", "type": "relation", "target": "account", "on_delete": "set_null"},
    ],
}
CASE = {  # in the service app: a relation across apps
    "key": "case",
    "label": "Case",
    "fields": [
        {"key": "title", "type": "text", "required": True},
        {"key": "account", "type": "relation", "target": "crm.account"},
    ],
}


async def build_crm(client: httpx.AsyncClient) -> None:
    await make_app(client, "crm", ACCOUNT, CONTACT, OPPORTUNITY, TICKET)
    await make_app(client, "service", CASE)


async def create(client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int = 201) -> httpx.Response:
    r = await client.post(path, json=body)
    assert r.status_code == status, r.text
    return r


async def new_id(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> int:
    return int((await create(client, path, body)).json()["id"])


async def key_count(ctx: Context) -> int:
    async with ctx.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(dedup_keys))).scalar_one())
