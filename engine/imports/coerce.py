"""Spreadsheet cells to the JSON values each field type's own parser accepts.

Only what spreadsheets need is added here (full-width digits, thousands separators, currency signs,
是/否, option labels, Chinese dates, Excel serial dates); the field type then parses and checks the
result exactly as it would an API value, so an import can never store what the API would refuse.
Relation and user cells become `Lookup`s, resolved for a whole batch at once (engine/imports/lookups.py).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from engine.imports.dates import from_serial, parse_date_text, parse_datetime_text
from engine.imports.formats import Formula
from engine.schema.definition import label_text
from engine.schema.field_types import InvalidValue
from engine.schema.field_types.formula import value_type
from engine.schema.model import BoundField

Coercer = Callable[[Any], Any]
TRUE_WORDS = frozenset({"是", "对", "真", "有", "yes", "y", "true", "t", "1", "on", "√", "✓"})
FALSE_WORDS = frozenset({"否", "错", "假", "无", "no", "n", "false", "f", "0", "off", "\u00d7", "✗"})  # \u00d7: times
CURRENCY_RE = re.compile(r"^(?:[¥$€£]|cny|rmb|usd|eur)\s*|\s*(?:元|人民币|cny|rmb|usd|eur)$", re.IGNORECASE)
GROUPED_RE = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")
PLAIN_RE = re.compile(r"^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
UNITS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}
SEPARATORS_RE = re.compile(r"[,;、|]")  # after NFKC, full-width commas and semicolons are plain ones
NAME_NOISE_RE = re.compile(r"[\s_\-.,:;()/\\'\"]+")


@dataclass(frozen=True)
class Lookup:
    """A relation or user cell: the text to find the target record (or user) by."""

    text: str


def is_blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def normal(text: str) -> str:
    """Case, width, space and punctuation insensitive form, for matching names and labels."""
    return NAME_NOISE_RE.sub("", unicodedata.normalize("NFKC", text).casefold())


def _refuse_formula(cell: Any) -> None:
    if isinstance(cell, Formula):
        raise InvalidValue("formula", "the cell holds a formula; formulas are not imported: paste the values instead")


def as_text(cell: Any) -> str:
    _refuse_formula(cell)
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # a phone number typed into Excel arrives as 13800138000.0
    if isinstance(cell, datetime):
        return cell.isoformat(sep=" ")
    if isinstance(cell, date | time):
        return cell.isoformat()
    return str(cell).strip()


def as_decimal(cell: Any, percent: bool = False) -> Decimal:
    _refuse_formula(cell)
    if isinstance(cell, bool | date | time):
        raise InvalidValue("type", "expected a number")
    if isinstance(cell, int | Decimal | float):
        # a float as the shortest text that reads back as it: 0.1, not 0.1000000000000000055
        number = Decimal(repr(cell)) if isinstance(cell, float) else Decimal(cell)
        if not number.is_finite():
            raise InvalidValue("type", "expected a finite number")
        return number
    text = unicodedata.normalize("NFKC", str(cell)).strip()
    negative = text.startswith("(") and text.endswith(")")  # accounting style (1,200.00)
    text = text.strip("()").strip()
    sign = "-" if text.startswith("-") or negative else ""
    text = CURRENCY_RE.sub("", text.lstrip("+-").strip()).strip()
    text, scale = _percent_and_units(text, percent)
    if GROUPED_RE.match(text):
        text = text.replace(",", "")
    text = text.replace(" ", "").replace("_", "")
    if not PLAIN_RE.match(text):
        raise InvalidValue("type", f"{str(cell)[:40]!r} is not a number")
    try:
        return Decimal(sign + text) * scale
    except InvalidOperation:
        raise InvalidValue("type", f"{str(cell)[:40]!r} is not a number") from None
    except ArithmeticError:  # decimal.Overflow / Underflow of 1e999999999 and the like
        raise InvalidValue("out_of_range", f"{str(cell)[:40]!r} is out of range") from None


def _percent_and_units(text: str, percent: bool) -> tuple[str, Decimal]:
    if text.endswith("%"):
        if not percent:
            raise InvalidValue("type", "a percentage (12%) fits only a percent field; give the number")
        return text[:-1].strip(), Decimal(1)  # a percent field stores 12 for 12 %
    if text and text[-1] in UNITS:
        return text[:-1].strip(), UNITS[text[-1]]
    return text, Decimal(1)


def as_integer(cell: Any) -> Any:
    number = as_decimal(cell)
    if number.adjusted() > 18:  # past any integer field (and int() of 1e999999999 would take minutes)
        return number  # the type refuses it as out of range
    return int(number) if number == number.to_integral_value() else number  # the type refuses a fraction


def as_boolean(cell: Any) -> bool:
    _refuse_formula(cell)
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, int | float) and cell in (0, 1):
        return bool(cell)
    word = unicodedata.normalize("NFKC", str(cell)).strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidValue("type", "expected yes or no (是/否, yes/no, true/false, 1/0, Y/N)")


def as_date(cell: Any) -> str:
    _refuse_formula(cell)
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return from_serial(cell).date().isoformat()
    return parse_date_text(str(cell)).isoformat()


def datetime_coercer(zone: ZoneInfo) -> Coercer:
    def coerce(cell: Any) -> str:
        _refuse_formula(cell)
        if isinstance(cell, datetime):
            return (cell if cell.tzinfo else cell.replace(tzinfo=zone)).isoformat()
        if isinstance(cell, date):
            return datetime.combine(cell, time(), tzinfo=zone).isoformat()
        if isinstance(cell, int | float) and not isinstance(cell, bool):
            return from_serial(cell).replace(tzinfo=zone).isoformat()
        return parse_datetime_text(str(cell), zone).isoformat()

    return coerce


def option_coercer(f: BoundField, value_map: dict[str, str] | None = None) -> Callable[[Any], str]:
    """Options by the user's value map (cell text -> key), by key or by any label, exactly or ignoring case,
    width, spaces and punctuation."""
    names: dict[str, str] = dict(value_map or {})
    for o in f.cfg.options:
        labels = o.label.values() if isinstance(o.label, dict) else [label_text(o.label)] if o.label else []
        for name in (o.key, *labels):
            names.setdefault(name, o.key)
            names.setdefault(normal(name), o.key)

    def coerce(cell: Any) -> str:
        text = as_text(cell)
        key = names.get(text) or names.get(normal(text))
        if key is None:
            choices = ", ".join(o.key for o in f.cfg.options)
            raise InvalidValue("unknown_option", f"{text[:100]!r} is not an option key or label; options: {choices}")
        return key

    return coerce


def multi_coercer(f: BoundField, value_map: dict[str, str] | None = None) -> Coercer:
    one = option_coercer(f, value_map)

    def coerce(cell: Any) -> list[str]:
        parts = SEPARATORS_RE.split(unicodedata.normalize("NFKC", as_text(cell)))
        return [one(p) for p in parts if p.strip()]

    return coerce


def as_json(cell: Any) -> Any:
    _refuse_formula(cell)
    if isinstance(cell, str):
        try:
            return json.loads(cell)
        except ValueError:
            return cell
    return as_text(cell) if isinstance(cell, date | time) else cell


def as_lookup(cell: Any) -> Lookup:
    return Lookup(as_text(cell))


def as_user(cell: Any) -> Lookup:
    return Lookup(as_text(cell).lower())


SIMPLE: dict[str, Coercer] = {
    "integer": as_integer,
    "decimal": as_decimal,
    "currency": as_decimal,
    "percent": lambda cell: as_decimal(cell, percent=True),
    "boolean": as_boolean,
    "date": as_date,
    "relation": as_lookup,
    "user": as_user,
    "json": as_json,
}


def option_parts(f: BoundField, cell: Any) -> list[str]:
    """The option texts of a select (one) or multi_select (several) cell, as the coercers read them."""
    if value_type(f.cfg) == "multi_select":
        return [p.strip() for p in SEPARATORS_RE.split(unicodedata.normalize("NFKC", as_text(cell))) if p.strip()]
    return [as_text(cell)]


def coercer(f: BoundField, zone: ZoneInfo, value_map: dict[str, str] | None = None) -> Coercer:
    """The cell converter of one field (text-like types take the cell's text)."""
    kind = value_type(f.cfg)
    if kind == "select":
        return option_coercer(f, value_map)
    if kind == "multi_select":
        return multi_coercer(f, value_map)
    if kind == "datetime":
        return datetime_coercer(zone)
    return SIMPLE.get(kind, as_text)
