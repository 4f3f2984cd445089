"""Installing a package on a real database (SQLite and PostgreSQL): every kind of definition through its
own service, sample data without automation, and all-or-nothing failures located in their files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.api.context import Context
from engine.apps.definitions import Definitions
from engine.apps.tables import app_installs
from engine.audit.tables import audit_log
from engine.core.errors import Conflict, ValidationFailed
from tests.unit.apps.package_world import ADMIN, install, records, snapshot
from tests.unit.apps.shop_package import DASHBOARD, RULE, shop_files


async def test_install_writes_every_definition_and_the_sample_records(ctx: Context, tmp_path: Path) -> None:
    report = await install(ctx, tmp_path / "p", shop_files())
    assert report["mode"] == "install" and report["version"] == "1.0.0" and report["conflicts"] == []
    assert report["sample"] == {"customer": 2, "order": 2}
    async with ctx.db.read() as conn:
        defs = Definitions(ctx, "shop", ADMIN)
        current = {kind: sorted(await defs.current(conn, kind)) for kind in ("entity", "form", "role", "rule", "process")}
        assert current == {"entity": ["customer", "order"], "form": ["customer_main"], "role": ["shop_clerk"],
                           "rule": ["r4_paid_completes"], "process": ["big_order"]}  # fmt: skip
        order = await ctx.store.get(conn, "shop", "order")
        assert [f for f in order.fields] == ["code", "customer", "amount", "paid", "status", "size"]  # second pass: full
        row = (await conn.execute(select(app_installs))).one()
        assert (row.app, row.package, row.version, row.installed_by) == ("shop", "shop", "1.0.0", None)
        audited = (await conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "app.installed"))).scalar_one()
        assert audited["definitions"]["entity"] == 2 and audited["version"] == "1.0.0"
    customers = await records(ctx, "shop", "customer")
    orders = await records(ctx, "shop", "order")
    assert [c["name"] for c in customers] == ["Acme", "Globex"]
    assert [o["customer"] for o in orders] == [customers[0]["id"], customers[1]["id"]]  # lookups resolved
    assert [(o["code"], o["amount"], o["size"]) for o in orders] == [("SO-00001", Decimal("1500"), "big"),
                                                                    ("SO-00002", Decimal("20.5"), "small")]  # fmt: skip
    # Sample data is history: the R4 rule (paid -> completed) did not run on it.
    assert [o["status"] for o in orders] == ["open", "open"]


async def test_a_rule_on_an_unknown_entity_is_refused_with_its_file_and_path_and_nothing_is_written(
    ctx: Context, tmp_path: Path
) -> None:
    before = await snapshot(ctx)
    files = shop_files(rules__r4_paid_completes_json=RULE | {"entity": "ghost"})
    with pytest.raises(ValidationFailed) as caught:
        await install(ctx, tmp_path / "p", files)
    assert [(e.file, e.path, e.code) for e in caught.value.errors] == [  # type: ignore[attr-defined]
        ("rules/r4_paid_completes.json", "/rules/r4_paid_completes.json/entity", "unknown_entity")
    ]
    assert await snapshot(ctx) == before


async def test_a_package_whose_last_definition_is_invalid_leaves_the_database_exactly_as_it_was(
    ctx: Context, tmp_path: Path
) -> None:
    before = await snapshot(ctx)
    files = shop_files(dashboards__overview_json=DASHBOARD | {"tiles": [{"chart": "orders_by_status"}, {"chart": "nope"}]})
    with pytest.raises(ValidationFailed) as caught:
        await install(ctx, tmp_path / "bad", files)
    assert [(e.path, e.code) for e in caught.value.errors] == [("/dashboards/overview.json/tiles/1/chart", "unknown_chart")]
    assert await snapshot(ctx) == before
    # Nothing stale is left in the caches either: the fixed package installs cleanly afterwards.
    report = await install(ctx, tmp_path / "good", shop_files())
    assert report["sample"] == {"customer": 2, "order": 2}
    assert [o["code"] for o in await records(ctx, "shop", "order")] == ["SO-00001", "SO-00002"]


async def test_errors_in_several_files_are_reported_together(ctx: Context, tmp_path: Path) -> None:
    bad_form = {"key": "customer_main", "entity": "customer", "sections": [{"fields": ["name", "shoe_size"]}]}
    bad_sample = {"records": [{"customer": {"lookup": {"name": "Nobody"}}, "amount": 1}]}
    files = shop_files(forms__customer_main_json=bad_form, sample__order_json=bad_sample)
    with pytest.raises(ValidationFailed) as caught:
        await install(ctx, tmp_path / "p", files)
    assert sorted((e.path, e.code) for e in caught.value.errors) == [
        ("/forms/customer_main.json/sections/0/fields/1", "unknown_field"),
        ("/sample/order.json/records/0/customer/lookup", "lookup_not_found"),
    ]


async def test_a_dry_run_reports_the_install_and_writes_nothing(ctx: Context, tmp_path: Path) -> None:
    before = await snapshot(ctx)
    report = await install(ctx, tmp_path / "p", shop_files(), dry_run=True)
    assert report["dry_run"] is True and report["sample"] == {"customer": 2, "order": 2}
    assert {s["action"] for s in report["steps"]} == {"add"}
    assert await snapshot(ctx) == before


async def test_the_same_version_again_is_refused_unless_forced(ctx: Context, tmp_path: Path) -> None:
    await install(ctx, tmp_path / "p", shop_files())
    with pytest.raises(Conflict, match=r"shop 1\.0\.0 is installed; the package is 1\.0\.0"):
        await install(ctx, tmp_path / "p", shop_files())
    report = await install(ctx, tmp_path / "p", shop_files(), force=True)
    assert report["mode"] == "upgrade" and {s["action"] for s in report["steps"]} == {"unchanged"}
    assert report["sample"] == {}  # sample data comes with the first install only
    assert len(await records(ctx, "shop", "customer")) == 2


async def test_an_app_built_by_hand_is_installed_over_only_when_forced(ctx: Context, tmp_path: Path) -> None:
    async with ctx.db.write() as conn:
        await ctx.schema.create_app(conn, "shop", "My shop", None)
    with pytest.raises(Conflict, match="was not installed from a package"):
        await install(ctx, tmp_path / "p", shop_files())
    # Forced, the app is adopted: what the package adds is added, no sample data, the app keeps its label.
    report = await install(ctx, tmp_path / "p", shop_files(), force=True)
    assert report["mode"] == "adopt" and report["sample"] == {} and report["conflicts"] == []
    assert {s["action"] for s in report["steps"]} == {"add"}
    async with ctx.db.read() as conn:
        assert (await ctx.schema.get_app(conn, "shop"))["label"] == "My shop"
    again = await install(ctx, tmp_path / "p", shop_files(), force=True)
    assert again["mode"] == "upgrade" and {s["action"] for s in again["steps"]} == {"unchanged"}
