"""System tables for metadata: apps, entity definitions and their versions, number sequences."""

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table, UniqueConstraint

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

apps = Table(
    "tg_apps",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("key", String(63), nullable=False, unique=True),
    Column("label", JsonType, nullable=False),
    Column("description", JsonType, nullable=True),
    Column("icon", String(40), nullable=True),  # a name from engine.schema.app_style.ICONS
    Column("color", String(7), nullable=True),  # "#rrggbb"
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("deleted_at", Timestamp, nullable=True),  # in the recycle bin since (its entities stay as they are)
    sqlite_autoincrement=True,
)

entities = Table(
    "tg_entities",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app_id", IdType, ForeignKey("tg_apps.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(63), nullable=False),
    Column("table_name", String(63), nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    # The published definition, plus fields removed from it whose columns are kept until purged.
    Column("definition", JsonType, nullable=False),
    Column("removed_fields", JsonType, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("deleted_at", Timestamp, nullable=True),
    UniqueConstraint("app_id", "key"),
    sqlite_autoincrement=True,
)

entity_versions = Table(
    "tg_entity_versions",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("entity_id", IdType, ForeignKey("tg_entities.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JsonType, nullable=False),
    Column("change", JsonType, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("created_by", IdType, nullable=True),
    UniqueConstraint("entity_id", "version"),
    sqlite_autoincrement=True,
)

sequences = Table(
    "tg_sequences",
    system_metadata,
    Column("name", String(200), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
