"""CSV import: UTF-8 (with or without BOM) or GB18030 (what Chinese Excel saves), comma, semicolon or tab."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

from engine.imports.formats import FileLimits, ImportFormat, Sheet, bad_file, check_header, limited_rows

# Control characters never found in a text file; tab, CR and LF are fine.
BINARY_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DELIMITERS = (",", ";", "\t")
MAX_CELL = 100_000  # characters: the longest long_text


def decode(data: bytes) -> str:
    if b"\x00" in data:
        raise bad_file("binary", "the file contains NUL bytes: it is not a CSV text file (UTF-16? save as 'CSV UTF-8')")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise bad_file("encoding", "the file is neither UTF-8 nor GB18030 text: save it as 'CSV UTF-8'") from None
    if BINARY_RE.search(text):
        raise bad_file("binary", "the file contains control characters: it is not a CSV text file")
    return text


def delimiter(first_line: str) -> str:
    """The separator the header uses most (Excel in some locales writes ';', TSV uses tabs)."""
    return max(DELIMITERS, key=first_line.count)


class CsvFormat(ImportFormat):
    key = "csv"
    extensions = (".csv", ".txt", ".tsv")

    def read(self, data: bytes, limits: FileLimits, sheet: str | None = None) -> Sheet:
        text = decode(data)
        sep = delimiter(text.split("\n", 1)[0])
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        try:
            header = check_header(next(reader, []), limits)
        except csv.Error as exc:
            raise bad_file("csv", f"the header row is not valid CSV: {exc}") from None
        return Sheet(header, limited_rows(_numbered(reader), len(header), limits))


def _numbered(reader: Any) -> Iterator[tuple[int, list[Any]]]:
    """Rows numbered as Excel shows them: the header is row 1, a quoted multi-line cell is one row."""
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise bad_file("csv", f"row {number + 1} is not valid CSV: {exc}") from None
        number += 1
        if any(len(c) > MAX_CELL for c in cells):
            raise bad_file("cell_too_long", f"row {number} has a cell longer than {MAX_CELL:,} characters")
        yield number, cells
