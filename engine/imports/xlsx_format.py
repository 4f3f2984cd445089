"""XLSX import through openpyxl in read-only mode (defusedxml guards its XML), after a ZIP bomb check.

Cells keep their types: numbers, booleans, dates and datetimes arrive as such; a percent-formatted number
arrives as the text Excel shows ("12%"); a formula arrives as `Formula` so it is reported, never run.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from openpyxl import load_workbook

from engine.core.errors import ErrorDetail, ValidationFailed
from engine.imports.formats import FileLimits, Formula, ImportFormat, Sheet, bad_file, check_header, limited_rows

MAX_MEMBERS = 10_000
MAX_RATIO = 200  # XML sheets compress well, but not 200:1 unless they are padding


def check_zip(data: bytes, limits: FileLimits) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise bad_file("not_xlsx", "the file is not a valid XLSX workbook (a damaged ZIP)") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS or "xl/workbook.xml" not in archive.namelist():
            raise bad_file("not_xlsx", "the file is a ZIP archive but not an Excel workbook")
        total = sum(m.file_size for m in members)
        packed = max(1, sum(m.compress_size for m in members))
        if total > limits.max_unzipped_bytes or (total > 10 * 1024 * 1024 and total / packed > MAX_RATIO):
            raise bad_file("zip_bomb", f"the workbook unpacks to {total:,} bytes from {len(data):,}: refused as a ZIP bomb")


class XlsxFormat(ImportFormat):
    key = "xlsx"
    extensions = (".xlsx", ".xlsm")

    def read(self, data: bytes, limits: FileLimits, sheet: str | None = None) -> Sheet:
        check_zip(data, limits)
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        except Exception as exc:  # openpyxl raises many kinds for a broken workbook; defusedxml for entity tricks
            raise bad_file("not_xlsx", f"the workbook cannot be read: {type(exc).__name__}") from None
        names = list(workbook.sheetnames)
        if sheet is not None and sheet not in names:
            workbook.close()
            missing = ErrorDetail("/sheet", "unknown_sheet", f"the workbook has no sheet {sheet[:100]!r}")
            raise ValidationFailed("The file cannot be imported", errors=[missing])
        rows = _rows((workbook[sheet] if sheet is not None else workbook.worksheets[0]).iter_rows())
        try:
            first = next(rows, (1, []))
        except Exception as exc:
            raise bad_file("not_xlsx", f"the sheet cannot be read: {type(exc).__name__}") from None
        header = check_header(first[1], limits)
        return Sheet(header, limited_rows(_closing(rows, workbook), len(header), limits), names)


def _rows(cells_by_row: Iterator[Any]) -> Iterator[tuple[int, list[Any]]]:
    for number, cells in enumerate(cells_by_row, start=1):
        yield number, [_value(c) for c in cells]


def _closing(rows: Iterator[tuple[int, list[Any]]], workbook: Any) -> Iterator[tuple[int, list[Any]]]:
    try:
        yield from rows
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:
        raise bad_file("not_xlsx", f"the sheet cannot be read: {type(exc).__name__}") from None
    finally:
        workbook.close()


def _value(cell: Any) -> Any:
    value = cell.value
    if value is None:
        return None
    if getattr(cell, "data_type", None) == "f":
        return Formula(str(getattr(value, "text", value)))  # an ArrayFormula keeps its text in .text
    if isinstance(value, int | float) and not isinstance(value, bool) and "%" in (cell.number_format or ""):
        return f"{(Decimal(str(value)) * 100).normalize():f}%"  # what Excel shows: 0.125 formatted 0.0% is "12.5%"
    return value
