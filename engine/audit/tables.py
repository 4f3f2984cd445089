"""The audit log table. Append-only: the database refuses UPDATE and DELETE on it (migration 0002)."""

from sqlalchemy import Column, Index, String, Table

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

audit_log = Table(
    "tg_audit_log",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("at", Timestamp, nullable=False),
    # record.created | record.updated | record.deleted | record.restored | record.purged |
    # auth.login | auth.login_failed | token.created | token.revoked | user.* | team.* | role.* | share.*
    Column("action", String(40), nullable=False),
    Column("actor_id", IdType, nullable=True),
    Column("token_id", IdType, nullable=True),
    Column("source", String(16), nullable=False),
    Column("app", String(63), nullable=True),
    Column("entity", String(63), nullable=True),
    Column("record_id", IdType, nullable=True),
    Column("subject", String(320), nullable=True),  # e.g. the email of a login attempt
    Column("ip", String(64), nullable=True),
    Column("changes", JsonType, nullable=True),  # {"field": [old, new], ...}
    Column("detail", JsonType, nullable=True),
    sqlite_autoincrement=True,
)
Index("ix_tg_audit_log_record", audit_log.c.app, audit_log.c.entity, audit_log.c.record_id, audit_log.c.id)
Index("ix_tg_audit_log_action_at", audit_log.c.action, audit_log.c.at)
