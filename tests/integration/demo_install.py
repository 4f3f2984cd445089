"""Installs the catalog's CRM package for the demo-data tests with the real installer (engine/apps)."""

from __future__ import annotations

from sqlalchemy import delete

from engine.api.context import Context
from engine.apps.service import load
from engine.auth.policy import Access
from engine.auth.tables import roles as role_table


async def install_crm(ctx: Context, *, roles: bool = True) -> None:
    """The CRM as `tangram install crm` makes it; without its roles when `roles` is False (the demo then
    warns and creates its users without them)."""
    await ctx.packages.install(load(ctx.packages.catalog_package("crm")), Access.system(source="test"))
    if not roles:
        async with ctx.db.write() as conn:
            await conn.execute(delete(role_table).where(role_table.c.key.startswith("crm_")))
