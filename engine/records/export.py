"""Exporting a list view as CSV or XLSX: the caller's export scope and field mask, every page read.

Spreadsheet formula injection is defused: a text cell starting with = + - @ or a control
character is prefixed with an apostrophe, so Excel shows it as text instead of running it.
The XLSX writer here is the one every XLSX file of the engine is written with (chart exports,
import error reports).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from engine.auth.policy import Access, scope
from engine.core.db import Database
from engine.core.errors import Forbidden
from engine.records.query import ListQuery, build_select
from engine.records.reads import scoped
from engine.records.serialize import record_json
from engine.schema.model import CompiledEntity

PAGE = 1000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_SHEET_TITLE = 31  # Excel's limit
# openpyxl's ILLEGAL_CHARACTERS_RE, here so that importing the engine does not load openpyxl (0.3 s)
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def safe_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, dict):
        return value  # json fields are written as their JSON text by csv's str()
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export_columns(access: Access, entity: CompiledEntity, q: ListQuery) -> list[str]:
    s = scope(access, entity, "export")
    if not s.allowed:
        raise Forbidden(f"you may not export {entity.key} records")
    fields = q.fields or ["id", *s.visible_fields(), "owner", "created_at", "updated_at"]
    return [k for k in fields if k not in s.hidden]


async def export_csv(db: Database, access: Access, entity: CompiledEntity, q: ListQuery) -> AsyncIterator[bytes]:
    """CSV (UTF-8 with BOM, as Excel expects) of every record in the caller's export scope."""
    columns = export_columns(access, entity, q)
    yield "\ufeff".encode() + _line(columns)
    async for record in _records(db, access, entity, q):
        yield _line([safe_cell(record.get(k)) for k in columns])


async def export_xlsx(db: Database, access: Access, entity: CompiledEntity, q: ListQuery) -> bytes:
    """The same rows as an XLSX workbook (written row by row: openpyxl's write-only mode keeps no cell tree)."""
    columns = export_columns(access, entity, q)
    workbook, sheet = _workbook(entity.key)
    sheet.append([xlsx_cell(c) for c in columns])
    async for record in _records(db, access, entity, q):
        sheet.append([xlsx_cell(record.get(k)) for k in columns])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def _records(db: Database, access: Access, entity: CompiledEntity, q: ListQuery) -> AsyncIterator[dict[str, Any]]:
    """Every record in the caller's export scope, a page per read transaction."""
    s = scope(access, entity, "export")
    page = replace(q, limit=PAGE, after=None)
    while True:
        async with db.read() as conn:
            rows = (await conn.execute(scoped(build_select(entity, page), s))).all()
        for row in rows[:PAGE]:
            yield record_json(entity, row, None, s.hidden)
        if len(rows) <= PAGE:
            return
        last = rows[PAGE - 1]._mapping
        page = replace(page, after=([last[k.field.key] for k in page.sort], last["id"]))


def write_xlsx(header: list[str], rows: Iterable[list[Any]], title: str) -> bytes:
    """A one-sheet workbook, every cell defused (see xlsx_cell)."""
    workbook, sheet = _workbook(title)
    sheet.append([xlsx_cell(h) for h in header])
    for row in rows:
        sheet.append([xlsx_cell(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _workbook(title: str) -> tuple[Any, Any]:
    """A write-only workbook (rows stream into the file instead of building a cell tree) and its sheet."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    return workbook, workbook.create_sheet(title[:MAX_SHEET_TITLE] or "data")


def xlsx_cell(value: Any) -> Any:
    """Numbers and dates stay typed (so sums work); text is defused and loses the control characters
    that would make the file unreadable."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones; the engine's times are UTC
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, Decimal | date | time | timedelta):
        return value  # openpyxl writes them as numbers and dates
    cell = safe_cell(value if isinstance(value, str | list) else str(value))
    # Control characters other than tab and newlines make the file unreadable: they go.
    return ILLEGAL_CHARACTERS_RE.sub("", cell)


def _line(cells: list[Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue().encode()
