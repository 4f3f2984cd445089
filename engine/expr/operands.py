"""The value side of a comparison: a literal parsed by the field's own type, another field
(`{"field": "close_date"}`), a variable (`{"var": "today"}`), or a relative-date span."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.core.errors import ErrorCollector
from engine.expr.dates import Span
from engine.expr.fields import Ref
from engine.expr.operators import CLOCK_UNITS, LIST_VALUE, MAX_AMOUNT, SET_MATCH, TEXT_MATCH, UNITS, VARIABLES, family
from engine.formula.env import Env
from engine.schema.field_types import InvalidValue
from engine.schema.model import BoundField

# Relaxed when parsing operands: a filter may compare with values the field would not store.
RELAXED = {"min": None, "max": None, "min_length": None, "max_length": 1_000_000, "pattern": None, "max_items": None}
INVALID: Any = object()  # parsing failed; the reason is in the ErrorCollector


@dataclass(frozen=True)
class Var:
    """A value taken from the Env when the condition runs: now, today, user or user.team."""

    name: str

    @property
    def read(self) -> Callable[[Env], Any]:
        return VAR_VALUES[self.name]


VAR_VALUES: dict[str, Callable[[Env], Any]] = {
    "now": lambda env: env.now,
    "today": lambda env: env.today,
    "user": lambda env: env.user_id,
    "user.team": lambda env: env.user_team_id,
}


def parse_operand(f: BoundField, raw: Any, text_match: bool = False) -> Any:
    """A value to compare a field with: parsed by the field's type, minus the limits that only
    apply to stored values (a filter may look for budgets below the field's minimum)."""
    if text_match or f.type.generated:  # fragments of text; auto numbers compare as text
        if not isinstance(raw, str) or "\x00" in raw:
            raise InvalidValue("type", "expected a string")
        return raw
    relaxed = f.cfg.model_copy(update={k: v for k, v in RELAXED.items() if k in type(f.cfg).model_fields})
    return f.type.parse(relaxed, raw)


def literal(f: BoundField, op: str, raw: Any, errors: ErrorCollector, path: str) -> Any:
    """One literal value, or INVALID with the reason in `errors`."""
    if raw is None:
        errors.add(path, "null", "compare with null using is_empty / is_not_empty")
        return INVALID
    if isinstance(raw, dict):
        errors.add(path, "type", 'a value is a literal, {"field": "<path>"} or {"var": "now|today|user|user.team"}')
        return INVALID
    try:
        return parse_operand(f, raw, text_match=op in TEXT_MATCH)
    except InvalidValue as exc:
        errors.add(path, exc.code, exc.message)
        return INVALID


def values(f: BoundField, op: str, raw: Any, errors: ErrorCollector, path: str) -> Any:
    """The list value of in / not_in / between / has_any / has_all."""
    if op in SET_MATCH:
        if not isinstance(raw, list) or not raw:
            errors.add(path, "type", f"{op} takes a non-empty list of option keys")
            return INVALID
        return literal(f, op, raw, errors, path)
    size_ok = isinstance(raw, list) and (1 <= len(raw) <= 1000 if op in LIST_VALUE else len(raw) == 2)
    if not size_ok:
        errors.add(path, "type", f"{op} takes {'a list of 1-1000 values' if op in LIST_VALUE else 'a list [low, high]'}")
        return INVALID
    parsed = [literal(f, op, v, errors, f"{path}/{i}") for i, v in enumerate(raw)]
    return INVALID if any(v is INVALID for v in parsed) else parsed


def span(kind: str, raw: Any, errors: ErrorCollector, path: str) -> Span | Any:
    """{"amount": N, "unit": "days"} for older_than / within_last / within_next."""
    if not isinstance(raw, dict) or set(raw) != {"amount", "unit"}:
        errors.add(path, "type", 'expected {"amount": <whole number>, "unit": "minutes|hours|days|weeks|months"}')
        return INVALID
    amount, unit = raw["amount"], raw["unit"]
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_AMOUNT:
        errors.add(f"{path}/amount", "type", f"amount is a whole number from 0 to {MAX_AMOUNT}")
        return INVALID
    if unit not in UNITS or (unit in CLOCK_UNITS and kind != "datetime"):
        allowed = UNITS if kind == "datetime" else tuple(u for u in UNITS if u not in CLOCK_UNITS)
        errors.add(f"{path}/unit", "unknown_unit", f"unit of a {kind} field is one of {', '.join(allowed)}")
        return INVALID
    return Span(amount, unit)


def variable(left: Ref, raw: Any, errors: ErrorCollector, path: str) -> Var | Any:
    name = raw.get("var")
    if name not in VARIABLES:
        errors.add(f"{path}/var", "unknown_var", f"variables are {', '.join(VARIABLES)}")
        return INVALID
    if left.kind not in VARIABLES[name]:
        errors.add(path, "type_mismatch", f"{name} compares with {_kinds(VARIABLES[name])} fields, not a {left.kind} field")
        return INVALID
    return Var(name)


def other_field(left: Ref, right: Ref | None, raw: Any, errors: ErrorCollector, path: str) -> Ref | Any:
    """Another field of the record (resolved by the caller, who knows the entity and targets)."""
    if right is None:
        errors.add(f"{path}/field", "unknown_field", f"unknown field {str(raw.get('field'))[:100]!r}")
        return INVALID
    same = family(left.kind) == family(right.kind) and left.relation_target == right.relation_target
    if not same:
        errors.add(path, "type_mismatch", f"a {left.kind} field cannot be compared with a {right.kind} field")
        return INVALID
    return right


def _kinds(kinds: frozenset[str]) -> str:
    return " or ".join(sorted(kinds))
