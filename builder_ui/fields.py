"""Fields as the UI shows them: label in the viewer's language, options with colours, whether the viewer
may write them, and the form's rules. One FieldView feeds the one macro per field type (templates/
components/fields.html), in lists, record pages and forms alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from builder_ui.i18n import text_in
from engine.auth.policy import Access, Scope, rights, scope
from engine.expr.operators import ANNIVERSARY, CHANGES, OPS_BY_TYPE
from engine.schema.field_types.formula import value_type
from engine.schema.model import CompiledEntity

NUMERIC = frozenset({"integer", "decimal", "currency", "percent", "auto_number"})
WIDE = frozenset({"long_text", "json", "attachment"})
SYSTEM = {  # system columns a list may show: (type, English label; the catalog translates it)
    "id": ("integer", "ID"),
    "owner": ("user", "Owner"),
    "created_at": ("datetime", "Created at"),
    "updated_at": ("datetime", "Updated at"),
    "created_by": ("user", "Created by"),
    "updated_by": ("user", "Updated by"),
}


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    color: str | None


@dataclass(frozen=True)
class FieldView:
    key: str
    type: str
    label: str
    required: bool = False
    writable: bool = False
    help: str = ""
    options: tuple[Option, ...] = ()
    cfg: Any = None
    target: tuple[str, str] | None = None  # relation: (app, entity)
    rules: dict[str, Any] = field(default_factory=dict)  # visible_when / required_when / read_only_when

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC

    @property
    def wide(self) -> bool:
        return self.type in WIDE

    def option(self, key: Any) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


def field_views(entity: CompiledEntity, s: Scope, locale: str, _: Any, write: Scope | None = None) -> dict[str, FieldView]:
    """Every field the viewer may read, in definition order, plus the system columns."""
    out: dict[str, FieldView] = {}
    for key, bound in entity.fields.items():
        if key in s.hidden:
            continue
        cfg, ftype = bound.cfg, bound.type
        options = tuple(Option(o.key, text_in(o.label, locale, o.key), o.color) for o in getattr(cfg, "options", None) or ())
        generated = ftype.generated or ftype.computed or cfg.read_only
        writable = write is not None and write.allowed and not generated and key not in write.read_only
        target = entity.relation_target(bound) if cfg.type == "relation" else None
        out[key] = FieldView(
            key, cfg.type, text_in(cfg.label, locale, key), bool(cfg.required), writable,
            text_in(cfg.help_text, locale), options, cfg, target,
        )  # fmt: skip
    for key, (ftype, label) in SYSTEM.items():
        out.setdefault(key, FieldView(key, ftype, _(label)))
    return out


def display_of(record: Any, entity: CompiledEntity | None) -> str:
    """What a record is called: its display field, else its number."""
    if not isinstance(record, dict):
        return f"#{record}" if record is not None else ""
    key = entity.definition.display_field if entity else None
    value = record.get(key) if key else None
    return str(value) if value not in (None, "") else f"#{record.get('id')}"


def value_kind(f: FieldView) -> str:
    """The type of the values a field holds: a formula field's is the type it returns (engine value_type)."""
    return value_type(f.cfg) if f.type == "formula" and f.cfg is not None else f.type


def filter_fields(fvs: dict[str, FieldView], _: Any) -> list[dict[str, Any]]:
    """What the filter builder offers: each readable field with the operators the condition language
    allows for its type (engine/expr/operators.py, the one vocabulary), options for choice fields.
    A formula field is offered as the type it returns (the days of a leave request as a number), as the
    condition language compares it (engine/schema/field_types/formula.py value_type)."""
    out = []
    for f in fvs.values():
        kind = value_kind(f)
        ops = OPS_BY_TYPE.get(kind, frozenset()) - CHANGES - {ANNIVERSARY}
        if ops and kind != "formula":
            options = [{"key": o.key, "label": o.label} for o in f.options]
            ordered = sorted(ops, key=OPERATOR_ORDER.index)
            out.append({"key": f.key, "label": f.label, "type": kind, "ops": ordered, "options": options})
    return out


OPERATOR_ORDER = [
    "eq", "ne", "contains", "not_contains", "starts_with", "ends_with", "in", "not_in", "has_any", "has_all",
    "gt", "gte", "lt", "lte", "between", "is_today", "this_week", "last_week", "next_week", "this_month",
    "last_month", "next_month", "this_quarter", "last_quarter", "next_quarter", "this_year", "last_year",
    "next_year", "within_last", "within_next", "older_than", "is_empty", "is_not_empty",
]  # fmt: skip


def bulk_rights(access: Access, entity: CompiledEntity) -> dict[str, bool]:
    """Which bulk actions the list offers: the same policy the API applies to each record."""
    return {
        "delete": scope(access, entity, "delete").allowed,
        "export": scope(access, entity, "export").allowed,
        "assign": rights(access, entity).assign,
    }


OPERATOR_LABELS = {
    "eq": "is", "ne": "is not", "contains": "contains", "not_contains": "does not contain", "starts_with": "starts with",
    "ends_with": "ends with", "in": "is any of", "not_in": "is none of", "has_any": "has any of", "has_all": "has all of",
    "gt": "greater than", "gte": "at least", "lt": "less than", "lte": "at most", "between": "between",
    "is_today": "today", "this_week": "this week", "last_week": "last week", "next_week": "next week",
    "this_month": "this month", "last_month": "last month", "next_month": "next month", "this_quarter": "this quarter",
    "last_quarter": "last quarter", "next_quarter": "next quarter", "this_year": "this year", "last_year": "last year",
    "next_year": "next year", "within_last": "in the last", "within_next": "in the next", "older_than": "more than … ago",
    "is_empty": "is empty", "is_not_empty": "is not empty",
}  # fmt: skip
UNIT_LABELS = {"minutes": "minutes", "hours": "hours", "days": "days", "weeks": "weeks", "months": "months"}


def operator_labels(_: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The filter builder's words for operators and time units, in the viewer's language."""
    return {k: _(v) for k, v in OPERATOR_LABELS.items()}, {k: _(v) for k, v in UNIT_LABELS.items()}
