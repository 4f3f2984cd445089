"""Dates and times as spreadsheets hold them: ISO, 2026/3/1, 2026年3月1日, 20260301, Excel serial numbers
and real date cells. A time without a zone is read in the installation's time zone."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.schema.field_types import InvalidValue

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 (Excel counts a 29 February 1900 that never was)
MAX_SERIAL = 2_958_465  # 9999-12-31
DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
TIME_RE = re.compile(r"^(\d{1,2})\s*[:时點点]\s*(\d{1,2})\s*(?:[:分]\s*(\d{1,2})(?:\.(\d{1,6}))?\s*秒?)?\s*分?$")
ZONE_RE = re.compile(r"(Z|z|[+-]\d{2}:?\d{2})$")
DATE_HINT = "expected a date such as 2026-03-01, 2026/3/1, 2026年3月1日 or 20260301"
DATETIME_HINT = "expected a date and time such as 2026-03-01 09:30 or 2026年3月1日 9:30"


def _text(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def from_serial(serial: float) -> datetime:
    if not 1 <= serial <= MAX_SERIAL:
        raise InvalidValue("format", f"{serial:g} is not an Excel date serial number")
    return datetime.combine(EXCEL_EPOCH, time()) + timedelta(days=serial)


def parse_date_text(value: str) -> date:
    text = _text(value)
    match = DATE_RE.match(text) or COMPACT_RE.match(text)
    if match is None:
        head = re.split(r"[\sT]", text, maxsplit=1)[0]  # "2026-03-01 00:00:00" as Excel writes a date into CSV
        match = DATE_RE.match(head) if head != text and _is_midnight(text[len(head) :]) else None
    if match is None:
        raise InvalidValue("format", DATE_HINT)
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise InvalidValue("format", f"{text[:40]!r} is not a real date") from None


def _is_midnight(rest: str) -> bool:
    return rest.strip().replace("T", "") in ("00:00", "00:00:00", "0:00", "0:00:00")


def parse_datetime_text(value: str, zone: ZoneInfo) -> datetime:
    text = _text(value)
    offset = ZONE_RE.search(text)
    if offset and re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text):
        try:
            return datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise InvalidValue("format", DATETIME_HINT) from None
    day_part, _, time_part = re.sub(r"(日)\s*", r"\1 ", text).replace("T", " ").partition(" ")
    try:
        day = parse_date_text(day_part)
    except InvalidValue:
        raise InvalidValue("format", DATETIME_HINT) from None
    clock = time()
    if time_part.strip():
        match = TIME_RE.match(time_part.strip())
        if match is None:
            raise InvalidValue("format", DATETIME_HINT)
        hour, minute, second, micro = match.groups()
        try:
            clock = time(int(hour), int(minute), int(second or 0), int((micro or "0").ljust(6, "0")))
        except ValueError:
            raise InvalidValue("format", f"{time_part.strip()[:20]!r} is not a real time of day") from None
    return datetime.combine(day, clock, tzinfo=zone)
