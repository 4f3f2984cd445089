"""Entities compiled without a database, for tests of the condition language: a lead with every
comparable field type, pointing at an account (which has an owner)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from engine.core.errors import ErrorCollector
from engine.expr.condition import Node, parse_condition
from engine.expr.fields import Readable
from engine.schema.model import CompiledEntity, compile_entity

OPTIONS = [{"key": "a"}, {"key": "b"}, {"key": "c"}]
ACCOUNT: dict[str, Any] = {
    "key": "account",
    "label": {"en": "Account"},
    "fields": [
        {"key": "name", "type": "text"},
        {"key": "tier", "type": "integer"},
        {"key": "secret", "type": "text"},
        {"key": "parent", "type": "relation", "target": "account"},
        {"key": "elsewhere", "type": "relation", "target": "hr.unit"},
    ],
}
THING: dict[str, Any] = {
    "key": "thing",
    "label": {"en": "Thing"},
    "fields": [
        {"key": "name", "type": "text"},
        {"key": "email", "type": "email"},
        {"key": "n", "type": "integer"},
        {"key": "amount", "type": "decimal", "precision": 12, "scale": 2},
        {"key": "flag", "type": "boolean"},
        {"key": "kind", "type": "select", "options": OPTIONS},
        {"key": "tags", "type": "multi_select", "options": OPTIONS},
        {"key": "day", "type": "date"},
        {"key": "day2", "type": "date"},
        {"key": "at", "type": "datetime"},
        {"key": "who", "type": "user"},
        {"key": "acct", "type": "relation", "target": "account"},
        {"key": "acct2", "type": "relation", "target": "account"},
        {"key": "data", "type": "json"},
        {"key": "files", "type": "attachment"},
    ],
}
UNIT: dict[str, Any] = {"key": "unit", "label": {"en": "Unit"}, "fields": [{"key": "code", "type": "text"}]}


def compiled(doc: dict[str, Any], app: str = "crm", entity_id: int = 1) -> CompiledEntity:
    row = SimpleNamespace(
        id=entity_id, key=doc["key"], version=1, table_name=f"t_{app}_{doc['key']}", definition=doc, removed_fields=[]
    )
    return compile_entity(row, app)


THING_E = compiled(THING)
ACCOUNT_E = compiled(ACCOUNT, entity_id=2)
UNIT_E = compiled(UNIT, app="hr", entity_id=3)
TARGETS: dict[str, Any] = {"thing": THING_E, "account": ACCOUNT_E, "hr.unit": UNIT_E}
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)  # a Monday


def parse(doc: Any, *, allow_changes: bool = False, hidden: frozenset[str] = frozenset(), targets: Any = None) -> Node:
    errors = ErrorCollector()
    node = parse_condition(doc, THING_E, errors, "/c", hidden, TARGETS if targets is None else targets, allow_changes)
    assert not errors, errors.errors
    assert node is not None
    return node


def problems(doc: Any, **kw: Any) -> list[tuple[str, str]]:
    """(path, code) of each error parsing `doc`."""
    errors = ErrorCollector()
    parse_condition(
        doc, THING_E, errors, "/c", kw.get("hidden", frozenset()), kw.get("targets", TARGETS), kw.get("allow_changes", False)
    )
    return [(e.path, e.code) for e in errors.errors]


def messages(doc: Any, **kw: Any) -> list[str]:
    errors = ErrorCollector()
    parse_condition(doc, THING_E, errors, "/c", frozenset(), TARGETS, kw.get("allow_changes", False))
    return [e.message for e in errors.errors]


__all__ = ["ACCOUNT_E", "NOW", "TARGETS", "THING_E", "Readable", "compiled", "messages", "parse", "problems"]
