"""System tables for identity: users, teams, roles, record shares and API tokens."""

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint, false

from engine.core.sql import IdType, JsonType, Timestamp, system_metadata

users = Table(
    "tg_users",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("locale", String(16), nullable=False, default="en"),
    Column("locale_chosen", Boolean, nullable=False, default=False, server_default=false()),  # else Accept-Language
    Column("time_zone", String(64), nullable=True),  # null: the installation's (TANGRAM_TIMEZONE)
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
    # Narrowing: a token never has more rights than its user, and may have fewer.
    Column("read_only", Boolean, nullable=False, default=False),
    Column("apps", JsonType, nullable=True),  # null: every app
    sqlite_autoincrement=True,
)

# Teams form a tree. `path` is the materialised chain of ids ("/1/4/9/"), so "my team and its
# sub-teams" is one indexed prefix match instead of a recursive query.
teams = Table(
    "tg_teams",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("key", String(63), nullable=False, unique=True),
    Column("label", JsonType, nullable=False),
    Column("parent_id", IdType, ForeignKey("tg_teams.id", ondelete="RESTRICT"), nullable=True),
    Column("manager_id", IdType, ForeignKey("tg_users.id", ondelete="SET NULL"), nullable=True),
    Column("path", String(1000), nullable=False, index=True),
    Column("created_at", Timestamp, nullable=False),
    sqlite_autoincrement=True,
)

user_teams = Table(
    "tg_user_teams",
    system_metadata,
    Column("user_id", IdType, ForeignKey("tg_users.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", IdType, ForeignKey("tg_teams.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("is_primary", Boolean, nullable=False, default=False),
)

roles = Table(
    "tg_roles",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("key", String(63), nullable=False, unique=True),
    Column("definition", JsonType, nullable=False),  # a validated RoleDefinition
    Column("builtin", Boolean, nullable=False, default=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
    sqlite_autoincrement=True,
)

user_roles = Table(
    "tg_user_roles",
    system_metadata,
    Column("user_id", IdType, ForeignKey("tg_users.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", IdType, ForeignKey("tg_roles.id", ondelete="CASCADE"), primary_key=True),
)

# Roles a team holds: every member of the team or of one of its sub-teams has them (engine/auth/access.py).
# The app settings page gives a team access to one app this way (engine/apps/app_admin.py).
team_roles = Table(
    "tg_team_roles",
    system_metadata,
    Column("team_id", IdType, ForeignKey("tg_teams.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", IdType, ForeignKey("tg_roles.id", ondelete="CASCADE"), primary_key=True, index=True),
)

# Explicit sharing of one record with a user or a team, beyond what their row scope shows them.
record_shares = Table(
    "tg_record_shares",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("app", String(63), nullable=False),
    Column("entity", String(63), nullable=False),
    Column("record_id", IdType, nullable=False),
    Column("user_id", IdType, ForeignKey("tg_users.id", ondelete="CASCADE"), nullable=True),
    Column("team_id", IdType, ForeignKey("tg_teams.id", ondelete="CASCADE"), nullable=True),
    Column("can_edit", Boolean, nullable=False, default=False),
    Column("created_at", Timestamp, nullable=False),
    Column("created_by", IdType, nullable=True),
    UniqueConstraint("app", "entity", "record_id", "user_id", "team_id"),
    sqlite_autoincrement=True,
)
Index("ix_tg_record_shares_user", record_shares.c.user_id, record_shares.c.app, record_shares.c.entity)
Index("ix_tg_record_shares_team", record_shares.c.team_id, record_shares.c.app, record_shares.c.entity)

# A first-password link for an invited user: the token (256-bit random) is shown once and stored as its
# SHA-256; it works once, until it expires, and a newer invitation for the same user replaces it.
invitations = Table(
    "tg_invitations",
    system_metadata,
    Column("id", IdType, primary_key=True, autoincrement=True),
    Column("user_id", IdType, ForeignKey("tg_users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
    Column("created_by", IdType, nullable=True),
    Column("expires_at", Timestamp, nullable=False),
    Column("used_at", Timestamp, nullable=True),
    sqlite_autoincrement=True,
)
