"""A small app for form-layout tests: deals with line items, and a layout using tabs, collapsible
sections, form rules and a line-item grid."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import make_app

FORMS = "/api/v1/meta/apps/sales/forms"
DEALS = "/api/v1/apps/sales/deal"

DEAL: dict[str, Any] = {
    "key": "deal",
    "label": {"en": "Deal"},
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "status", "type": "select", "default": "open", "options": [{"key": "open"}, {"key": "won"}, {"key": "lost"}]},
        {"key": "source", "type": "select", "options": [{"key": "web"}, {"key": "event"}]},
        {"key": "amount", "type": "decimal", "precision": 15, "scale": 2},
        {"key": "lost_reason", "type": "text"},
        {"key": "won_on", "type": "date"},
        {"key": "discount", "type": "percent"},
        {"key": "tags", "type": "multi_select", "options": [{"key": "vip"}, {"key": "event"}]},
        {"key": "reviewer", "type": "user"},
        {"key": "code", "type": "text", "required": True, "default": "D"},
    ],
}
DEAL_LINE: dict[str, Any] = {
    "key": "deal_line",
    "label": {"en": "Deal line"},
    "fields": [
        {"key": "deal", "type": "relation", "target": "deal", "required": True, "on_delete": "cascade"},
        {"key": "product", "type": "text"},
        {"key": "quantity", "type": "integer", "default": 1},
    ],
}
WON = {"field": "status", "op": "eq", "value": "won"}
LOST = {"field": "status", "op": "eq", "value": "lost"}
LAYOUT: dict[str, Any] = {
    "key": "deal",
    "entity": "deal",
    "label": {"en": "Deal"},
    "sections": [
        {"key": "main", "tab": {"en": "Main"}, "columns": 2, "fields": [
            "name", "status", "source",
            {"field": "amount", "required_when": {"field": "source", "op": "eq", "value": "event"},
             "read_only_when": WON},
        ]},
        {"key": "outcome", "tab": {"en": "Main"}, "collapsible": True, "collapsed": True,
         "visible_when": {"not": {"field": "status", "op": "eq", "value": "open"}},
         "fields": [{"field": "won_on", "visible_when": WON, "required_when": WON},
                    {"field": "lost_reason", "visible_when": LOST, "required_when": LOST}]},
        {"key": "more", "tab": {"en": "More"}, "fields": ["discount", "tags", "reviewer", "code"]},
        {"kind": "lines", "key": "lines", "tab": {"en": "More"}, "label": {"en": "Lines"}, "entity": "deal_line", "link": "deal",
         "fields": ["product", "quantity"]},
    ],
}  # fmt: skip


async def make_sales(client: httpx.AsyncClient, layout: dict[str, Any] | None = LAYOUT) -> None:
    await make_app(client, "sales", DEAL, DEAL_LINE)
    if layout is not None:
        r = await client.post(FORMS, json=layout)
        assert r.status_code == 201, r.text
