"""Saved views against an entity and one caller: checking a view its author saves (every problem at
its JSON path, a field hidden from the author answering as unknown), and the view as a viewer may use it
(what they may not read dropped, or the view marked unusable), as list parameters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from engine.auth.policy import Access
from engine.core.errors import ErrorCollector, ValidationFailed, pydantic_errors
from engine.expr.condition import parse_condition
from engine.expr.fields import Targets
from engine.records.query import sortable
from engine.records.view_definition import SYSTEM_COLUMNS, ViewDefinition, ViewDocument
from engine.schema.model import CompiledEntity

UNLISTED = frozenset({"long_text", "json"})  # not among a generated view's columns
GENERATED_NAME = {"en": "All records", "zh-CN": "全部记录"}


@dataclass(frozen=True)
class Viewer:
    """One caller on one entity: their field mask and whether they manage it."""

    access: Access
    entity: CompiledEntity
    hidden: frozenset[str]
    manages: bool

    @property
    def user_id(self) -> int | None:
        return self.access.user_id

    def reads(self, name: str) -> bool:
        return name not in self.hidden and (name in self.entity.fields or name in SYSTEM_COLUMNS)


def parse_document(doc: Any) -> ViewDocument:
    """The view's shape, or a 422 with every problem at its path."""
    try:
        return ViewDocument.model_validate(doc)
    except ValidationError as exc:
        raise ValidationFailed("The view has errors", errors=pydantic_errors(exc)) from None


def check_fields(v: Viewer, view: ViewDefinition, targets: Targets, errors: ErrorCollector) -> None:
    """Everything the view names must exist and be readable by its author (`v`)."""
    if view.filter is not None:
        parse_condition(view.filter, v.entity, errors, "/filter", v.hidden, targets)
    _check_names(v, view.columns, "/columns", errors)
    _check_names(v, view.card_fields, "/card_fields", errors)
    for i, item in enumerate(view.sort):
        why = sortable(v.entity, item.field, v.hidden)
        if isinstance(why, str):
            errors.add(f"/sort/{i}/field", "invalid_sort", f"{item.field!r}: {why}")
    if view.kind == "kanban" and view.group_field is None:
        errors.add("/group_field", "required", "a kanban view groups its cards by a select field")
    if view.group_field is not None and (why := _group_problem(v, view.group_field)):
        errors.add("/group_field", why[0], why[1])


def _check_names(v: Viewer, names: list[str], path: str, errors: ErrorCollector) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if not v.reads(name):
            errors.add(f"{path}/{i}", "unknown_field", f"{name!r} is not a field")
        elif name in seen:
            errors.add(f"{path}/{i}", "duplicate", f"{name!r} is listed twice")
        seen.add(name)


def _group_problem(v: Viewer, name: str) -> tuple[str, str] | None:
    f = None if name in v.hidden else v.entity.fields.get(name)
    if f is None:
        return "unknown_field", f"{name!r} is not a field"
    if f.cfg.type != "select":
        return "not_select", f"{name!r} is not a select field: a board's lanes are a select field's options"
    return None


def for_viewer(v: Viewer, stored: dict[str, Any], targets: Targets) -> tuple[dict[str, Any], bool]:
    """(the definition as this viewer may use it, whether they can use it at all). Columns, cards and
    sort keys they may not read are dropped; a filter or lanes on what they may not read make the
    view unusable for them (dropping the filter would show other rows than the view promises)."""
    d = ViewDefinition.model_validate(stored)
    columns = [c for c in d.columns if v.reads(c)]
    usable = bool(columns)
    if d.kind == "kanban":
        usable = usable and d.group_field is not None and _group_problem(v, d.group_field) is None
    if d.filter is not None:
        errors = ErrorCollector()
        parse_condition(d.filter, v.entity, errors, "/filter", v.hidden, targets)
        usable = usable and not errors
    shown = d.model_copy(
        update={
            "columns": columns,
            "card_fields": [c for c in d.card_fields if v.reads(c)],
            "sort": [s for s in d.sort if not isinstance(sortable(v.entity, s.field, v.hidden), str)],
        }
    )
    return shown.model_dump(mode="json"), usable


def list_params(definition: dict[str, Any]) -> dict[str, Any]:
    """The view as the record list's query parameters (GET /api/v1/apps/{app}/{entity})."""
    names = list(definition["columns"])
    if definition["kind"] == "kanban":
        names += [definition["group_field"], *definition["card_fields"]]
    sort = ",".join(("-" if s["desc"] else "") + s["field"] for s in definition["sort"])
    condition = definition["filter"]
    return {
        "filter": None if condition is None else json.dumps(condition, separators=(",", ":"), sort_keys=True),
        "sort": sort or None,
        "fields": ",".join(dict.fromkeys(n for n in names if n)),
        "limit": definition["page_size"],
    }


def generated_definition(v: Viewer) -> dict[str, Any]:
    """The default when none is shared: the display field, up to 6 more readable fields in definition
    order (no long text or JSON), then owner and updated_at; newest changes first."""
    e = v.entity
    display = e.definition.display_field
    first = [display] if display and v.reads(display) else []
    rest = [f.key for f in e.definition.fields if f.type not in UNLISTED and f.key not in first and v.reads(f.key)]
    columns = first + rest[:6] + [c for c in ("owner", "updated_at") if v.reads(c)] or ["id"]
    sort = [{"field": "updated_at", "desc": True}] if v.reads("updated_at") else []
    return ViewDefinition(columns=columns, sort=sort).model_dump(mode="json")
