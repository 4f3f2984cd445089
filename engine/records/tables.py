"""System tables of the record service: the event outbox, remembered idempotent responses and saved views."""

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, false

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

# Outbox: each record change writes its domain event in the same transaction. Rules, processes,
# webhooks and the audit log consume it; `processed_at` is for the durable dispatcher.
events = Table(
    "tg_events",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("record_id", IdType, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("before", JsonType, nullable=True),
    Column("after", JsonType, nullable=True),
    # The definition version the change was made under (runtime state pins its definition).
    Column("entity_version", Integer, nullable=False),
    Column("actor_id", IdType, nullable=True),
    Column("token_id", IdType, nullable=True),
    Column("source", String(16), nullable=False),
    Column("occurred_at", Timestamp, nullable=False),
    Column("processed_at", Timestamp, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_tg_events_entity_record", events.c.app, events.c.entity, events.c.record_id)
Index(
    "ix_tg_events_unprocessed",
    events.c.id,
    postgresql_where=events.c.processed_at.is_(None),
    sqlite_where=events.c.processed_at.is_(None),
)

idempotency_keys = Table(
    "tg_idempotency_keys",
    system_metadata,
    Column("user_id", IdType, primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JsonType, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

# Saved views of an entity's list (engine.records.views): personal (shared_with null) or shared with a
# role key or "*". At most one shared view per entity is its default (a partial unique index).
views = Table(
    "tg_views",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("name", JsonType, nullable=False),  # a Label: text or {"zh-CN": .., "en": ..}
    # null once the author's account is deleted: a personal view then belongs to no one, a shared one stays
    Column("owner_id", IdType, ForeignKey("tg_users.id", ondelete="SET NULL"), nullable=True),
    Column("shared_with", String(63), nullable=True),
    Column("is_default", Boolean, nullable=False, default=False, server_default=false()),
    Column("definition", JsonType, nullable=False),  # a checked ViewDefinition
    Column("version", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    Column("created_by", IdType, nullable=True),
    Column("updated_by", IdType, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_tg_views_entity", views.c.app, views.c.entity)
Index(
    "uq_tg_views_default",
    views.c.app,
    views.c.entity,
    unique=True,
    postgresql_where=views.c.is_default,
    sqlite_where=views.c.is_default,
)
