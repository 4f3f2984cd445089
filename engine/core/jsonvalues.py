"""How values the engine holds natively (datetimes, dates, Decimals) are written as JSON: one rule for
API responses, webhook bodies and anything else that leaves the process."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any


def to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a "Z", the form every datetime takes in our JSON."""
    if value.tzinfo is not UTC:
        value = to_utc(value)
    return value.isoformat().replace("+00:00", "Z")


def json_default(value: Any) -> Any:
    """`default=` for json.dumps: datetimes as UTC ISO strings, dates as ISO dates, Decimals as
    integers when whole, else floats (what JSON clients expect of a number)."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def jsonable(value: Any) -> Any:
    """A structure of native values as plain JSON values (for JSON columns and responses), by the
    same rules as `json_default`; anything else becomes its text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date | Decimal):
        return json_default(value)
    return str(value)
