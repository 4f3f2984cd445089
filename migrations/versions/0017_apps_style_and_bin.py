"""apps get an icon, a colour and a recycle bin (tg_apps.icon, .color, .deleted_at); teams hold roles (tg_team_roles)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("tg_apps") as batch:
        batch.add_column(sa.Column("icon", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("color", sa.String(length=7), nullable=True))
        batch.add_column(sa.Column("deleted_at", TS, nullable=True))
    op.create_table(
        "tg_team_roles",
        sa.Column("team_id", ID, nullable=False),
        sa.Column("role_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["tg_teams.id"], name=op.f("fk_tg_team_roles_team_id_tg_teams"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["role_id"], ["tg_roles.id"], name=op.f("fk_tg_team_roles_role_id_tg_roles"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "role_id", name=op.f("pk_tg_team_roles")),
    )
    op.create_index(op.f("ix_tg_team_roles_role_id"), "tg_team_roles", ["role_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tg_team_roles_role_id"), table_name="tg_team_roles")
    op.drop_table("tg_team_roles")
    with op.batch_alter_table("tg_apps") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("color")
        batch.drop_column("icon")
