"""System table of the in-app notification inbox."""

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text

from engine.core.sql import IdType, Timestamp, system_metadata

notifications = Table(
    "tg_notifications",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("user_id", IdType, ForeignKey("tg_users.id", ondelete="CASCADE"), nullable=False),
    # An optional link to the record the notification is about.
    Column("app", String(63), nullable=True),
    Column("entity", String(63), nullable=True),
    Column("record_id", IdType, nullable=True),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False, default=""),
    Column("created_at", Timestamp, nullable=False),
    Column("read_at", Timestamp, nullable=True),
    # Set by a durable job: a replayed job finds its notifications already there and adds none.
    Column("dedup_key", String(255), nullable=True),
    sqlite_autoincrement=True,
)
# The inbox lists a user's notifications newest first; the partial index serves the unread badge.
Index("ix_tg_notifications_user", notifications.c.user_id, notifications.c.id)
Index(
    "ix_tg_notifications_unread",
    notifications.c.user_id,
    notifications.c.id,
    postgresql_where=notifications.c.read_at.is_(None),
    sqlite_where=notifications.c.read_at.is_(None),
)
Index(
    "uq_tg_notifications_dedup",
    notifications.c.user_id,
    notifications.c.dedup_key,
    unique=True,
    postgresql_where=notifications.c.dedup_key.is_not(None),
    sqlite_where=notifications.c.dedup_key.is_not(None),
)
