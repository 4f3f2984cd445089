"""Imports every system table (auth, schema, records) so the shared MetaData is complete (for alembic and tests)."""

from engine.apps import tables as app_tables
from engine.audit import tables as audit_tables
from engine.auth import tables as auth_tables
from engine.core.sql import system_metadata
from engine.files import tables as file_tables
from engine.imports import tables as import_tables
from engine.jobs import tables as job_tables
from engine.notify import tables as notify_tables
from engine.process import tables as process_tables
from engine.records import tables as record_tables
from engine.records.dedup import tables as dedup_tables
from engine.reports import tables as report_tables
from engine.rules import tables as rule_tables
from engine.schema import tables as schema_tables

__all__ = [
    "app_tables",
    "audit_tables",
    "auth_tables",
    "dedup_tables",
    "file_tables",
    "import_tables",
    "job_tables",
    "notify_tables",
    "process_tables",
    "record_tables",
    "report_tables",
    "rule_tables",
    "schema_tables",
    "system_metadata",
]
