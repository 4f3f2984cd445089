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
from typing import Any

from engine.records.export import XLSX_TYPE as XLSX_TYPE  # re-exported: the reports API names it from here
from engine.records.export import safe_cell, write_xlsx

CSV_TYPE = "text/csv; charset=utf-8"


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([_csv_cell(v) for v in row] for row in rows)
    return "\ufeff".encode() + out.getvalue().encode()


def to_xlsx(header: list[str], rows: list[list[Any]], title: str) -> bytes:
    return write_xlsx(header, rows, title)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return safe_cell(value)
