"""invitations: single-use, expiring first-password links (tg_invitations)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tg_invitations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", ID, nullable=True),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["tg_users.id"], name=op.f("fk_tg_invitations_user_id_tg_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tg_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_tg_invitations_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_tg_invitations_user_id"), "tg_invitations", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tg_invitations_user_id"), table_name="tg_invitations")
    op.drop_table("tg_invitations")
