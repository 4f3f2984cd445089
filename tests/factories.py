"""Small real app definitions shared by tests (the SCENARIOS.md lead of R1 among them)."""

from __future__ import annotations

from typing import Any

import httpx

LEAD: dict[str, Any] = {
    "key": "lead",
    "label": {"en": "Lead", "zh-CN": "线索"},
    "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True, "label": {"en": "Name", "zh-CN": "名称"}},
        {"key": "email", "type": "email", "unique": True},
        {"key": "phone", "type": "phone"},
        {"key": "budget", "type": "decimal", "min": 0, "precision": 15, "scale": 2},
        {"key": "employees", "type": "integer", "min": 0},
        {"key": "industry", "type": "select", "options": [
            {"key": "manufacturing", "label": {"en": "Manufacturing", "zh-CN": "制造业"}, "color": "#1f77b4"},
            {"key": "retail", "label": {"en": "Retail", "zh-CN": "零售"}},
            {"key": "finance", "label": {"en": "Finance", "zh-CN": "金融"}},
        ]},
        {"key": "tags", "type": "multi_select", "options": [{"key": "vip"}, {"key": "event"}]},
        {"key": "qualified", "type": "boolean", "default": False},
        {"key": "first_contact", "type": "date"},
        {"key": "last_activity_at", "type": "datetime"},
        {"key": "website", "type": "url"},
        {"key": "notes", "type": "long_text"},
        {"key": "code", "type": "auto_number", "prefix": "LEAD-", "digits": 6},
        {"key": "extra", "type": "json"},
    ],
}  # fmt: skip

ACCOUNT: dict[str, Any] = {
    "key": "account",
    "label": {"en": "Account", "zh-CN": "客户"},
    "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "region", "type": "text"},
    ],
}


async def make_app(client: httpx.AsyncClient, key: str = "crm", *entities: dict[str, Any]) -> None:
    r = await client.post("/api/v1/meta/apps", json={"key": key, "label": {"en": "CRM", "zh-CN": "客户管理"}})
    assert r.status_code == 201, r.text
    for e in entities or (LEAD,):
        r = await client.post(f"/api/v1/meta/apps/{key}/entities", json=e)
        assert r.status_code == 201, r.text
