"""delegations (tg_delegations) and the delegator of a task (tg_process_tasks.on_behalf_of)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tg_delegations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("delegate_id", ID, nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("app", sa.String(length=63), nullable=True),
        sa.Column("process", sa.String(length=63), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["tg_users.id"], name=op.f("fk_tg_delegations_user_id_tg_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["delegate_id"], ["tg_users.id"], name=op.f("fk_tg_delegations_delegate_id_tg_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_delegations")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_tg_delegations_user", "tg_delegations", ["user_id", "starts_at"], unique=False)
    with op.batch_alter_table("tg_process_tasks") as batch:
        batch.add_column(sa.Column("on_behalf_of", ID, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tg_process_tasks") as batch:
        batch.drop_column("on_behalf_of")
    op.drop_index("ix_tg_delegations_user", table_name="tg_delegations")
    op.drop_table("tg_delegations")
