"""Upgrading an installed package on a real database: new definitions, fields and options arrive, untouched
definitions take the package's version, the customer's changes stay (listed as conflicts), no data is lost,
and a failing upgrade changes nothing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.api.context import Context
from engine.apps.definitions import Definitions
from engine.apps.tables import app_installs
from engine.core.errors import ValidationFailed
from tests.unit.apps.package_world import ADMIN, install, records, snapshot
from tests.unit.apps.shop_package import CHART, CUSTOMER, MANIFEST, RULE, shop_files


def _v11() -> dict[str, Any]:
    """1.1.0: a new customer field and region option, a relabelled chart, a changed rule, a new rule; no form."""
    customer = copy.deepcopy(CUSTOMER)
    customer["fields"][1]["options"].append({"key": "north"})
    customer["fields"].append({"key": "email", "type": "email"})
    new_rule = RULE | {"key": "r4_big_completes", "condition": {"field": "amount", "op": "gt", "value": 100000}}
    return shop_files(
        manifest_json=MANIFEST | {"version": "1.1.0"},
        entities__customer_json=customer,
        charts__orders_by_status_json=CHART | {"label": {"en": "Orders per status"}},
        rules__r4_paid_completes_json=RULE | {"order": 7},
        rules__r4_big_completes_json=new_rule,
        forms__customer_main_json=None,
    )


async def _customise(ctx: Context) -> None:
    """What an implementer did after installing 1.0.0: a phone field, and their own rule order."""
    async with ctx.db.write() as conn:
        doc = copy.deepcopy(CUSTOMER)
        doc["fields"].append({"key": "phone", "type": "phone"})
        await ctx.schema.update_entity(conn, "shop", "customer", doc, ADMIN)
        await ctx.rule_service.replace(conn, "shop", "r4_paid_completes", RULE | {"order": 3}, None)


async def _current(ctx: Context, kind: str) -> dict[str, Any]:
    async with ctx.db.read() as conn:
        return await Definitions(ctx, "shop", ADMIN).current(conn, kind)


async def test_an_upgrade_merges_the_package_into_the_customised_app_and_keeps_the_data(ctx: Context, tmp_path: Path) -> None:
    await install(ctx, tmp_path / "v1", shop_files())
    await _customise(ctx)
    plan = await install(ctx, tmp_path / "v11", _v11(), dry_run=True)
    assert set(await _current(ctx, "rule")) == {"r4_paid_completes"}  # the dry run added nothing
    report = await install(ctx, tmp_path / "v11", _v11())
    assert plan["steps"] == report["steps"] and plan["conflicts"] == report["conflicts"]
    actions = {(s["kind"], s["key"]): s["action"] for s in report["steps"]}
    assert actions[("entity", "customer")] == "merge" and actions[("chart", "orders_by_status")] == "replace"
    assert actions[("rule", "r4_big_completes")] == "add" and actions[("rule", "r4_paid_completes")] == "keep"
    assert [(c["kind"], c["key"], c["reason"], c["differs"]) for c in report["conflicts"]] == [
        ("rule", "r4_paid_completes", "changed_locally", ["order"])
    ]
    assert [(k["kind"], k["key"], k["reason"]) for k in report["kept"]] == [("form", "customer_main", "removed_in_package")]
    customer = (await _current(ctx, "entity"))["customer"]
    assert [f["key"] for f in customer["fields"]] == ["name", "region", "last_order", "phone", "email"]
    assert [o["key"] for o in customer["fields"][1]["options"]] == ["east", "west", "north"]
    assert (await _current(ctx, "chart"))["orders_by_status"]["label"] == {"en": "Orders per status"}
    assert (await _current(ctx, "rule"))["r4_paid_completes"]["order"] == 3  # the customer's
    assert set(await _current(ctx, "form")) == {"customer_main"}
    assert [c["name"] for c in await records(ctx, "shop", "customer")] == ["Acme", "Globex"]
    async with ctx.db.read() as conn:
        row = (await conn.execute(select(app_installs))).one()
    assert row.version == "1.1.0" and row.upgraded_at is not None
    # The next upgrade compares with 1.1.0 as installed: the customer's rule is still theirs.
    again = await install(ctx, tmp_path / "v11", _v11() | {"manifest.json": MANIFEST | {"version": "1.1.1"}})
    assert again["conflicts"] == [] and {s["action"] for s in again["steps"]} == {"unchanged", "keep"}


async def test_a_failing_upgrade_leaves_the_database_exactly_as_it_was(ctx: Context, tmp_path: Path) -> None:
    await install(ctx, tmp_path / "v1", shop_files())
    await _customise(ctx)
    before = await snapshot(ctx)
    broken = _v11()
    broken["dashboards/overview.json"] = {"key": "overview", "tiles": [{"chart": "gone"}]}
    with pytest.raises(ValidationFailed) as caught:
        await install(ctx, tmp_path / "bad", broken)
    assert [(e.path, e.code) for e in caught.value.errors] == [("/dashboards/overview.json/tiles/0/chart", "unknown_chart")]
    assert await snapshot(ctx) == before
