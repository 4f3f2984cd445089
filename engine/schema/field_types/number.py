"""Numeric field types: integer, decimal, currency, percent.

Decimals are exact: request bodies are parsed with Decimal floats, values with more places than the
field's scale are refused (never silently rounded), and precision is capped at 15 digits so every
value survives a JSON number and SQLite's REAL storage unchanged.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import BigInteger, Numeric, literal, or_
from sqlalchemy.types import TypeEngine

from engine.core.errors import ErrorDetail
from engine.schema.definition import FieldBase, Number
from engine.schema.field_types.base import FieldType, InvalidValue

INT64 = 2**63 - 1
NUMERIC_TYPES = frozenset({"decimal", "currency", "percent"})


class Bounds(FieldBase):
    min: Number | None = None
    max: Number | None = None


class IntegerConfig(Bounds):
    type: Literal["integer"]


class DecimalConfig(Bounds):
    type: Literal["decimal"]
    precision: Annotated[int, Field(ge=1, le=15)] = 15
    scale: Annotated[int, Field(ge=0, le=10)] = 2


class CurrencyConfig(DecimalConfig):
    type: Literal["currency"]  # type: ignore[assignment]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"


class PercentConfig(DecimalConfig):
    """Stored as the percentage number: 12.5 means 12.5 %."""

    type: Literal["percent"]  # type: ignore[assignment]
    precision: Annotated[int, Field(ge=1, le=15)] = 7


def _as_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidValue("type", "expected a number")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise InvalidValue("type", "expected a number") from None
    if not number.is_finite():
        raise InvalidValue("type", "expected a finite number")
    return number


def _digits_before_point(number: Decimal) -> int:
    """How many digits `number` has before its decimal point (0 for |number| < 1), read from its
    exponent: arithmetic on 1e999999999 would overflow the decimal context (or take forever)."""
    return max(number.adjusted() + 1, 0) if number else 0


def _num(value: Decimal) -> Any:
    # An unconstrained NUMERIC bind: casting a limit to the column's own NUMERIC(p, s) could overflow.
    return literal(value, Numeric())


def _outside_terms(cfg: Any, column: Any) -> list[Any]:
    terms = []
    if cfg.min is not None:
        terms.append(column < _num(cfg.min))
    if cfg.max is not None:
        terms.append(column > _num(cfg.max))
    return terms


def _outside(cfg: Any, column: Any) -> Any:
    terms = _outside_terms(cfg, column)
    return or_(*terms) if terms else None


class NumberType(FieldType):
    def check_bounds(self, cfg: Any, number: Decimal) -> None:
        if cfg.min is not None and number < cfg.min:
            raise InvalidValue("min", f"must be at least {cfg.min}")
        if cfg.max is not None and number > cfg.max:
            raise InvalidValue("max", f"must be at most {cfg.max}")

    def extra_checks(self, cfg: Any) -> list[ErrorDetail]:
        if cfg.min is not None and cfg.max is not None and cfg.min > cfg.max:
            return [ErrorDetail("/min", "range", "min is greater than max")]
        return []

    def bounds_schema(self, cfg: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if cfg.min is not None:
            out["minimum"] = float(cfg.min)
        if cfg.max is not None:
            out["maximum"] = float(cfg.max)
        return out


class IntegerType(NumberType):
    key = "integer"
    config = IntegerConfig
    widens_to = NUMERIC_TYPES

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return BigInteger()

    def parse(self, cfg: Any, value: Any) -> Any:
        if isinstance(value, str):
            raise InvalidValue("type", "expected an integer")
        number = _as_decimal(value)
        if _digits_before_point(number) > 19 or not -INT64 <= number <= INT64:
            raise InvalidValue("out_of_range", "integer out of range")
        if number != number.to_integral_value():
            raise InvalidValue("type", "expected an integer")
        self.check_bounds(cfg, number)
        return int(number)

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "integer"} | self.bounds_schema(cfg)

    def violation(self, cfg: Any, column: Any, old: Any = None) -> Any:
        return _outside(cfg, column)


class DecimalType(NumberType):
    key = "decimal"
    config = DecimalConfig
    widens_to = NUMERIC_TYPES

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return Numeric(cfg.precision, cfg.scale, asdecimal=True)

    def parse(self, cfg: Any, value: Any) -> Any:
        number = _as_decimal(value)
        if _digits_before_point(number) > cfg.precision - cfg.scale:
            raise InvalidValue("out_of_range", f"at most {cfg.precision - cfg.scale} digits before the decimal point")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > cfg.scale and number != round(number, cfg.scale):
            raise InvalidValue("scale", f"at most {cfg.scale} decimal places")
        number = round(number, cfg.scale)
        if abs(number) >= Decimal(10) ** (cfg.precision - cfg.scale):
            raise InvalidValue("out_of_range", f"at most {cfg.precision - cfg.scale} digits before the decimal point")
        self.check_bounds(cfg, number)
        return number

    def extra_checks(self, cfg: Any) -> list[ErrorDetail]:
        errors = super().extra_checks(cfg)
        if cfg.scale > cfg.precision:
            errors.append(ErrorDetail("/scale", "range", f"scale ({cfg.scale}) cannot exceed precision ({cfg.precision})"))
        return errors

    def violation(self, cfg: Any, column: Any, old: Any = None) -> Any:
        limit = Decimal(10) ** (cfg.precision - cfg.scale)
        return or_(column >= _num(limit), column <= _num(-limit), *_outside_terms(cfg, column))

    def dump(self, cfg: Any, value: Any) -> Any:
        # Exact for precision <= 15: float's shortest repr round-trips every such decimal.
        return float(value)

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        # Not multipleOf: validators test it in binary floating point and refuse 19.99 at scale 2.
        return {"type": "number", "description": f"at most {cfg.scale} decimal places"} | self.bounds_schema(cfg)

    def change_blocker(self, old: Any, new: Any) -> str | None:
        blocker = super().change_blocker(old, new)
        if blocker is None and (new.scale < old.scale or new.precision - new.scale < old.precision - old.scale):
            return f"narrowing {old.key!r} to precision {new.precision}, scale {new.scale} could lose data"
        return blocker


class CurrencyType(DecimalType):
    key = "currency"
    config = CurrencyConfig  # type: ignore[assignment]


class PercentType(DecimalType):
    key = "percent"
    config = PercentConfig  # type: ignore[assignment]
