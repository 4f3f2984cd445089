"""Values that actions write: a JSON literal, parsed by the target field's type when the rule is saved,
or `{"formula": "..."}` computed from the triggering record when the action runs.

    {"status": "qualified", "score": {"formula": "score + 10"}, "due": {"formula": "DATE_ADD(TODAY(), 3, 'days')"}}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.core.errors import pointer
from engine.expr.fields import SYSTEM_FIELDS
from engine.formula import FormulaError, check, compile_python, parse_formula
from engine.formula.env import Env
from engine.rules.actions.base import ActionFailed, Check
from engine.schema.field_types import InvalidValue
from engine.schema.formulas import entity_kinds, field_kind
from engine.schema.model import BoundField, CompiledEntity

NUMERIC = {"integer", "decimal", "currency", "percent"}


@dataclass(frozen=True)
class Value:
    field: BoundField
    literal: Any = None
    formula: Callable[[Mapping[str, Any], Env], Any] | None = None

    def compute(self, record: Mapping[str, Any], env: Env) -> Any:
        """The native value to store in `field`."""
        if self.formula is None:
            return self.literal
        return coerce(self.field, self.formula(record, env))


def compile_values(
    doc: Mapping[str, Any], target: CompiledEntity, source: CompiledEntity, check_: Check, at: str
) -> dict[str, Value]:
    """Values for fields of `target`, formulas over records of `source` (the triggering entity)."""
    out = {}
    for key, raw in doc.items():
        path = check_.at(at) + pointer(key)
        f = SYSTEM_FIELDS["owner"] if key == "owner" else target.fields.get(key)
        if f is None or f.type.generated or f.type.computed:
            check_.errors.add(path, "unknown_field", f"{key!r} is not a writable field of {target.key!r}")
            continue
        value = _compile(f, raw, source, check_, path)
        if value is not None:
            out[key] = value
    return out


def _compile(f: BoundField, raw: Any, source: CompiledEntity, check_: Check, path: str) -> Value | None:
    if isinstance(raw, dict) and set(raw) == {"formula"} and isinstance(raw["formula"], str):
        try:
            formula = parse_formula(raw["formula"])
            kind = check(formula, entity_kinds(f.cfg for f in source.fields.values()))
        except FormulaError as exc:
            check_.errors.add(path + "/formula", "formula", str(exc))
            return None
        expected = field_kind(f.cfg)
        if kind not in (expected, "null") and not (expected == "id" and kind == "number"):
            check_.errors.add(path + "/formula", "type", f"the formula gives a {kind}; {f.key!r} needs a {expected}")
            return None
        return Value(f, formula=compile_python(formula))
    if raw is None:
        if f.cfg.required:
            check_.errors.add(path, "required", f"{f.key!r} is required")
            return None
        return Value(f, literal=None)
    try:
        return Value(f, literal=f.parse(raw))
    except InvalidValue as exc:
        check_.errors.add(path, exc.code, exc.message)
        return None


def coerce(f: BoundField, value: Any) -> Any:
    """A formula's result as the field stores it: numbers rounded to the field's scale; a result
    the field refuses (out of range, not an option) fails the action with the field's message."""
    if value is None:
        return None
    if f.cfg.type in NUMERIC and isinstance(value, int | Decimal):
        scale = 0 if f.cfg.type == "integer" else f.cfg.scale
        value = Decimal(value).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    try:
        return f.parse(f.type.dump(f.cfg, value) if f.cfg.type not in NUMERIC else value)
    except InvalidValue as exc:
        raise ActionFailed(f"{f.key}: {exc.message}") from exc
