"""The error report of an import as a file: one line per problem (row as Excel numbers it, column header,
the cell, a code and a message), CSV (UTF-8 with BOM) or XLSX, defused against formula injection like
every export: a bad cell such as "=HYPERLINK(...)" is echoed as text, never run."""

from __future__ import annotations

import csv
import io

from engine.imports.runner import RowError
from engine.records.export import XLSX_TYPE, safe_cell, write_xlsx

HEADER = ["row", "column", "value", "code", "message"]
CSV_TYPE = "text/csv; charset=utf-8"


def _cells(e: RowError) -> list[object]:
    return [e.row, e.column, e.value, e.code, e.message]


def error_report(errors: list[RowError], fmt: str) -> tuple[bytes, str]:
    """(file content, media type) for fmt csv or xlsx."""
    if fmt == "xlsx":
        return write_xlsx(HEADER, (_cells(e) for e in errors), "errors"), XLSX_TYPE
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows([safe_cell(c) for c in _cells(e)] for e in errors)
    return "\ufeff".encode() + out.getvalue().encode(), CSV_TYPE
