"""The app settings page offers an upgrade only when the catalog has a newer version of the package the app
was installed from (builder_ui/builder/apps.py `_upgrade`); a hand-built app has no package to upgrade."""

from __future__ import annotations

from pathlib import Path

from builder_ui.builder.apps import _upgrade
from engine.api.context import Context
from engine.apps.service import load
from tests.unit.apps.package_world import ADMIN
from tests.unit.apps.shop_package import MANIFEST, shop_files, write_package


async def test_a_newer_catalog_version_is_offered(ctx: Context, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    ctx.packages.catalog_dir = catalog
    write_package(catalog / "shop", shop_files())
    await ctx.packages.install(load(catalog / "shop"), ADMIN, sample=False)
    async with ctx.db.write() as conn:
        await ctx.schema.create_app(conn, "mine", {"en": "Mine"}, None)
    async with ctx.db.read() as conn:
        assert await _upgrade(ctx, conn, "shop") == {"package": "shop", "version": "1.0.0", "newer": None}
        assert await _upgrade(ctx, conn, "mine") is None
    write_package(catalog / "shop", shop_files(manifest_json=MANIFEST | {"version": "1.2.0"}))
    async with ctx.db.read() as conn:
        offer = await _upgrade(ctx, conn, "shop")
    assert offer is not None and offer["newer"] == {"catalog_key": "shop", "version": "1.2.0"}
