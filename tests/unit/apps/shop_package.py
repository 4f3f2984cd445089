"""A small but complete package written by tests to tmp_path: two entities that point at each other
(a relation cycle, so the two-pass install is needed), a formula, a form, a role, a rule (SCENARIOS R4:
a paid order becomes completed), a process (P2-like approval), a chart, a dashboard and sample data."""

from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path
from typing import Any

MANIFEST = {
    "format": 1, "key": "shop", "name": {"zh-CN": "小店", "en": "Shop"}, "version": "1.0.0",
    "min_engine_version": "0.1.0", "description": {"zh-CN": "订单和客户", "en": "Orders and customers"},
}  # fmt: skip
CUSTOMER = {
    "key": "customer", "label": {"en": "Customer", "zh-CN": "客户"}, "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True, "label": {"en": "Name", "zh-CN": "名称"}},
        {"key": "region", "type": "select", "options": [{"key": "east"}, {"key": "west"}]},
        {"key": "last_order", "type": "relation", "target": "order"},
    ],
}  # fmt: skip
ORDER = {
    "key": "order", "label": {"en": "Order", "zh-CN": "订单"}, "display_field": "code",
    "fields": [
        {"key": "code", "type": "auto_number", "prefix": "SO-", "digits": 5},
        {"key": "customer", "type": "relation", "target": "customer", "required": True},
        {"key": "amount", "type": "decimal", "precision": 15, "scale": 2, "min": 0},
        {"key": "paid", "type": "boolean", "default": False},
        {"key": "status", "type": "select", "options": [{"key": "open"}, {"key": "completed"}], "default": "open"},
        {"key": "size", "type": "formula", "returns": "text", "expression": "IF(amount > 1000, 'big', 'small')"},
    ],
}  # fmt: skip
FORM = {"key": "customer_main", "entity": "customer", "label": {"en": "Customer"},
        "sections": [{"label": "Basics", "columns": 2, "fields": ["name", "region"]}]}  # fmt: skip
ROLE = {"key": "shop_clerk", "label": {"en": "Clerk", "zh-CN": "店员"},
        "grants": [{"entity": "shop.*", "read": "own", "create": True, "update": "own"}]}  # fmt: skip
RULE = {
    "key": "r4_paid_completes", "entity": "order", "when": "before_save", "trigger": {"type": "saved"},
    "condition": {"field": "paid", "op": "eq", "value": True},
    "actions": [{"type": "set_fields", "values": {"status": "completed"}}],
}  # fmt: skip
PROCESS = {
    "key": "big_order", "entity": "order", "label": {"en": "Big order approval"},
    "nodes": [{"id": "start", "type": "start"}, {"id": "ok", "type": "end", "outcome": "approved"}],
    "edges": [{"from": "start", "to": "ok"}],
}  # fmt: skip
CHART = {"key": "orders_by_status", "type": "bar", "source": "order", "label": {"en": "Orders by status"},
         "dimensions": [{"field": "status"}], "measures": [{"key": "n", "agg": "count"}]}  # fmt: skip
DASHBOARD = {"key": "overview", "label": {"en": "Overview"}, "tiles": [{"chart": "orders_by_status"}]}
SAMPLE_CUSTOMERS = {"records": [{"name": "Acme", "region": "east"}, {"name": "Globex", "region": "west"}]}
SAMPLE_ORDERS = {"records": [
    {"customer": {"lookup": {"name": "Acme"}}, "amount": 1500, "paid": True},
    {"customer": {"lookup": {"name": "Globex"}}, "amount": 20.5},
]}  # fmt: skip


def shop_files(**changes: Any) -> dict[str, Any]:
    """relative path -> document; `changes` replaces (a document) or removes (None) files by path."""
    files: dict[str, Any] = {
        "manifest.json": MANIFEST, "entities/customer.json": CUSTOMER, "entities/order.json": ORDER,
        "forms/customer_main.json": FORM, "roles/shop_clerk.json": ROLE, "rules/r4_paid_completes.json": RULE,
        "processes/big_order.json": PROCESS, "charts/orders_by_status.json": CHART, "dashboards/overview.json": DASHBOARD,
        "sample/customer.json": SAMPLE_CUSTOMERS, "sample/order.json": SAMPLE_ORDERS,
    }  # fmt: skip
    files = copy.deepcopy(files)
    for path, doc in changes.items():
        path = path.replace("__", "/").replace("_json", ".json")
        if doc is None:
            files.pop(path, None)
        else:
            files[path] = doc
    return files


def write_package(folder: Path, files: dict[str, Any]) -> Path:
    for name, doc in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(doc if isinstance(doc, bytes) else json.dumps(doc, indent=2, ensure_ascii=False).encode())
    return folder


def zip_package(files: dict[str, Any], top: str = "") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, doc in files.items():
            archive.writestr(top + name, doc if isinstance(doc, bytes) else json.dumps(doc, ensure_ascii=False))
    return out.getvalue()
