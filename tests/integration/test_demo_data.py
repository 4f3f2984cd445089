"""`tangram demo crm`: the demo data generator on the CRM package (issue 7), on SQLite and PostgreSQL.
Consistency invariants are checked on the stored records, as the dashboards will read them."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.api.context import Context
from engine.apps.demo import DemoSummary, generate, load_spec
from engine.auth.tables import roles, teams, user_roles, user_teams, users
from engine.core.db import Database
from engine.core.errors import Conflict, NotFound, ValidationFailed
from tests.integration.demo_install import install_crm

CATALOG = Path(__file__).resolve().parents[2] / "apps_catalog"

TODAY = date(2025, 6, 1)
SKIP = {"created_at", "updated_at", "version"}  # stamps of when the demo ran, not demo data


async def _records(ctx: Context, entity: str) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        e = await ctx.store.get(conn, "crm", entity)
        rows = (await conn.execute(select(e.table).order_by(e.table.c.id))).all()
    return [{k: v for k, v in r._mapping.items() if k not in SKIP} for r in rows]


async def _demo(ctx: Context, **kwargs: Any) -> DemoSummary:
    return await generate(ctx, "crm", **{"accounts": 30, "today": TODAY} | kwargs)


@pytest.fixture
async def crm(ctx: Context) -> Context:
    await install_crm(ctx)
    return ctx


async def test_counts_scale_with_accounts_and_the_organisation_is_made(crm):
    summary = await _demo(crm)
    assert summary.counts["account"] == 30 and summary.counts["campaign"] == 6  # 0.03 x 30 < the minimum of 6
    assert summary.counts["lead"] == 45
    assert 30 <= summary.counts["contact"] <= 120 and 60 <= summary.counts["opportunity"] <= 240
    assert summary.warnings == [] and summary.password == "tangram-demo-2024" and len(summary.users) == 13
    assert {k: len(await _records(crm, k)) for k in summary.counts} == summary.counts
    async with crm.db.read() as conn:
        held = Counter((await conn.execute(select(roles.c.key).join(user_roles, user_roles.c.role_id == roles.c.id))).scalars())
        tree = dict((await conn.execute(select(teams.c.key, teams.c.path))).all())
    assert held == {"crm_sales_rep": 6, "crm_sales_manager": 2, "crm_director": 1, "crm_service_engineer": 2, "crm_finance": 1}
    assert tree["crm_sales_east"].startswith(tree["crm_sales"]) and tree["crm_sales_west"].startswith(tree["crm_sales"])
    assert tree["crm_key_accounts"].startswith(tree["crm_sales"]) and "crm_warehouse" in tree


async def test_the_team_rules_are_switched_on_once_their_teams_exist(crm):
    """R1, R7 and R9 ship disabled (an empty instance has no teams); the demo organisation makes the teams
    and switches them on, so a key lead created afterwards goes to Key Account Team A (R1)."""
    async with crm.db.read() as conn:
        enabled = {r["key"]: r["enabled"] for r in await crm.rule_service.list(conn, "crm")}
    assert not enabled["r1_assign_key_accounts"]
    summary = await _demo(crm, accounts=5)
    async with crm.db.read() as conn:
        enabled = {r["key"]: r["enabled"] for r in await crm.rule_service.list(conn, "crm")}
        team = (await conn.execute(select(teams.c.id).where(teams.c.key == "crm_key_accounts"))).scalar_one()
        members = set((await conn.execute(select(user_teams.c.user_id).where(user_teams.c.team_id == team))).scalars())
        emails = dict((await conn.execute(select(users.c.id, users.c.email).where(users.c.id.in_(members)))).all())
    assert [enabled[k] for k in ("r1_assign_key_accounts", "r7_notify_warehouse", "r9_dispatch_by_type")] == [True] * 3
    assert sorted(emails.values()) == ["demo.rep1@example.com", "demo.rep4@example.com"]
    assert summary.warnings == []


async def test_records_are_consistent_across_entities(crm):
    """Opportunities belong to accounts, won deals have one order of their amount, payments never
    exceed their order, tickets' moments are ordered, children are owned by their account's owner."""
    await _demo(crm, accounts=60)
    accounts = {a["id"]: a for a in await _records(crm, "account")}
    async with crm.db.read() as conn:  # history: created over the ~2.5 years before TODAY, not all "now"
        t = (await crm.store.get(conn, "crm", "account")).table
        created = sorted(d.date() for d in (await conn.execute(select(t.c.created_at))).scalars())
    assert TODAY - timedelta(days=901) <= created[0] < TODAY - timedelta(days=365) and created[-1] <= TODAY
    contacts = {c["id"]: c for c in await _records(crm, "contact")}
    opportunities = {o["id"]: o for o in await _records(crm, "opportunity")}
    orders = await _records(crm, "order")
    assert all(o["account"] in accounts and o["owner"] == accounts[o["account"]]["owner"] for o in opportunities.values())
    assert all(contacts[o["contact"]]["account"] == o["account"] for o in opportunities.values() if o["contact"])
    won = {i for i, o in opportunities.items() if o["stage"] == "won"}
    assert sorted(o["opportunity"] for o in orders) == sorted(won)
    for order in orders:
        deal = opportunities[order["opportunity"]]
        assert (order["amount"], order["account"]) == (deal["amount"], deal["account"])
        assert deal["closed_on"] <= order["ordered_on"] <= TODAY
    paid: Counter[int] = Counter()
    for p in await _records(crm, "payment"):
        paid[p["order"]] += p["amount"]
    for order in orders:
        assert paid[order["id"]] <= order["amount"]
        assert paid[order["id"]] == order["amount"] or not order["paid"]  # a paid order is paid in full
    assert all((o["closed_on"] is None) == (o["stage"] not in ("won", "lost")) for o in opportunities.values())
    probability = {"qualify": 10, "needs_analysis": 25, "proposal": 50, "negotiation": 75, "won": 100, "lost": 0}
    assert all(o["probability"] == probability[o["stage"]] for o in opportunities.values())
    tickets = await _records(crm, "ticket")
    assert all(t["account"] in accounts for t in tickets)
    for t in tickets:
        if t["resolved_at"] is not None:
            assert t["opened_at"] < t["first_response_at"] < t["resolved_at"]
        assert t["satisfied"] == (t["satisfaction"] is not None and t["satisfaction"] >= 4)
    account_totals: Counter[int] = Counter()
    for order in orders:
        account_totals[order["account"]] += order["amount"]
    assert all(a["lifetime_value"] == account_totals.get(i, Decimal(0)) for i, a in accounts.items())  # formulas ran


async def test_owners_are_spread_among_the_reps_and_names_are_mostly_chinese(crm):
    await _demo(crm, accounts=60)
    accounts = await _records(crm, "account")
    async with crm.db.read() as conn:
        reps = set(
            (await conn.execute(
                select(user_roles.c.user_id).join(roles, roles.c.id == user_roles.c.role_id).where(roles.c.key == "crm_sales_rep")
            )).scalars()
        )  # fmt: skip
    owners = Counter(a["owner"] for a in accounts)
    assert set(owners) == reps and min(owners.values()) >= 3  # every rep has accounts to see as "own"
    chinese = [a for a in accounts if "有限" in a["name"] or "公司" in a["name"]]
    assert 0.7 * len(accounts) <= len(chinese) < len(accounts)  # mostly zh-CN, some English
    assert len({a["name"] for a in accounts}) == len(accounts)
    assert all(a["code"].startswith("ACC-") for a in accounts)
    funnel = Counter(o["stage"] for o in await _records(crm, "opportunity"))
    assert funnel["qualify"] > funnel["needs_analysis"] > funnel["proposal"] > funnel["negotiation"]


async def test_the_same_seed_gives_the_same_data_on_another_database(crm, sqlite_template, tmp_path):
    """Run on this database (SQLite or PostgreSQL) and on a fresh SQLite one: identical records, ids
    and auto-numbers included; only the stamps of when each ran differ. Another seed differs."""
    await _demo(crm, seed=7)
    shutil.copy(sqlite_template, tmp_path / "other.db")
    url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    other = Context(settings=crm.settings.model_copy(update={"database_url": url}), db=Database(url), clock=crm.clock)
    try:
        await install_crm(other)
        await generate(other, "crm", accounts=30, seed=7, today=TODAY)
        for key in ("campaign", "account", "contact", "lead", "opportunity", "activity", "order", "payment", "ticket"):
            assert await _records(other, key) == await _records(crm, key), key
        await generate(other, "crm", accounts=30, seed=8, today=TODAY, append=True)
        names = [a["name"] for a in await _records(other, "account")]
        assert names[30:] != names[:30]
    finally:
        await other.db.dispose()


async def test_refuses_an_app_with_records_unless_appending(crm):
    await _demo(crm, accounts=5)
    with pytest.raises(Conflict) as refused:
        await _demo(crm, accounts=5)
    assert "already has 6 campaign records" in refused.value.detail and "--append" in refused.value.detail
    assert len(await _records(crm, "account")) == 5  # nothing written by the refused run
    skipped = await _demo(crm, accounts=5, if_empty=True)  # `make run` on its second start
    assert skipped.skipped == "app 'crm' already has 6 campaign records" and skipped.counts == {}
    assert len(await _records(crm, "account")) == 5
    summary = await _demo(crm, accounts=5, seed=99, append=True)
    assert summary.counts["account"] == 5 and len(await _records(crm, "account")) == 10
    async with crm.db.read() as conn:  # the organisation was reused, not duplicated
        assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == 13


@pytest.mark.parametrize("accounts", [0, -3, 100_001])
async def test_bad_scale_is_refused_before_anything_is_written(crm, accounts):
    with pytest.raises(ValidationFailed) as bad:
        await _demo(crm, accounts=accounts)
    assert [e.as_dict() for e in bad.value.errors] == [
        {"path": "/accounts", "code": "range", "message": "accounts must be between 1 and 100000"}
    ]
    assert await _records(crm, "account") == []


async def test_unknown_app_and_missing_spec(ctx):
    with pytest.raises(NotFound, match="has no demo data spec"):
        await generate(ctx, "nosuchapp")
    with pytest.raises(NotFound, match="app 'crm' is not installed"):
        await generate(ctx, "crm", spec=load_spec("crm", CATALOG))


async def test_a_bad_spec_lists_every_error_with_its_path_and_writes_nothing(crm):
    spec = copy.deepcopy(load_spec("crm", CATALOG))
    blocks = spec["entities"]
    blocks[1]["fields"]["industry"] = {"choice": {"manufacturing": 1, "farming": 2}}
    blocks[1]["fields"]["code"] = {"const": "ACC-1"}  # an auto-number is the engine's
    blocks[2]["fields"]["account"] = {"ref": "parent.nosuch"}
    blocks[4]["per"] = "ticket"  # tickets come later
    blocks[5]["fields"]["subject"] = {"tempate": "{words.activity}"}
    with pytest.raises(ValidationFailed) as bad:
        await generate(crm, "crm", accounts=3, spec=spec)
    assert [(e.path, e.code) for e in bad.value.errors] == [
        ("/entities/1/fields/industry/choice", "unknown_option"),
        ("/entities/1/fields/code", "unknown_field"),
        ("/entities/2/fields/account/ref", "unknown_field"),
        ("/entities/4/per", "unknown_parent"),
        ("/entities/4/count", "count"),  # without a parent it is a top-level block: counted by scale
        ("/entities/4/fields/account/ref", "no_parent"),
        ("/entities/4/fields/name/template", "no_parent"),
        ("/entities/4/fields/owner/ref", "no_parent"),
        ("/entities/5/fields/subject", "generator"),
    ]
    async with crm.db.read() as conn:
        assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == 0
    assert await _records(crm, "account") == []


async def test_a_missing_role_is_skipped_with_a_warning(ctx):
    await install_crm(ctx, roles=False)
    spec = load_spec("crm", CATALOG)
    summary = await generate(ctx, "crm", accounts=3, today=TODAY, spec=spec)
    assert summary.warnings[0] == "role 'crm_director' does not exist: demo.director@example.com was created without it"
    others = [w for w in summary.warnings if not w.startswith("in_flight/")]  # processes need the roles too
    assert len(others) == 12 and summary.counts["account"] == 3
    assert json.dumps(spec) == json.dumps(load_spec("crm", CATALOG))  # the spec is not modified


def _tangram(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=env, timeout=300)


async def test_the_cli_loads_the_demo_and_prints_the_users_and_password(crm, database_url):
    done = _tangram(database_url, "demo", "crm", "--accounts", "4")
    assert done.returncode == 0, done.stderr
    assert "demo users (password tangram-demo-2024): demo.director@example.com, demo.manager.east@example.com" in done.stdout
    assert "account 4, contact " in done.stdout and "records/s" in done.stdout
    again = _tangram(database_url, "demo", "crm", "--accounts", "4")
    assert again.returncode == 1 and "tangram: app 'crm' already has 6 campaign records" in again.stderr
    bad = _tangram(database_url, "demo", "crm", "--accounts", "0", "--append")
    assert bad.returncode == 1 and bad.stderr.strip() == "tangram: Invalid number of accounts: 0"
    assert len(await _records(crm, "account")) == 4


async def test_the_demo_leaves_approvals_and_an_escalated_ticket_waiting(crm):
    """Issue 18: a demo user's inbox is not empty on the first visit."""
    from engine.process.tables import instances, tasks

    summary = await _demo(crm)
    assert summary.in_flight == 7
    async with crm.db.read() as conn:
        running = Counter((await conn.execute(select(instances.c.entity).where(instances.c.state == "running"))).scalars())
        open_tasks = (await conn.execute(select(tasks.c.assignee_id).where(tasks.c.state == "pending"))).scalars().all()
        managers = set((await conn.execute(select(users.c.id).where(users.c.email.like("demo.manager.%")))).scalars())
    assert running == {"quote": 6, "ticket": 1}
    assert managers <= set(open_tasks)  # each sales manager has a quote waiting for approval
    quotes = await _records(crm, "quote")
    assert len(quotes) == 6 and {q["status"] for q in quotes} == {"pending_approval"}
    async with crm.db.read() as conn:
        query = select(instances.c.record_id).where(instances.c.entity == "ticket", instances.c.state == "running")
        [ticket_id] = (await conn.execute(query)).scalars().all()
    [ticket] = [t for t in await _records(crm, "ticket") if t["id"] == ticket_id]
    assert (ticket["escalated"], ticket["urgency"], ticket["type"]) == (True, "critical", "complaint")
