"""Exporting a list view as CSV: the caller's export scope and field mask, every page streamed.

Spreadsheet formula injection is defused: a text cell starting with = + - @ or a control
character is prefixed with an apostrophe, so Excel shows it as text instead of running it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
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
    s = scope(access, entity, "export")
    yield "\ufeff".encode() + _line(columns)
    page = replace(q, limit=PAGE, after=None)
    while True:
        async with db.read() as conn:
            rows = (await conn.execute(scoped(build_select(entity, page), s))).all()
        for row in rows[:PAGE]:
            record = record_json(entity, row, None, s.hidden)
            yield _line([safe_cell(record.get(k)) for k in columns])
        if len(rows) <= PAGE:
            return
        last = rows[PAGE - 1]._mapping
        page = replace(page, after=([last[k.field.key] for k in page.sort], last["id"]))


def _line(cells: list[Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue().encode()
