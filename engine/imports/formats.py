"""Import formats: each reads one kind of file into a header and numbered rows of cells.

A format is a small class registered by key (csv, xlsx) in a registry built at start-up, like field
types. Anything wrong with the file as a whole (too big, not the format it claims, a ZIP bomb, too many
columns) is refused up front with a 422 at "/file", before an import is stored; problems with single
cells are row errors found later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

from engine.core.errors import ErrorDetail, ValidationFailed
from engine.core.registry import Registry
from engine.core.settings import Settings

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # Excel 97-2003 .xls


@dataclass(frozen=True)
class FileLimits:
    max_bytes: int
    max_rows: int
    max_columns: int
    max_unzipped_bytes: int  # what an XLSX may expand to: a few MB that inflate to gigabytes is a ZIP bomb

    @classmethod
    def from_settings(cls, settings: Settings) -> FileLimits:
        return cls(
            settings.max_import_bytes, settings.max_import_rows, settings.max_import_columns, settings.max_import_bytes * 20
        )


@dataclass
class Sheet:
    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]  # (row number as Excel shows it, cells); blank rows skipped
    sheets: list[str] = field(default_factory=list)  # a workbook's sheet names, in order (CSV: none)


class Formula(str):
    """An XLSX cell holding a formula: imported as nothing, reported as a row error (paste values instead)."""


def bad_file(code: str, message: str) -> ValidationFailed:
    return ValidationFailed("The file cannot be imported", errors=[ErrorDetail("/file", code, message)])


class ImportFormat:
    key: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]

    def read(self, data: bytes, limits: FileLimits, sheet: str | None = None) -> Sheet:
        """The header and rows of the named sheet (None: the first; a format without sheets ignores it)."""
        raise NotImplementedError


def check_header(cells: list[Any], limits: FileLimits) -> list[str]:
    """Header texts, trailing blanks dropped; a duplicate would make the mapping ambiguous."""
    header = ["" if c is None else str(c).strip() for c in cells]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise bad_file("no_header", "the first row must hold the column names; it is empty")
    if len(header) > limits.max_columns:
        raise bad_file("too_many_columns", f"{len(header):,} columns; at most {limits.max_columns:,}")
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name and name in seen:
            raise bad_file("duplicate_column", f"the column {name[:100]!r} appears twice (columns {seen[name]} and {i})")
        seen.setdefault(name, i)
    return header


def limited_rows(rows: Iterator[tuple[int, list[Any]]], width: int, limits: FileLimits) -> Iterator[tuple[int, list[Any]]]:
    """Data rows cut to the header's width, blank ones skipped, refused past the row limit."""
    count = 0
    for number, cells in rows:
        cells = list(cells[:width]) + [None] * (width - len(cells))
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        count += 1
        if count > limits.max_rows:
            raise bad_file("too_many_rows", f"more than {limits.max_rows:,} rows; split the file")
        yield number, cells


def detect(file_name: str, data: bytes) -> str:
    """The format of an upload, from its first bytes first (a renamed file is still what it is)."""
    if data.startswith(OLE_MAGIC):
        raise bad_file("unsupported_format", "Excel 97-2003 (.xls) files are not supported: save the sheet as .xlsx or CSV")
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if file_name.lower().endswith((".xlsx", ".xlsm")):
        raise bad_file("not_xlsx", "the file is named .xlsx but is not an Excel workbook")
    return "csv"


def register_builtins(registry: Registry[ImportFormat]) -> Registry[ImportFormat]:
    from engine.imports.csv_format import CsvFormat
    from engine.imports.xlsx_format import XlsxFormat

    for cls in (CsvFormat, XlsxFormat):
        registry.register(cls())
    return registry


@lru_cache
def import_formats() -> Registry[ImportFormat]:
    return register_builtins(Registry("import format"))


def read_sheet(format_key: str, data: bytes, limits: FileLimits, sheet: str | None = None) -> Sheet:
    fmt = import_formats().get(format_key)
    if fmt is None:
        raise bad_file("unsupported_format", f"unknown import format {format_key[:20]!r}; use csv or xlsx")
    if len(data) > limits.max_bytes:
        raise bad_file("too_large", f"the file is larger than {limits.max_bytes:,} bytes")
    if not data.strip():
        raise bad_file("empty", "the file is empty")
    return fmt.read(data, limits, sheet)
