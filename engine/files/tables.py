"""The system table of files: one row per uploaded file, pending until a record save attaches it."""

from sqlalchemy import BigInteger, Column, Index, String, Table

from engine.core.sql import IdType, Timestamp, system_metadata

files = Table(
    "tg_files",
    system_metadata,
    Column("id", String(64), primary_key=True),  # random and unguessable (secrets.token_urlsafe)
    Column("app", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("field", String(63), nullable=False),
    Column("record_id", IdType, nullable=True),  # None while pending (uploaded, not yet saved on a record)
    Column("name", String(255), nullable=False),  # sanitised display name, never a storage path
    Column("content_type", String(255), nullable=False),  # sniffed from the bytes
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(255), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("created_by", IdType, nullable=True),
    Column("attached_at", Timestamp, nullable=True),
    Column("deleted_at", Timestamp, nullable=True),  # taken off its record or its record purged: swept
)
Index("ix_tg_files_record", files.c.app, files.c.entity, files.c.record_id)
