"""identity and audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:35:32.118538
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tg_audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("token_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("app", sa.String(length=63), nullable=True),
        sa.Column("entity", sa.String(length=63), nullable=True),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("subject", sa.String(length=320), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column(
            "changes",
            sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "detail",
            sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_audit_log")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("tg_audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_tg_audit_log_action_at", ["action", "at"], unique=False)
        batch_op.create_index("ix_tg_audit_log_record", ["app", "entity", "record_id", "id"], unique=False)

    op.create_table(
        "tg_roles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=63), nullable=False),
        sa.Column(
            "definition",
            sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_roles")),
        sa.UniqueConstraint("key", name=op.f("uq_tg_roles_key")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "tg_teams",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=63), nullable=False),
        sa.Column(
            "label",
            sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("manager_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["tg_users.id"], name=op.f("fk_tg_teams_manager_id_tg_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["tg_teams.id"], name=op.f("fk_tg_teams_parent_id_tg_teams"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_teams")),
        sa.UniqueConstraint("key", name=op.f("uq_tg_teams_key")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("tg_teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tg_teams_path"), ["path"], unique=False)

    op.create_table(
        "tg_user_roles",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["role_id"], ["tg_roles.id"], name=op.f("fk_tg_user_roles_role_id_tg_roles"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["tg_users.id"], name=op.f("fk_tg_user_roles_user_id_tg_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_tg_user_roles")),
    )
    op.create_table(
        "tg_record_shares",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("can_edit", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"], ["tg_teams.id"], name=op.f("fk_tg_record_shares_team_id_tg_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["tg_users.id"], name=op.f("fk_tg_record_shares_user_id_tg_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_record_shares")),
        sa.UniqueConstraint(
            "app",
            "entity",
            "record_id",
            "user_id",
            "team_id",
            name=op.f("uq_tg_record_shares_app_entity_record_id_user_id_team_id"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("tg_record_shares", schema=None) as batch_op:
        batch_op.create_index("ix_tg_record_shares_team", ["team_id", "app", "entity"], unique=False)
        batch_op.create_index("ix_tg_record_shares_user", ["user_id", "app", "entity"], unique=False)

    op.create_table(
        "tg_user_teams",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["tg_teams.id"], name=op.f("fk_tg_user_teams_team_id_tg_teams"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["tg_users.id"], name=op.f("fk_tg_user_teams_user_id_tg_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "team_id", name=op.f("pk_tg_user_teams")),
    )
    with op.batch_alter_table("tg_user_teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tg_user_teams_team_id"), ["team_id"], unique=False)

    with op.batch_alter_table("tg_api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("read_only", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(
            sa.Column(
                "apps",
                sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )

    _append_only()


# The audit log is append-only at the database level too: no code path, ours or a careless
# script's, can rewrite history.
def _append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION tg_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'tg_audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER tg_audit_log_append_only BEFORE UPDATE OR DELETE ON tg_audit_log "
            "FOR EACH ROW EXECUTE FUNCTION tg_audit_log_append_only()"
        )
        # TRUNCATE fires no row triggers: refuse it with a statement trigger.
        op.execute(
            "CREATE TRIGGER tg_audit_log_no_truncate BEFORE TRUNCATE ON tg_audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION tg_audit_log_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER tg_audit_log_no_{event.lower()} BEFORE {event} ON tg_audit_log "
                "BEGIN SELECT RAISE(ABORT, 'tg_audit_log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS tg_audit_log_no_truncate ON tg_audit_log")
        op.execute("DROP TRIGGER IF EXISTS tg_audit_log_append_only ON tg_audit_log")
        op.execute("DROP FUNCTION IF EXISTS tg_audit_log_append_only()")
    with op.batch_alter_table("tg_api_tokens", schema=None) as batch_op:
        batch_op.drop_column("apps")
        batch_op.drop_column("read_only")

    with op.batch_alter_table("tg_user_teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tg_user_teams_team_id"))

    op.drop_table("tg_user_teams")
    with op.batch_alter_table("tg_record_shares", schema=None) as batch_op:
        batch_op.drop_index("ix_tg_record_shares_user")
        batch_op.drop_index("ix_tg_record_shares_team")

    op.drop_table("tg_record_shares")
    op.drop_table("tg_user_roles")
    with op.batch_alter_table("tg_teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tg_teams_path"))

    op.drop_table("tg_teams")
    op.drop_table("tg_roles")
    with op.batch_alter_table("tg_audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_tg_audit_log_record")
        batch_op.drop_index("ix_tg_audit_log_action_at")

    op.drop_table("tg_audit_log")
