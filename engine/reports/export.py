"""A chart's data as a file: CSV (UTF-8 with BOM, as Excel expects) or XLSX.

Both are defused against spreadsheet formula injection the way record exports are (engine.records.export
.safe_cell): a text cell starting with = + - @, a tab or a carriage return gets an apostrophe in front, so a label
such as "=HYPERLINK(...)" is shown as text, never run. Numbers stay numbers (the XLSX cells are numeric, so
totals and pivots work on them); only text is touched.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from engine.records.export import safe_cell

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_SHEET_TITLE = 31  # Excel's limit


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return "\ufeff".encode() + out.getvalue().encode()


def to_xlsx(header: list[str], rows: list[list[Any]], title: str) -> bytes:
    workbook = Workbook(write_only=True)  # streams rows into the file instead of building a cell tree
    sheet = workbook.create_sheet(title[:MAX_SHEET_TITLE] or "data")
    sheet.append([_xlsx_cell(h) for h in header])
    for row in rows:
        sheet.append([_xlsx_cell(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return safe_cell(value)


def _xlsx_cell(value: Any) -> Any:
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
