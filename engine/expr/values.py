"""API JSON records (engine/records/serialize.py output, e.g. an event's before/after) back to the
native values a row holds, so the Python back end sees exactly what the SQL back end compares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.core.jsonvalues import to_utc
from engine.expr.fields import SYSTEM_FIELDS
from engine.expr.operators import NUMERIC
from engine.schema.field_types.formula import value_type
from engine.schema.model import CompiledEntity


def _decimal(value: Any) -> Decimal:
    # The API writes decimals as JSON numbers (floats whose shortest repr is the exact value).
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value  # an expanded relation


LOADERS: dict[str, Callable[[Any], Any]] = {
    "date": date.fromisoformat,
    "datetime": lambda v: to_utc(datetime.fromisoformat(v)),
    **{t: _decimal for t in NUMERIC - {"integer"}},
    "relation": _id,
    "user": _id,
}


def native_record(entity: CompiledEntity, record_json: Mapping[str, Any]) -> dict[str, Any]:
    """The record's fields and system fields as native values; keys the entity does not have are left out."""
    out: dict[str, Any] = {}
    for key, value in record_json.items():
        f = entity.fields.get(key) or SYSTEM_FIELDS.get(key)
        if key == "deleted_at":
            out[key] = None if value is None else LOADERS["datetime"](value)
        elif f is not None:
            load = LOADERS.get(value_type(f.cfg))
            out[key] = value if value is None or load is None else load(value)
    return out
