"""System tables of imports: one row per import (its file, options, state and counts) and its row errors.

The file is kept in the row so the job that runs the import (possibly on another machine) reads exactly
what was uploaded. Errors live in their own table: an import of 100,000 bad rows appends them batch by
batch instead of rewriting one ever-growing document.
"""

from typing import Literal, get_args

from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, String, Table, Text

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

ImportState = Literal["queued", "running", "done", "failed"]
STATES: tuple[str, ...] = get_args(ImportState)

imports = Table(
    "tg_imports",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("state", String(16), nullable=False),
    Column("file_name", String(255), nullable=False),
    Column("format", String(16), nullable=False),  # an import format key: csv | xlsx
    Column("file", LargeBinary, nullable=False),
    Column("options", JsonType, nullable=False),  # ImportOptions, mapping included
    Column("total", Integer, nullable=False),  # data rows in the file (blank rows not counted)
    Column("processed", Integer, nullable=False),  # rows checked so far (and written, unless dry run)
    Column("created", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("message", Text, nullable=True),  # why a failed import stopped, for people
    Column("created_by", IdType, nullable=True),
    Column("token_id", IdType, nullable=True),  # the API token it was started with: the job keeps its narrowing
    Column("job_id", IdType, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Column("started_at", Timestamp, nullable=True),
    Column("finished_at", Timestamp, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_tg_imports_app_entity", imports.c.app, imports.c.entity)

import_errors = Table(
    "tg_import_errors",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("import_id", IdType, ForeignKey("tg_imports.id", ondelete="CASCADE"), nullable=False),
    Column("row", Integer, nullable=False),  # as the user sees it in Excel: the header is row 1
    Column("column", String(255), nullable=False),  # the header text ("" when the row as a whole failed)
    Column("value", Text, nullable=True),
    Column("code", String(63), nullable=False),
    Column("message", Text, nullable=False),
    sqlite_autoincrement=True,
)
Index("ix_tg_import_errors_import_id_row", import_errors.c.import_id, import_errors.c.row)
