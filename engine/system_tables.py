"""Imports every system table (auth, schema, records) so the shared MetaData is complete (for alembic and tests)."""

from engine.audit import tables as audit_tables
from engine.auth import tables as auth_tables
from engine.core.sql import system_metadata
from engine.records import tables as record_tables
from engine.schema import tables as schema_tables

__all__ = ["audit_tables", "auth_tables", "record_tables", "schema_tables", "system_metadata"]
