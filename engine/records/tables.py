"""System tables of the record service: the event outbox and remembered idempotent responses."""

from sqlalchemy import Column, Index, Integer, String, Table

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
