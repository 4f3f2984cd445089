"""The formula field type: a value computed from the record's other fields (and its child
records) by an expression, stored in its own column so lists, filters and reports read it
like any other field. Clients never write it; the record service recomputes it on every save.

The stored value is the one of the type `returns` names (a decimal with `scale` places, a long
text, a boolean, a date or a datetime): parsing, column and JSON Schema are that type's.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy.types import TypeEngine

from engine.core.errors import ErrorDetail
from engine.formula import FormulaError, parse_formula
from engine.formula.parser import MAX_LENGTH
from engine.schema.definition import FieldBase
from engine.schema.field_types.base import FieldType
from engine.schema.field_types.choice import BooleanConfig, BooleanType
from engine.schema.field_types.number import DecimalConfig, DecimalType
from engine.schema.field_types.temporal import DateConfig, DateTimeConfig, DateTimeType, DateType
from engine.schema.field_types.text import LongTextConfig, LongTextType

Returns = Literal["number", "text", "boolean", "date", "datetime"]
PRECISION = 15  # as decimal fields: every value survives JSON and SQLite's REAL unchanged


class FormulaConfig(FieldBase):
    type: Literal["formula"]
    expression: Annotated[str, Field(min_length=1, max_length=MAX_LENGTH, description="The formula, e.g. SUM(order_line.amount)")]
    returns: Returns = "number"
    scale: Annotated[int, Field(ge=0, le=10, description="Decimal places kept of a number result")] = 2


STORED_AS: dict[str, tuple[FieldType, type[FieldBase], dict[str, Any]]] = {
    "number": (DecimalType(), DecimalConfig, {"type": "decimal", "precision": PRECISION}),
    "text": (LongTextType(), LongTextConfig, {"type": "long_text"}),
    "boolean": (BooleanType(), BooleanConfig, {"type": "boolean"}),
    "date": (DateType(), DateConfig, {"type": "date"}),
    "datetime": (DateTimeType(), DateTimeConfig, {"type": "datetime"}),
}


def value_type(cfg: Any) -> str:
    """The field type whose values a field holds (a formula field's: the type it returns), which
    decides the operators conditions may apply to it and how its values are read."""
    return str(STORED_AS[cfg.returns][2]["type"]) if cfg.type == "formula" else str(cfg.type)


def stored(cfg: FormulaConfig) -> tuple[FieldType, Any]:
    """The field type and config that store this formula's values."""
    return _stored(cfg.key, cfg.returns, cfg.scale)


@lru_cache(maxsize=4096)
def _stored(key: str, returns: str, scale: int) -> tuple[FieldType, Any]:
    # cached by hashable parts: a config with a locale-map label (a dict) cannot be a cache key
    ftype, config, fixed = STORED_AS[returns]
    extra = {"scale": scale} if returns == "number" else {}
    return ftype, config.model_validate({"key": key, **fixed, **extra})


class FormulaType(FieldType):
    key = "formula"
    config = FormulaConfig
    computed = True

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        ftype, inner = stored(cfg)
        return ftype.column_type(inner)

    def parse(self, cfg: Any, value: Any) -> Any:
        """A value of the result type (conditions and filters compare formula fields with these)."""
        ftype, inner = stored(cfg)
        return ftype.parse(inner, value)

    def dump(self, cfg: Any, value: Any) -> Any:
        ftype, inner = stored(cfg)
        return ftype.dump(inner, value)

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        ftype, inner = stored(cfg)
        return ftype.value_schema(inner) | {"readOnly": True}

    def indexable(self, cfg: Any) -> str | None:
        if cfg.returns == "text":
            return "a text formula can be long, so it cannot be indexed"
        return None

    def extra_checks(self, cfg: Any) -> list[ErrorDetail]:
        errors = []
        try:
            parse_formula(cfg.expression)
        except FormulaError as exc:
            errors.append(ErrorDetail("/expression", "formula", str(exc)))
        for flag in ("required", "unique"):
            if getattr(cfg, flag):
                errors.append(ErrorDetail(f"/{flag}", "not_allowed", f"a formula field's value is computed; it cannot be {flag}"))
        return errors

    def change_blocker(self, old: Any, new: Any) -> str | None:
        if old.type == new.type and old.returns != new.returns:
            return f"{old.key!r} cannot change what it returns; add a new formula field instead"
        return super().change_blocker(old, new)
