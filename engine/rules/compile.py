"""A rule checked against its entity and compiled once: condition -> Python callable, actions ->
prepared steps. Cached by (rule id, version) by the engine; `check_rule` is also the 422 path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from engine.core.errors import ErrorCollector, pydantic_errors
from engine.expr.condition import Compare, Group, Node, Not, parse_condition
from engine.expr.paths import required_paths
from engine.expr.to_python import compile_python
from engine.formula.env import Env
from engine.rules.actions import Action, Check, actions
from engine.rules.definition import OnDate, OnFieldChange, RuleDefinition
from engine.schema.model import CompiledEntity

CHANGE_AWARE = ("updated", "saved", "field_changed")


@dataclass(frozen=True)
class Step:
    action: Action
    prepared: Any


@dataclass(frozen=True)
class CompiledRule:
    id: int
    version: int
    app: str
    definition: RuleDefinition
    condition: Node | None
    matches: Callable[[Mapping[str, Any], Env], bool]
    # The condition as judged later, with no change in view (after a wait, on a schedule).
    still_matches: Callable[[Mapping[str, Any], Env], bool]
    paths: frozenset[str]
    steps: tuple[Step, ...]

    @property
    def key(self) -> str:
        return self.definition.key


def _always(record: Mapping[str, Any], env: Env) -> bool:
    return True


def check_rule(
    rule: RuleDefinition,
    entity: CompiledEntity,
    entities: Mapping[str, CompiledEntity],
    errors: ErrorCollector,
    processes: bool = False,
) -> tuple[Node | None, tuple[Step, ...]]:
    """Check a rule's meaning against its entity; problems go to `errors` with JSON paths."""
    _check_trigger(rule, entity, errors)
    node = None
    if rule.condition is not None:
        allow = rule.trigger.type in CHANGE_AWARE
        node = parse_condition(rule.condition, entity, errors, "/condition", entities=entities, allow_changes=allow)
    steps = []
    for i, doc in enumerate(rule.actions):
        step = _step(rule, doc, Check(entity, entities, errors, f"/actions/{i}", rule.when, processes))
        if step is not None:
            steps.append(step)
    return node, tuple(steps)


def compile_rule(
    row_id: int, version: int, app: str, rule: RuleDefinition, entity: CompiledEntity, entities: Mapping[str, CompiledEntity]
) -> CompiledRule:
    errors = ErrorCollector()
    node, steps = check_rule(rule, entity, entities, errors, processes=True)
    # A stored rule was valid when saved; a later change of the entity can break it: refuse to run it.
    errors.raise_if_any(f"rule {rule.key!r} no longer fits entity {entity.key!r}")
    matches = _always if node is None else compile_python(node)
    steady_node = None if node is None else steady(node)
    still = _always if steady_node is None else compile_python(steady_node)
    paths = frozenset() if node is None else frozenset(required_paths(node))
    return CompiledRule(row_id, version, app, rule, node, matches, still, paths, steps)


def steady(node: Node) -> Node | None:
    """The condition without change operators, for judging a record when no change is in view
    (the recheck after a wait): `changed_to X` becomes `= X` (the field must still hold what it
    changed to); `changed` and `changed_from` are dropped. None when nothing is left."""
    if isinstance(node, Group):
        items = tuple(n for n in (steady(i) for i in node.items) if n is not None)
        return Group(node.kind, items) if items else None
    if isinstance(node, Not):
        inner = steady(node.item)
        return None if inner is None else Not(inner)
    if node.op == "changed_to":
        return Compare(node.ref, "eq", node.value)
    return None if node.op in ("changed", "changed_from") else node


def _check_trigger(rule: RuleDefinition, entity: CompiledEntity, errors: ErrorCollector) -> None:
    trigger = rule.trigger
    if isinstance(trigger, OnFieldChange):
        for i, key in enumerate(trigger.fields):
            if key not in entity.fields and key != "owner":
                errors.add(f"/trigger/fields/{i}", "unknown_field", f"unknown field {key!r}")
    if isinstance(trigger, OnDate):
        f = entity.fields.get(trigger.field)
        kind = f.cfg.type if f is not None else ("datetime" if trigger.field in ("created_at", "updated_at") else None)
        if kind not in ("date", "datetime"):
            errors.add("/trigger/field", "type", f"{trigger.field!r} is not a date or datetime field")
        elif kind == "date" and trigger.offset.unit in ("minutes", "hours"):
            errors.add("/trigger/offset/unit", "unit", "a date field counts in days, weeks or months")


def _step(rule: RuleDefinition, doc: dict[str, Any], check: Check) -> Step | None:
    kind = doc.get("type")
    action = actions().get(kind) if isinstance(kind, str) else None
    if action is None:
        check.errors.add(check.at("type"), "unknown_action", f"unknown action {str(kind)[:50]!r}; use one of {actions().keys()}")
        return None
    try:
        cfg = action.config.model_validate(doc)
    except ValidationError as exc:
        check.errors.extend(pydantic_errors(exc), prefix=check.path)
        return None
    if rule.when not in action.phases:
        check.errors.add(check.at("type"), "phase", f"{kind} cannot run {rule.when.replace('_', ' ')}")
        return None
    if _loops(rule, action, cfg):
        check.errors.add(
            check.path, "cycle",
            f"{kind} changes the record after every update, which would trigger this rule again: run it before the "
            "save (when: before_save) or trigger on changes of other fields (field_changed)",
        )  # fmt: skip
        return None
    return Step(action, action.prepare(cfg, check))


def _loops(rule: RuleDefinition, action: Action, cfg: Any) -> bool:
    """An after-save rule that re-triggers itself on every run: refused when it is defined."""
    if rule.when != "after_save" or not action.writes_record:
        return False
    if rule.trigger.type in ("updated", "saved"):
        return True
    if isinstance(rule.trigger, OnFieldChange):
        written = set(getattr(cfg, "values", None) or ()) | {getattr(cfg, "field", None)}
        if action.key == "assign_owner":
            written.add("owner")
        return bool(written & set(rule.trigger.fields))
    return False
