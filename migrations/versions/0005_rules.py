"""rules and their execution log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tg_rules",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(63), nullable=False),
        sa.Column("key", sa.String(63), nullable=False),
        sa.Column("entity", sa.String(63), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_rules")),
        sa.UniqueConstraint("app", "key", name=op.f("uq_tg_rules_app_key")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_rules_entity", "tg_rules", ["app", "entity"])
    op.create_table(
        "tg_rule_runs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("rule_id", ID, nullable=False),
        sa.Column("record_id", ID, nullable=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("actions_done", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["tg_rules.id"], name=op.f("fk_tg_rule_runs_rule_id_tg_rules"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_rule_runs")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_rule_runs_rule", "tg_rule_runs", ["rule_id", "id"])
    op.create_table(
        "tg_rule_fires",
        sa.Column("rule_id", ID, nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("occurrence", sa.String(40), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["tg_rules.id"], name=op.f("fk_tg_rule_fires_rule_id_tg_rules"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("rule_id", "record_id", "occurrence", name=op.f("pk_tg_rule_fires")),
    )
    op.create_table(
        "tg_rule_counters",
        sa.Column("rule_id", ID, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["tg_rules.id"], name=op.f("fk_tg_rule_counters_rule_id_tg_rules"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("rule_id", "name", name=op.f("pk_tg_rule_counters")),
    )


def downgrade() -> None:
    op.drop_table("tg_rule_counters")
    op.drop_table("tg_rule_fires")
    op.drop_index("ix_tg_rule_runs_rule", table_name="tg_rule_runs")
    op.drop_table("tg_rule_runs")
    op.drop_index("ix_tg_rules_entity", table_name="tg_rules")
    op.drop_table("tg_rules")
