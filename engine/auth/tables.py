"""System tables for identity: users and API tokens."""

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, Text

from engine.core.sql import IdType, Timestamp, system_metadata

users = Table(
    "tg_users",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("locale", String(16), nullable=False, default="en"),
    Column("password_hash", Text, nullable=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", Timestamp, nullable=False),
    sqlite_autoincrement=True,
)

api_tokens = Table(
    "tg_api_tokens",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("user_id", IdType, ForeignKey("tg_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False, default=""),
    # SHA-256 of the token: tokens are 256-bit random, so a fast hash is safe and lookups stay O(1).
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=True),
    Column("revoked_at", Timestamp, nullable=True),
    Column("last_used_at", Timestamp, nullable=True),
    sqlite_autoincrement=True,
)
