"""Date and time field types. Datetimes are stored in UTC; a value without an offset is read as UTC."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator
from sqlalchemy import Date, or_
from sqlalchemy.types import TypeEngine

from engine.core.errors import ErrorDetail
from engine.core.jsonvalues import iso_utc, to_utc
from engine.core.sql import UTCDateTime
from engine.schema.definition import FieldBase
from engine.schema.field_types.base import FieldType, InvalidValue

# RFC 3339 forms only: Python also reads "20260101" or week dates, which clients would not expect.
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|z|[+-]\d{2}:\d{2})?$")


class DateConfig(FieldBase):
    type: Literal["date"]
    min: date | None = None
    max: date | None = None


def _in_utc_range(value: datetime | None) -> datetime | None:
    if value is not None:
        try:
            to_utc(value)
        except OverflowError:
            raise ValueError("date-time out of range") from None
    return value


UtcBound = Annotated[datetime | None, AfterValidator(_in_utc_range)]


class DateTimeConfig(FieldBase):
    type: Literal["datetime"]
    min: UtcBound = None
    max: UtcBound = None


class TemporalType(FieldType):
    def check_bounds(self, cfg: Any, value: Any) -> None:
        lo, hi = self.bound(cfg.min), self.bound(cfg.max)
        if lo is not None and value < lo:
            raise InvalidValue("min", f"must be on or after {cfg.min.isoformat()}")
        if hi is not None and value > hi:
            raise InvalidValue("max", f"must be on or before {cfg.max.isoformat()}")

    def bound(self, value: Any) -> Any:
        return value

    def violation(self, cfg: Any, column: Any, old: Any = None) -> Any:
        lo, hi = self.bound(cfg.min), self.bound(cfg.max)
        terms = ([column < lo] if lo is not None else []) + ([column > hi] if hi is not None else [])
        return or_(*terms) if terms else None

    def extra_checks(self, cfg: Any) -> list[ErrorDetail]:
        lo, hi = self.bound(cfg.min), self.bound(cfg.max)
        if lo is not None and hi is not None and lo > hi:
            return [ErrorDetail("/min", "range", "min is after max")]
        return []


class DateType(TemporalType):
    key = "date"
    config = DateConfig

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return Date()

    def parse(self, cfg: Any, value: Any) -> Any:
        if not isinstance(value, str):
            raise InvalidValue("type", "expected a date string YYYY-MM-DD")
        if not DATE_RE.match(value):
            raise InvalidValue("format", "expected a date YYYY-MM-DD")
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            raise InvalidValue("format", "expected a date YYYY-MM-DD") from None
        self.check_bounds(cfg, parsed)
        return parsed

    def dump(self, cfg: Any, value: Any) -> Any:
        return value.isoformat()

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "string", "format": "date"}


class DateTimeType(TemporalType):
    key = "datetime"
    config = DateTimeConfig

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return UTCDateTime()

    def bound(self, value: Any) -> Any:
        return None if value is None else to_utc(value)

    def parse(self, cfg: Any, value: Any) -> Any:
        if not isinstance(value, str):
            raise InvalidValue("type", "expected an ISO 8601 date-time string")
        if not DATETIME_RE.match(value):
            raise InvalidValue("format", "expected an ISO 8601 date-time, e.g. 2026-11-23T09:30:00+08:00")
        try:
            parsed = to_utc(datetime.fromisoformat(value))
        except OverflowError:  # 9999-12-31T23:00-05:00 is past the last representable instant
            raise InvalidValue("out_of_range", "date-time out of range") from None
        except ValueError:
            raise InvalidValue("format", "expected an ISO 8601 date-time, e.g. 2026-11-23T09:30:00+08:00") from None
        self.check_bounds(cfg, parsed)
        return parsed

    def dump(self, cfg: Any, value: Any) -> Any:
        return iso_utc(value)

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}
