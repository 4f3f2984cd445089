"""Imports every system table (auth, schema, records) so the shared MetaData is complete (for alembic and tests)."""

from engine.auth import tables as auth_tables
from engine.core.sql import system_metadata
from engine.records import tables as record_tables
from engine.schema import tables as schema_tables

__all__ = ["auth_tables", "record_tables", "schema_tables", "system_metadata"]
