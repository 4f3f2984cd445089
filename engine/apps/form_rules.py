"""Form rules enforced on the server: two record-service before-save steps (wired in api/context.py) that
judge a person's create or update by the rules of the entity's record form, evaluated with the Python
back end of the condition language on the record as it will be saved.

- `screen` (first step, on the person's input): a value sent for a field that is not visible is
  ignored (an update keeps the stored value, a create the field's default); a change to a field that is
  read-only here is refused (`read_only`).
- `require` (after rules and formulas set their values): a visible field required here and empty is
  refused (`required`).
Only people's writes (sources api and ui) are judged: rules, processes, imports, installs and demo data
write what they must, and history loads (automation paused) are not wired to these steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.apps.forms import FormDefinition, FormService, field_sections
from engine.core.actor import Actor
from engine.core.clock import Clock
from engine.core.errors import ErrorCollector, pointer
from engine.expr.condition import parse_condition
from engine.expr.fields import SYSTEM_FIELDS
from engine.expr.to_python import Predicate, compile_python
from engine.formula.env import Env
from engine.records.events import PendingChange
from engine.schema.field_types.formula import value_type
from engine.schema.model import CompiledEntity

PEOPLE = frozenset({"api", "ui", "public_form"})  # the sources whose writes a form's rules judge


@dataclass(frozen=True)
class FieldRule:
    """One field's rules: it is visible when every `visible` predicate holds (its section's and its own)."""

    key: str
    visible: tuple[Predicate, ...] = ()
    required: Predicate | None = None
    read_only: Predicate | None = None

    def shown(self, record: Mapping[str, Any], env: Env) -> bool:
        return all(p(record, env) for p in self.visible)


def compile_rules(form: FormDefinition, entity: CompiledEntity) -> tuple[FieldRule, ...]:
    """The fields of `form` that have rules, with each condition compiled once. A condition that no
    longer fits the entity (a field since removed) is left out, as if it were not there."""
    out = []
    for _, section in field_sections(form):
        shown = _predicate(section.visible_when, entity)
        for item in section.items():
            if item.field not in entity.fields:
                continue
            visible = tuple(p for p in (shown, _predicate(item.visible_when, entity)) if p is not None)
            rule = FieldRule(item.field, visible, _predicate(item.required_when, entity), _predicate(item.read_only_when, entity))
            if rule.visible or rule.required or rule.read_only:
                out.append(rule)
    return tuple(out)


def _predicate(doc: Any, entity: CompiledEntity) -> Predicate | None:
    if doc is None:
        return None
    errors = ErrorCollector()
    node = parse_condition(doc, entity, errors)
    return None if node is None or errors else compile_python(node)


def field_kinds(entity: CompiledEntity) -> dict[str, str]:
    """Field key -> kind ("text", "datetime", "json"...) for the browser evaluator's `env.kinds`."""
    fields = {**SYSTEM_FIELDS, **entity.fields}
    return {key: value_type(f.cfg) for key, f in fields.items()}


def is_empty(value: Any) -> bool:
    """What `required` means by empty: no value, an empty text or an empty list."""
    return value is None or value == "" or value == []


@dataclass
class FormRules:
    forms: FormService
    clock: Clock
    timezone: str = "UTC"
    _compiled: dict[tuple[Any, ...], tuple[FieldRule, ...]] = field(default_factory=dict)

    async def rules(self, conn: AsyncConnection, entity: CompiledEntity) -> tuple[FieldRule, ...]:
        """The compiled rules of the entity's record form (none without a form), cached per form and entity version."""
        row = await self.forms.record_row(conn, entity.app, entity.key)
        if row is None:
            return ()
        key = (entity.app, entity.key, entity.version, row.id, row.version)
        if key not in self._compiled:
            self._compiled = {k: v for k, v in self._compiled.items() if k[:2] != key[:2]}  # one entry per entity
            self._compiled[key] = compile_rules(FormDefinition.model_validate(row.definition), entity)
        return self._compiled[key]

    def env(self, actor: Actor) -> Env:
        team = getattr(actor, "primary_team_id", None)
        return Env(now=self.clock.now(), tz=ZoneInfo(self.timezone), user_id=actor.user_id, user_team_id=team)

    async def screen(self, conn: AsyncConnection, entity: CompiledEntity, actor: Actor, changes: list[PendingChange]) -> None:
        """Ignore values sent for hidden fields; refuse changes to read-only ones."""
        rules = await self.rules(conn, entity) if actor.source in PEOPLE else ()
        if not rules:
            return
        env = self.env(actor)
        for change in changes:
            record = change.merged
            for rule in rules:
                if rule.key not in change.values:
                    continue
                old = _old(entity, change, rule.key)
                if not rule.shown(record, env):
                    _ignore(entity, change, rule.key)
                elif rule.read_only and rule.read_only(record, env) and change.values[rule.key] != old:
                    change.errors.add(change.path + pointer(rule.key), "read_only", f"{rule.key!r} is read-only here")

    async def require(self, conn: AsyncConnection, entity: CompiledEntity, actor: Actor, changes: list[PendingChange]) -> None:
        """Refuse a visible field that a rule requires and that is empty, on the record about to be saved."""
        rules = await self.rules(conn, entity) if actor.source in PEOPLE else ()
        rules = tuple(r for r in rules if r.required is not None)
        if not rules:
            return
        env = self.env(actor)
        for change in changes:
            record = change.merged
            for rule in rules:
                assert rule.required is not None
                if is_empty(record.get(rule.key)) and rule.shown(record, env) and rule.required(record, env):
                    change.errors.add(change.path + pointer(rule.key), "required", f"{rule.key!r} is required here")


def _old(entity: CompiledEntity, change: PendingChange, key: str) -> Any:
    """The value a field has without this write: stored (update) or its default (create)."""
    if change.before is not None:
        return change.before.get(key)
    f = entity.fields[key]
    return f.default_value if f.cfg.default is not None else None


def _ignore(entity: CompiledEntity, change: PendingChange, key: str) -> None:
    if change.before is None and entity.fields[key].cfg.default is not None:
        change.values[key] = _old(entity, change, key)
    else:
        change.values.pop(key)
