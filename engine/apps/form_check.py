"""What a form layout means against its entity: every field it names exists once, section keys and tabs
are coherent, form rules are conditions on the record's own fields, and line-item sections name a child
entity that links back. Every problem is collected with its JSON path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.core.errors import ErrorCollector
from engine.expr.condition import parse_condition
from engine.schema.model import CompiledEntity
from engine.schema.store import EntityStore

if TYPE_CHECKING:  # forms.py checks layouts with this module
    from engine.apps.forms import FormDefinition, LinesSection, Section

RULES = ("visible_when", "required_when", "read_only_when")
_UNHIDEABLE = "{!r} is required and has no default: it cannot be hidden"


async def check_meaning(
    conn: AsyncConnection, store: EntityStore, form: FormDefinition, entity: CompiledEntity, errors: ErrorCollector
) -> None:
    """Add an error for everything in `form` that does not fit `entity` (and its line-item entities)."""
    _keys_and_tabs(form, errors)
    seen: set[str] = set()
    for s, section in enumerate(form.sections):
        if section.collapsed and not section.collapsible:
            errors.add(f"/sections/{s}/collapsed", "not_collapsible", "only a collapsible section can start collapsed")
        if section.kind == "lines":
            lines = cast("LinesSection", section)
            _lines(lines, entity, await store.get_or_none(conn, entity.app, lines.entity), f"/sections/{s}", errors)
        else:
            _fields(cast("Section", section), entity, f"/sections/{s}", seen, errors)


def _keys_and_tabs(form: FormDefinition, errors: ErrorCollector) -> None:
    keys: set[str] = set()
    tabs: list[Any] = []
    tabbed = any(section.tab is not None for section in form.sections)
    for s, section in enumerate(form.sections):
        if section.key is not None:
            if section.key in keys:
                errors.add(f"/sections/{s}/key", "duplicate", f"section key {section.key!r} is used twice")
            keys.add(section.key)
        if tabbed and section.tab is None:
            errors.add(f"/sections/{s}/tab", "tab_missing", "either every section has a tab or none has")
        elif section.tab is not None and section.tab in tabs and tabs[-1] != section.tab:
            errors.add(f"/sections/{s}/tab", "tab_split", "the sections of one tab must follow each other")
        tabs.append(section.tab)


def _fields(section: Section, entity: CompiledEntity, path: str, seen: set[str], errors: ErrorCollector) -> None:
    if section.visible_when is not None:
        _condition(section.visible_when, entity, f"{path}/visible_when", errors)
        for key in _unhideable(entity, [i.field for i in section.items()]):
            errors.add(f"{path}/visible_when", "hidden_required", _UNHIDEABLE.format(key))
    for i, item in enumerate(section.items()):
        where = f"{path}/fields/{i}"
        if item.field not in entity.fields:
            errors.add(where, "unknown_field", f"{entity.key!r} has no field {item.field!r}")
            continue
        if item.field in seen:
            errors.add(where, "duplicate", f"field {item.field!r} is on the form twice")
        seen.add(item.field)
        for rule in RULES:
            doc = getattr(item, rule)
            if doc is not None:
                _condition(doc, entity, f"{where}/{rule}", errors)
        if item.visible_when is not None and _unhideable(entity, [item.field]):
            errors.add(f"{where}/visible_when", "hidden_required", _UNHIDEABLE.format(item.field))
        if item.read_only_when is not None and item.field in {k for _, k in _refs(item.read_only_when, "")}:
            errors.add(f"{where}/read_only_when", "self_reference", "a field cannot be read-only depending on its own value")


def _unhideable(entity: CompiledEntity, keys: list[str]) -> list[str]:
    """Fields the entity requires with no default: hiding them would make every save fail."""
    out = []
    for key in keys:
        f = entity.fields.get(key)
        if f is not None and f.cfg.required and f.cfg.default is None and not (f.type.generated or f.type.computed):
            out.append(key)
    return out


def _condition(doc: Any, entity: CompiledEntity, path: str, errors: ErrorCollector) -> None:
    """A form rule: the condition language on the record's own fields, `user`, `now`, `today`, relative dates."""
    paths = [(p, key) for p, key in _refs(doc, path) if "." in key]
    for p, key in paths:
        errors.add(p, "not_allowed", f"form rules use the record's own fields, not paths such as {key[:100]!r}")
    if not paths:
        parse_condition(doc, entity, errors, path)


def _refs(doc: Any, path: str) -> Iterator[tuple[str, str]]:
    """(JSON path, field key) of every field a condition reads, tolerant of malformed documents."""
    if not isinstance(doc, dict):
        return
    for group in ("all", "any"):
        if isinstance(doc.get(group), list):
            for i, item in enumerate(doc[group]):
                yield from _refs(item, f"{path}/{group}/{i}")
    if "not" in doc:
        yield from _refs(doc["not"], f"{path}/not")
    if isinstance(doc.get("field"), str):
        yield f"{path}/field", doc["field"]
    value = doc.get("value")
    if isinstance(value, dict) and isinstance(value.get("field"), str):
        yield f"{path}/value/field", value["field"]


def _lines(
    section: LinesSection, entity: CompiledEntity, child: CompiledEntity | None, path: str, errors: ErrorCollector
) -> None:
    if child is None:
        errors.add(f"{path}/entity", "unknown_entity", f"app {entity.app!r} has no entity {section.entity!r}")
        return
    link = child.fields.get(section.link)
    if link is None:
        errors.add(f"{path}/link", "unknown_field", f"{child.key!r} has no field {section.link!r}")
    elif link.cfg.type != "relation" or child.relation_target(link) != (entity.app, entity.key):
        errors.add(f"{path}/link", "wrong_target", f"{section.link!r} must be a relation of {child.key!r} to {entity.key!r}")
    seen: set[str] = set()
    for i, key in enumerate(section.fields):
        if key not in child.fields:
            errors.add(f"{path}/fields/{i}", "unknown_field", f"{child.key!r} has no field {key!r}")
        elif key == section.link:
            errors.add(f"{path}/fields/{i}", "not_allowed", f"{key!r} links each line to the record: it is not a column")
        elif key in seen:
            errors.add(f"{path}/fields/{i}", "duplicate", f"field {key!r} is in the grid twice")
        seen.add(key)
