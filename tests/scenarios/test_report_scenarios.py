"""Report scenarios D1-D8 (SCENARIOS.md) on a generated CRM (tests/scenarios/report_world.py).

Every chart is sent to the API as the person who looks at it (the builder's preview endpoint, or a
saved chart's drill-down), and every number it shows is recomputed here in plain Python from the
generated records: money exactly (Decimal), other fractions to a relative 1e-9.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from engine.api.context import Context
from engine.core.clock import FrozenClock
from engine.core.db import Database
from tests.conftest import BACKENDS, PG_URL
from tests.scenarios.report_world import (
    NOW,
    OPEN_STAGES,
    STAGES,
    TZ,
    Opportunity,
    Rec,
    ReportWorld,
    Template,
    build_template,
    open_world,
    pg_execute,
    pg_url,
    readable_owners,
    settings_for,
    team_members,
)

# -- fixtures: one generated world per database, copied for each test --------------------------------------


@pytest.fixture(scope="module")
def templates() -> Iterator[dict[str, Template]]:
    built: dict[str, Template] = {}
    yield built
    if "postgresql" in built and PG_URL:
        name = built["postgresql"].url.rsplit("/", 1)[-1]
        asyncio.run(pg_execute(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def migrated(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The backend and its migrated empty template (requested here: its fixtures are synchronous)."""
    if request.param == "sqlite":
        return "sqlite", str(request.getfixturevalue("sqlite_template"))
    return "postgresql", str(request.getfixturevalue("pg_template"))


@pytest.fixture
async def database_url(
    migrated: tuple[str, str], templates: dict[str, Template], tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    backend, source = migrated
    if backend not in templates:
        templates[backend] = await build_template(backend, source, tmp_path_factory.mktemp(f"report_{backend}"), PG_URL)
    template = templates[backend]
    if backend == "sqlite":
        path = tmp_path / "test.db"
        path.write_bytes(Path(template.url.removeprefix("sqlite+aiosqlite:///")).read_bytes())
        yield f"sqlite+aiosqlite:///{path}"
        return
    assert PG_URL is not None
    name = f"tangram_t_{tmp_path.name[-20:].replace('-', '_').lower()}"
    template_name = template.url.rsplit("/", 1)[-1]
    await pg_execute(PG_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    yield pg_url(PG_URL, name)
    await pg_execute(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
async def ctx(database_url: str, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Context]:
    context = Context(settings=settings_for(database_url, tmp_path / "var"), db=Database(database_url), clock=clock)
    yield context
    await context.db.dispose()


@pytest.fixture
async def crm(ctx: Context, migrated: tuple[str, str], templates: dict[str, Template]) -> AsyncIterator[ReportWorld]:
    async for world in open_world(ctx, templates[migrated[0]]):
        yield world


# -- expectations in plain Python ----------------------------------------------------------------------------

R = TypeVar("R", bound=Rec)
T = TypeVar("T")


def seen_by(viewer: str, records: Iterable[R]) -> list[R]:
    owners = readable_owners(viewer)
    return [r for r in records if r.owner in owners]


def money(value: Any) -> Decimal | None:
    """A money value as the JSON carries it, read back exactly (the shortest text of the float)."""
    return None if value is None else Decimal(str(value))


def total(values: Iterable[Decimal | None]) -> Decimal | None:
    """SQL's SUM: empty values skipped, nothing at all is empty."""
    present = [v for v in values if v is not None]
    return sum(present, Decimal(0)) if present else None


def group(records: Iterable[T], key: Callable[[T], Any]) -> dict[Any, list[T]]:
    out: dict[Any, list[T]] = defaultdict(list)
    for r in records:
        out[key(r)].append(r)
    return dict(out)


def month_of(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m")


def quarter_of(moment: datetime) -> str:
    local = moment.astimezone(TZ)
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def table(out: dict[str, Any]) -> dict[tuple[str, ...], list[Any]]:
    """A table chart's rows by their dimension texts: {("2026-04",): [measure values...]}."""
    n = len(out["dimensions"])
    rows = out["data"]["rows"]
    keyed = {tuple(row[:n]): row[n:] for row in rows}
    assert len(keyed) == len(rows), "each group once"
    return keyed


def approx(value: float | Decimal | None, rel: float = 1e-9) -> Any:
    return None if value is None else pytest.approx(float(value), rel=rel)


def is_sqlite(world: ReportWorld) -> bool:
    return world.ctx.settings.database_url.startswith("sqlite")


# -- D1 sales funnel -----------------------------------------------------------------------------------------

FUNNEL = {"key": "funnel", "type": "funnel", "source": "opportunity", "dimensions": [{"field": "stage"}],
          "measures": [{"key": "deals", "agg": "count"}]}  # fmt: skip


async def test_d1_funnel_counts_each_stage_in_option_order(crm: ReportWorld) -> None:
    out = await crm.query("director", FUNNEL)
    by_stage = group(crm.data.opportunities, lambda o: o.stage)
    stages = out["data"]["stages"]
    assert [s["stage"] for s in stages] == list(STAGES)
    assert [s["name"] for s in stages] == [s.title() for s in STAGES]
    assert [s["value"] for s in stages] == [len(by_stage.get(s, [])) for s in STAGES]


async def test_d1_cumulative_funnel_counts_deals_that_reached_each_stage(crm: ReportWorld) -> None:
    chart = FUNNEL | {"measures": [{"key": "deals", "agg": "count"}], "options": {"cumulative": True, "exclude": ["lost"]}}
    out = await crm.query("director", chart)
    kept = [s for s in STAGES if s != "lost"]
    reached = [sum(1 for o in crm.data.opportunities if o.stage in kept[i:]) for i in range(len(kept))]
    stages = out["data"]["stages"]
    assert [s["stage"] for s in stages] == kept
    assert [s["value"] for s in stages] == reached
    assert stages[0]["conversion"] is None
    assert [s["conversion"] for s in stages[1:]] == [approx(b / a) for a, b in itertools.pairwise(reached)]
    assert [s["overall"] for s in stages] == [approx(r / reached[0]) for r in reached]

    by_amount = chart | {"measures": [{"key": "amount", "agg": "sum", "field": "amount"}]}
    amounts = [total(o.amount for o in crm.data.opportunities if o.stage in kept[i:]) for i in range(len(kept))]
    assert [money(s["value"]) for s in (await crm.query("director", by_amount))["data"]["stages"]] == amounts


# -- D2 leaderboard and forecast -----------------------------------------------------------------------------

WON = {"field": "stage", "op": "eq", "value": "won"}
LEADERBOARD = {
    "key": "leaderboard", "type": "leaderboard", "source": "opportunity", "dimensions": [{"field": "owner"}],
    "measures": [{"key": "won_amount", "agg": "sum", "field": "amount", "where": WON},
                 {"key": "won_deals", "agg": "count", "where": WON},
                 {"key": "closed", "agg": "count", "where": {"field": "stage", "op": "in", "value": ["won", "lost"]}},
                 {"key": "win_rate", "ratio": ["won_deals", "closed"]}],
    "sort": [{"by": "won_amount", "dir": "desc"}],
}  # fmt: skip


def leaderboard_rows(world: ReportWorld, opportunities: list[Opportunity]) -> list[dict[str, Any]]:
    """What the leaderboard shows: the owners by won amount, ties sharing a rank (1, 2, 2, 4)."""
    rows = []
    for owner, deals in group(opportunities, lambda o: o.owner).items():
        won = [o for o in deals if o.stage == "won"]
        closed = sum(1 for o in deals if o.stage in ("won", "lost"))
        rows.append({"key": world.users[owner], "name": owner.title(), "won_amount": total(o.amount for o in won),
                     "won_deals": len(won), "closed": closed, "win_rate": len(won) / closed if closed else None})  # fmt: skip
    rows.sort(key=lambda r: (r["won_amount"] is None, -(r["won_amount"] or 0)))
    for i, row in enumerate(rows):
        same = i and row["won_amount"] == rows[i - 1]["won_amount"]
        row["rank"] = None if row["won_amount"] is None else rows[i - 1]["rank"] if same else i + 1
    return rows


def shown_leaderboard(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": r["key"], "name": r["name"], "rank": r["rank"], "won_amount": money(r["values"]["won_amount"]),
             "won_deals": r["values"]["won_deals"], "closed": r["values"]["closed"], "win_rate": r["values"]["win_rate"]}
            for r in out["data"]["rows"]]  # fmt: skip


def expected_leaderboard(world: ReportWorld, opportunities: list[Opportunity]) -> list[dict[str, Any]]:
    return [r | {"win_rate": approx(r["win_rate"])} for r in leaderboard_rows(world, opportunities)]


async def test_d2_leaderboard_ranks_reps_by_won_amount(crm: ReportWorld) -> None:
    out = await crm.query("director", LEADERBOARD)
    assert shown_leaderboard(out) == expected_leaderboard(crm, crm.data.opportunities)


async def test_d2_team_totals_follow_the_dashboard_team_filter(crm: ReportWorld) -> None:
    kpi = {"key": "team_won", "type": "kpi", "source": "opportunity", "measures": [LEADERBOARD["measures"][0]]}
    for team in ("east", "west"):
        members = team_members(team)
        mine = [o for o in crm.data.opportunities if o.owner in members]
        out = await crm.query("director", kpi, filters={"teams": [team]})
        assert money(out["data"]["value"]) == total(o.amount for o in mine if o.stage == "won"), team
        ranked = await crm.query("director", LEADERBOARD, filters={"teams": [team]})
        assert shown_leaderboard(ranked) == expected_leaderboard(crm, mine), team


async def test_d2_forecast_weights_open_amounts_by_probability(crm: ReportWorld) -> None:
    open_deals = {"field": "stage", "op": "in", "value": list(OPEN_STAGES)}
    chart = {
        "key": "forecast", "type": "table", "source": "opportunity",
        "dimensions": [{"field": "expected_close", "bucket": "quarter"}],
        "measures": [{"key": "pipeline", "agg": "sum", "field": "amount", "where": open_deals},
                     {"key": "forecast", "agg": "sum", "expr": "amount * probability / 100", "where": open_deals}],
    }  # fmt: skip
    rows = table(await crm.query("director", chart))
    expected = {}
    for (q,), deals in group(
        crm.data.opportunities, lambda o: (f"{o.expected_close.year}-Q{(o.expected_close.month - 1) // 3 + 1}",)
    ).items():
        opened = [o for o in deals if o.stage in OPEN_STAGES]
        weighted = [o.amount * o.probability / 100 for o in opened if o.amount is not None and o.probability is not None]
        expected[(q,)] = [total(o.amount for o in opened), sum(weighted, Decimal(0)) if weighted else None]
    assert {k: money(v[0]) for k, v in rows.items()} == {k: v[0] for k, v in expected.items()}
    assert {k: v[1] for k, v in rows.items()} == {k: approx(v[1]) for k, v in expected.items()}


# -- D3 service health ---------------------------------------------------------------------------------------

SERVICE = {
    "key": "service", "type": "table", "source": "ticket", "dimensions": [{"field": "created_at", "bucket": "month"}],
    "measures": [{"key": "csat", "agg": "avg", "field": "satisfaction"},
                 {"key": "answers", "agg": "count", "field": "satisfaction"},
                 {"key": "response_hours", "agg": "avg", "expr": "HOURS_BETWEEN(created_at, first_response_at)"},
                 {"key": "response_days", "agg": "avg", "expr": "DAYS_BETWEEN(created_at, first_response_at)"},
                 {"key": "tickets", "agg": "count"},
                 {"key": "first_contact", "agg": "count",
                  "where": {"field": "first_contact_resolved", "op": "eq", "value": True}},
                 {"key": "fcr_rate", "ratio": ["first_contact", "tickets"]}],
}  # fmt: skip


def mean(values: list[Any]) -> float | None:
    return float(statistics.fmean(values)) if values else None


async def test_d3_service_health_by_month_in_the_business_time_zone(crm: ReportWorld) -> None:
    rows = table(await crm.query("director", SERVICE))
    # SQLite computes hours from julianday() floats (a day to ~1e-10): a looser tolerance for that one.
    hours_rel = 1e-6 if is_sqlite(crm) else 1e-9
    expected = {}
    for month, tickets in group(crm.data.tickets, lambda t: month_of(t.created_at)).items():
        scores = [t.satisfaction for t in tickets if t.satisfaction is not None]
        answered = [t for t in tickets if t.first_response_at is not None]
        hours = [(t.first_response_at - t.created_at).total_seconds() / 3600 for t in answered]  # type: ignore[operator]
        days = [(t.first_response_at.astimezone(UTC).date() - t.created_at.astimezone(UTC).date()).days for t in answered]  # type: ignore[union-attr]
        fcr = sum(1 for t in tickets if t.first_contact_resolved)
        expected[(month,)] = [approx(mean(scores)), len(scores), approx(mean(hours), hours_rel), approx(mean(days)),
                              len(tickets), fcr, approx(fcr / len(tickets))]  # fmt: skip
    assert rows == expected
    # The first ticket was opened at 16:30 UTC on 31 March: 1 April in Shanghai.
    assert month_of(crm.data.tickets[0].created_at) == "2026-04" and crm.data.tickets[0].created_at.month == 3


# -- D4 channel ROI ------------------------------------------------------------------------------------------

CHANNEL_ROI = {
    "key": "channel_roi", "type": "table", "source": "campaign",
    "joins": [{"as": "leads", "direction": "reverse", "entity": "lead", "field": "campaign"},
              {"as": "opps", "from": "leads", "direction": "reverse", "entity": "opportunity", "field": "lead"}],
    "dimensions": [{"field": "channel"}],
    "measures": [{"key": "budget", "agg": "sum", "field": "budget"},
                 {"key": "leads", "agg": "count_distinct", "field": "leads.id"},
                 {"key": "opportunities", "agg": "count_distinct", "field": "opps.id"},
                 {"key": "won_amount", "agg": "sum", "field": "opps.won_amount"},
                 {"key": "conversion", "ratio": ["opportunities", "leads"]},
                 {"key": "roi", "ratio": ["won_amount", "budget"]}],
}  # fmt: skip


def channel_roi(world: ReportWorld, viewer: str) -> dict[tuple[str, ...], list[Any]]:
    """Per channel, over what `viewer` reads: a lead or opportunity the viewer may not read is not counted."""
    campaigns = seen_by(viewer, world.data.campaigns)
    leads = seen_by(viewer, world.data.leads)
    opportunities = seen_by(viewer, world.data.opportunities)
    expected = {}
    for channel, mine in group(campaigns, lambda c: c.channel).items():
        their_leads = [lead for lead in leads if lead.campaign in mine]
        opps = [o for o in opportunities if o.lead in their_leads]
        budget = total(c.budget for c in mine)
        won = total(o.won_amount for o in opps) if opps else None
        assert budget is not None
        expected[(channel.title(),)] = [budget, len(their_leads), len(opps), won,
                                        approx(len(opps) / len(their_leads)) if their_leads else None,
                                        approx(won / budget) if won is not None else None]  # fmt: skip
    return expected


def money_columns(rows: dict[tuple[str, ...], list[Any]], *columns: int) -> dict[tuple[str, ...], list[Any]]:
    return {k: [money(v) if i in columns else v for i, v in enumerate(values)] for k, values in rows.items()}


async def test_d4_channel_roi_counts_each_campaign_lead_and_deal_once(crm: ReportWorld) -> None:
    counted = CHANNEL_ROI | {"measures": [m for m in CHANNEL_ROI["measures"] if m["key"] not in ("won_amount", "roi")]}
    rows = money_columns(table(await crm.query("director", counted)), 0)
    assert rows == {k: v[:3] + v[4:5] for k, v in channel_roi(crm, "director").items()}
    online = [c for c in crm.data.campaigns if c.channel == "online"]
    assert len(online) == 2 and rows[("Online",)][0] == online[0].budget + online[1].budget  # once each, not once per lead


FORMULA_SUM = ("sum over a number formula field (opps.won_amount, the guide's D4) is refused: engine/reports/compile.py "
               "_measure (~line 347) checks f.cfg.type against NUMERIC, and a formula field's type is 'formula'; it "
               "should read the formula's `returns` (number: NUMERIC; date/datetime: ORDERED, and bucketable)")  # fmt: skip


async def test_d4_won_amount_sums_the_deals_formula_field(crm: ReportWorld) -> None:
    rows = money_columns(table(await crm.query("director", CHANNEL_ROI, engine=FORMULA_SUM)), 0, 3)
    assert rows == channel_roi(crm, "director")


# -- D5 lifetime value ---------------------------------------------------------------------------------------


async def test_d5_order_value_by_account_source_and_industry(crm: ReportWorld) -> None:
    chart = {
        "key": "ltv", "type": "table", "source": "order", "joins": [{"as": "acct", "field": "account"}],
        "dimensions": [{"field": "acct.source"}, {"field": "acct.industry"}],
        "measures": [{"key": "value", "agg": "sum", "field": "amount"}, {"key": "orders", "agg": "count"},
                     {"key": "accounts", "agg": "count_distinct", "field": "account"},
                     {"key": "per_account", "ratio": ["value", "accounts"]}],
    }  # fmt: skip
    rows = money_columns(table(await crm.query("director", chart)), 0)
    expected = {}
    for (source, industry), orders in group(crm.data.orders, lambda o: (o.account.source, o.account.industry)).items():
        value = total(o.amount for o in orders)
        accounts = len({id(o.account) for o in orders})
        assert value is not None
        expected[(source.title(), industry.title())] = [value, len(orders), accounts, approx(value / accounts)]
    assert rows == expected


async def test_d5_repurchase_rate_from_the_accounts_order_count(crm: ReportWorld) -> None:
    """Accounts with two orders or more over accounts with one or more: not one chart over orders (it
    needs each account's count first), but one over accounts, whose formula fields count their orders."""
    chart = {
        "key": "repurchase", "type": "table", "source": "account", "dimensions": [{"field": "source"}],
        "measures": [{"key": "buyers", "agg": "count", "where": {"field": "order_count", "op": "gte", "value": 1}},
                     {"key": "repeat", "agg": "count", "where": {"field": "order_count", "op": "gte", "value": 2}},
                     {"key": "rate", "ratio": ["repeat", "buyers"]},
                     {"key": "ltv", "agg": "avg", "field": "lifetime_value",
                      "where": {"field": "order_count", "op": "gte", "value": 1}}],
    }  # fmt: skip
    engine = "avg over a number formula field (account.lifetime_value) is refused: " + FORMULA_SUM
    rows = table(await crm.query("director", chart, engine=engine))
    expected = {}
    for source, accounts in group(crm.data.accounts, lambda a: a.source).items():
        buyers = [a for a in accounts if a.orders]
        repeat = sum(1 for a in buyers if len(a.orders) >= 2)
        values = [sum((o.amount for o in a.orders), Decimal(0)) for a in buyers]
        expected[(source.title(),)] = [len(buyers), repeat, approx(repeat / len(buyers)) if buyers else None,
                                       approx(sum(values) / len(values)) if values else None]  # fmt: skip
    assert rows == expected


# -- D6 slicing and drill-down -------------------------------------------------------------------------------

BY_REGION = {
    "key": "by_region", "type": "table", "source": "opportunity",
    "dimensions": [{"field": "region"}, {"field": "created_at", "bucket": "quarter"}],
    "measures": [{"key": "deals", "agg": "count"}, {"key": "amount", "agg": "sum", "field": "amount"}],
}  # fmt: skip


def by_region(opportunities: list[Opportunity]) -> dict[tuple[str, ...], list[Any]]:
    expected = {}
    for (region, quarter), deals in group(opportunities, lambda o: (o.region or "(empty)", quarter_of(o.created_at))).items():
        expected[(region, quarter)] = [len(deals), total(o.amount for o in deals)]
    return expected


async def test_d6_slices_by_region_quarter_and_team(crm: ReportWorld) -> None:
    rows = money_columns(table(await crm.query("director", BY_REGION)), 1)
    assert rows == by_region(crm.data.opportunities)
    east = [o for o in crm.data.opportunities if o.owner in team_members("east")]
    rows = money_columns(table(await crm.query("director", BY_REGION, filters={"teams": ["east"]})), 1)
    assert rows == by_region(east)
    # Quarters are read in Shanghai: 16:30 UTC on 31 March is in Q2, 15:59:59 UTC on 30 June too, 16:00 in Q3.
    assert [quarter_of(o.created_at) for o in crm.data.opportunities[:3]] == ["2026-Q2", "2026-Q2", "2026-Q3"]


async def test_d6_drill_down_lists_exactly_the_records_behind_a_bar(crm: ReportWorld) -> None:
    chart = BY_REGION | {"type": "column"}
    await crm.save_chart(chart)
    edge = crm.data.opportunities[0]  # created 1 April 00:30 in Shanghai: in Q2, not in Q1
    assert edge.region is not None
    region = edge.region
    cases: list[tuple[str, dict[str, Any] | None, set[str]]] = [
        ("director", None, readable_owners("director")),
        ("manager1", None, readable_owners("manager1")),
        ("director", {"owners": [crm.users["rep1"], crm.users["rep3"]]}, {"rep1", "rep3"}),
        ("director", {"date_from": "2026-04-01", "date_to": "2026-05-31"}, readable_owners("director")),
    ]
    for who, filters, owners in cases:
        body = {"point": {"region": region, "created_at": "2026-04-01"}} | ({"filters": filters} if filters else {})
        r = await crm.http[who].post("/api/v1/apps/crm/charts/by_region/drill", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["entity"] == "opportunity"
        first, last = datetime(2026, 4, 1, tzinfo=TZ), datetime(2026, 7, 1, tzinfo=TZ)
        if filters and "date_to" in filters:
            last = datetime(2026, 6, 1, tzinfo=TZ)
        behind = {o.id for o in crm.data.opportunities
                  if o.region == region and first <= o.created_at < last and o.owner in owners}  # fmt: skip
        assert await crm.ids(who, "opportunity", r.json()["filter"]) == behind, (who, filters)
        if who == "director" and not filters:
            assert edge.id in behind
            cell = table(await crm.query("director", BY_REGION))[(region, "2026-Q2")]
            assert cell[0] == len(behind)  # the bar's own count


# -- D8 customers a campaign brought: their order value ----------------------------------------------------


async def test_d8_order_value_of_accounts_with_a_deal_from_each_campaign(crm: ReportWorld) -> None:
    """Orders, grouped by the campaign of a lead behind one of their account's deals. The nearest the joins
    express: an order counts for every campaign its account has a deal from (once each), whenever it was
    placed; "later" (orders after the lead came) would compare dates across joins, which a chart cannot."""
    chart = {
        "key": "campaign_customers", "type": "table", "source": "order",
        "joins": [{"as": "acct", "field": "account"},
                  {"as": "deals", "from": "acct", "direction": "reverse", "entity": "opportunity", "field": "account"},
                  {"as": "origin", "from": "deals", "field": "lead"}],
        "dimensions": [{"field": "origin.campaign", "key": "campaign"}],
        "measures": [{"key": "value", "agg": "sum", "field": "amount"}, {"key": "orders", "agg": "count"},
                     {"key": "accounts", "agg": "count_distinct", "field": "acct.id"}],
    }  # fmt: skip
    rows = money_columns(table(await crm.query("director", chart)), 0)
    deals_of = group(crm.data.opportunities, lambda o: id(o.account))
    expected: dict[tuple[str, ...], list[Any]] = {}
    by_campaign: dict[str, list[Any]] = defaultdict(list)
    for order in crm.data.orders:
        deals = deals_of.get(id(order.account), [])
        campaigns = {d.lead.campaign.name if d.lead and d.lead.campaign else "(empty)" for d in deals} or {"(empty)"}
        for name in campaigns:
            by_campaign[name].append(order)
    for name, orders in by_campaign.items():
        expected[(name,)] = [total(o.amount for o in orders), len(orders), len({id(o.account) for o in orders})]
    assert len(expected) == 5  # the four campaigns and (empty)
    assert rows == expected


# -- who sees what -----------------------------------------------------------------------------------------

BY_OWNER = {"key": "by_owner", "type": "table", "source": "opportunity", "dimensions": [{"field": "owner"}],
            "measures": [{"key": "deals", "agg": "count"}, {"key": "amount", "agg": "sum", "field": "amount"},
                         {"key": "share", "percent_of_total": "amount"}]}  # fmt: skip


async def test_each_viewer_counts_the_records_their_role_reads(crm: ReportWorld) -> None:
    for who in ("rep1", "manager1", "director"):
        mine = seen_by(who, crm.data.opportunities)
        everything = total(o.amount for o in mine)
        assert everything is not None
        amounts = {owner: total(x.amount for x in deals) for owner, deals in group(mine, lambda o: o.owner).items()}
        expected = {(o.title(),): [sum(1 for x in mine if x.owner == o), a, approx(a / everything)]
                    for o, a in amounts.items() if a is not None}  # fmt: skip
        assert len(expected) == len(group(mine, lambda o: o.owner))  # (every owner has some amount)
        assert money_columns(table(await crm.query(who, BY_OWNER)), 1) == expected, who
        assert shown_leaderboard(await crm.query(who, LEADERBOARD)) == expected_leaderboard(crm, mine), who
    assert set(table(await crm.query("manager1", BY_OWNER))) == {("Rep1",), ("Rep2",), ("Manager1",)}
    assert table(await crm.query("rep1", BY_OWNER))[("Rep1",)][2] == 1  # all of what rep1 sees


async def test_joined_entities_are_scoped_too(crm: ReportWorld) -> None:
    counted = CHANNEL_ROI | {"measures": [m for m in CHANNEL_ROI["measures"] if m["key"] not in ("won_amount", "roi")]}
    for who in ("rep1", "manager1"):
        rows = money_columns(table(await crm.query(who, counted)), 0)
        assert rows == {k: v[:3] + v[4:5] for k, v in channel_roi(crm, who).items()}, who


async def test_a_field_hidden_from_the_viewer_cannot_be_charted(crm: ReportWorld) -> None:
    by_probability = {"key": "p", "type": "table", "source": "opportunity", "dimensions": [{"field": "probability"}],
                      "measures": [{"key": "deals", "agg": "count"}]}  # fmt: skip
    forecast = {"key": "f", "type": "kpi", "source": "opportunity",
                "measures": [{"key": "forecast", "agg": "sum", "expr": "amount * probability / 100"}]}  # fmt: skip
    filtered = BY_OWNER | {"filter": {"field": "probability", "op": "gte", "value": 50}}
    refused = ((by_probability, "/chart/dimensions/0/field", "unknown_field"), (forecast, "/chart/measures/0/expr", "formula"),
               (filtered, "/chart/filter/field", "unknown_field"))  # fmt: skip
    for chart, path, code in refused:
        body = await crm.query("rep1", chart, status=422)
        assert [(e["path"], e["code"]) for e in body["errors"]] == [(path, code)], body
        assert "probability" in body["errors"][0]["message"]
    rows = table(await crm.query("manager1", by_probability))  # the manager's role shows it
    mine = seen_by("manager1", crm.data.opportunities)
    assert rows == {(str(p) if p is not None else "(empty)",): [len(d)] for p, d in group(mine, lambda o: o.probability).items()}


# -- chart types ---------------------------------------------------------------------------------------------


def pivot_cells(out: dict[str, Any], measure: str) -> dict[tuple[tuple[Any, ...], tuple[Any, ...]], Any]:
    data = out["data"]
    rows, columns = [tuple(h["key"]) for h in data["rows"]], [tuple(h["key"]) for h in data["columns"]]
    cells = data["cells"][measure]
    return {(r, c): cells[i][j] for i, r in enumerate(rows) for j, c in enumerate(columns) if cells[i][j] is not None}


async def test_pivot_region_by_stage_with_totals(crm: ReportWorld) -> None:
    chart = {"key": "pivot", "type": "pivot", "source": "opportunity", "dimensions": [{"field": "region"}, {"field": "stage"}],
             "measures": [{"key": "deals", "agg": "count"}, {"key": "amount", "agg": "sum", "field": "amount"}],
             "options": {"rows": ["region"], "columns": ["stage"]}}  # fmt: skip
    out = await crm.query("director", chart)
    opps = crm.data.opportunities
    assert [h["key"] for h in out["data"]["columns"]] == [[s] for s in STAGES] + [[]]  # option order, total last
    assert out["data"]["rows"][-1] == {"key": [], "labels": [], "total": True}
    counts: dict[tuple[tuple[Any, ...], tuple[Any, ...]], int] = {}
    amounts: dict[tuple[tuple[Any, ...], tuple[Any, ...]], list[Decimal | None]] = {}
    for (region, stage), deals in group(opps, lambda o: (o.region, o.stage)).items():
        for r in ((region,), ()):
            for c in ((stage,), ()):
                counts[(r, c)] = counts.get((r, c), 0) + len(deals)
                amounts.setdefault((r, c), []).extend(o.amount for o in deals)
    assert pivot_cells(out, "deals") == counts
    assert {k: money(v) for k, v in pivot_cells(out, "amount").items()} == {
        k: total(v) for k, v in amounts.items() if total(v) is not None
    }
    assert counts[((), ())] == len(opps)


async def test_pivot_subtotal_follows_each_group(crm: ReportWorld) -> None:
    chart = {"key": "pivot2", "type": "pivot", "source": "opportunity", "dimensions": [{"field": "region"}, {"field": "stage"}],
             "measures": [{"key": "deals", "agg": "count"}], "options": {"rows": ["region", "stage"], "columns": []}}  # fmt: skip
    out = await crm.query("director", chart)
    headers = [tuple(h["key"]) for h in out["data"]["rows"]]
    values = [row[0] for row in out["data"]["cells"]["deals"]]
    by = group(crm.data.opportunities, lambda o: o.region)
    regions = [h[0] for h in headers if len(h) == 1]
    assert sorted(regions, key=lambda r: (r is None, r or "")) == sorted(by, key=lambda r: (r is None, r or ""))
    expected_headers, expected_values = [], []
    for region in regions:
        stages = group(by[region], lambda o: o.stage)
        for stage in (s for s in STAGES if s in stages):
            expected_headers.append((region, stage))
            expected_values.append(len(stages[stage]))
        expected_headers.append((region,))  # the region's subtotal after its stages
        expected_values.append(len(by[region]))
    assert headers == [*expected_headers, ()]
    assert values == [*expected_values, len(crm.data.opportunities)]
    assert [h["total"] for h in out["data"]["rows"]] == [len(h) < 2 for h in headers]


async def test_kpi_compares_with_the_previous_month(crm: ReportWorld) -> None:
    chart = {"key": "kpi", "type": "kpi", "source": "opportunity",
             "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
             "options": {"compare": {"period": "month"}}}  # fmt: skip
    data = (await crm.query("director", chart))["data"]
    december = total(o.amount for o in crm.data.opportunities if month_of(o.created_at) == "2026-12")
    november = total(o.amount for o in crm.data.opportunities if month_of(o.created_at) == "2026-11")
    assert december is not None and november is not None
    assert (money(data["value"]), money(data["previous"])) == (december, november)
    assert data["change"] == approx((december - november) / november)
    # Counted in Shanghai: the deal made at 17:00 UTC on 30 November is December's.
    assert month_of(crm.data.opportunities[3].created_at) == "2026-12"


async def test_top_accounts_with_the_rest_as_others(crm: ReportWorld) -> None:
    chart = {"key": "top", "type": "bar", "source": "opportunity", "dimensions": [{"field": "account"}],
             "measures": [{"key": "amount", "agg": "sum", "field": "amount"}, {"key": "deals", "agg": "count"}],
             "sort": [{"by": "amount", "dir": "desc"}], "limit": 5, "others": True}  # fmt: skip
    data = (await crm.query("director", chart))["data"]
    by_account = group(crm.data.opportunities, lambda o: o.account.name)
    ranked = sorted(((total(o.amount for o in deals), name, len(deals)) for name, deals in by_account.items()), reverse=True)
    top, rest = ranked[:5], ranked[5:]
    assert data["categories"] == [name for _, name, _ in top] + ["Others"]
    amounts, deals = data["series"]
    assert [money(v) for v in amounts["data"]] == [a for a, _, _ in top] + [total(a for a, _, _ in rest)]
    assert deals["data"] == [n for _, _, n in top] + [sum(n for _, _, n in rest)]


async def test_map_combines_spellings_of_a_province(crm: ReportWorld) -> None:
    chart = {"key": "map", "type": "map", "source": "account", "dimensions": [{"field": "region"}],
             "measures": [{"key": "accounts", "agg": "count"}]}  # fmt: skip
    data = (await crm.query("director", chart))["data"]
    short = {
        "广东": "广东",
        "广东省": "广东",
        "浙江省": "浙江",
        "北京": "北京",
        "上海市": "上海",
        "江苏": "江苏",
        "四川省": "四川",
    }
    expected: dict[str, int] = defaultdict(int)
    for a in crm.data.accounts:
        if a.region in short:
            expected[short[a.region]] += 1
    assert {d["name"]: d["value"] for d in data["data"]} == dict(expected)
    assert len(data["data"]) == len(expected)
    assert data["unmatched"] == (["海外"] if any(a.region == "海外" for a in crm.data.accounts) else [])


async def test_d6_a_province_on_the_map_drills_to_the_orders_of_all_its_spellings(crm: ReportWorld) -> None:
    """D6's map groups orders by their account's province (a join): a click sends the province's raw values
    (its `keys`), and the drill-down follows the join as a path of the records list (account.region)."""
    chart = {"key": "order_map", "type": "map", "source": "order", "joins": [{"as": "acct", "field": "account"}],
             "dimensions": [{"field": "acct.region", "key": "region"}],
             "measures": [{"key": "orders", "agg": "count"}]}  # fmt: skip
    await crm.save_chart(chart)
    data = (await crm.query("director", chart))["data"]
    guangdong = next(d for d in data["data"] if d["name"] == "广东")
    assert sorted(guangdong["keys"]) == ["广东", "广东省"]
    body = {"point": {"region": guangdong["keys"]}}
    r = await crm.http["director"].post("/api/v1/apps/crm/charts/order_map/drill", json=body)
    assert r.status_code == 200, r.text
    behind = {o.id for o in crm.data.orders if o.account.region in ("广东", "广东省")}
    assert await crm.ids("director", "order", r.json()["filter"]) == behind
    assert len(behind) == guangdong["value"]  # exactly what the province counts
    one = next(d for d in data["data"] if len(d["keys"]) == 1)
    r = await crm.http["director"].post("/api/v1/apps/crm/charts/order_map/drill", json={"point": {"region": one["keys"][0]}})
    assert len(await crm.ids("director", "order", r.json()["filter"])) == one["value"]


async def test_too_many_groups_is_refused_unless_limited(crm: ReportWorld) -> None:
    chart = {
        "key": "huge", "type": "table", "source": "account",
        "joins": [{"as": "deals", "direction": "reverse", "entity": "opportunity", "field": "account"},
                  {"as": "tickets", "direction": "reverse", "entity": "ticket", "field": "account"},
                  {"as": "orders", "direction": "reverse", "entity": "order", "field": "account"}],
        "dimensions": [{"field": "deals.id"}, {"field": "tickets.id"}, {"field": "orders.id"}],
        "measures": [{"key": "n", "agg": "count"}],
    }  # fmt: skip
    combinations = 0
    for a in crm.data.accounts:
        deals = sum(1 for o in crm.data.opportunities if o.account is a)
        tickets = sum(1 for t in crm.data.tickets if t.account is a)
        combinations += max(deals, 1) * max(tickets, 1) * max(len(a.orders), 1)
    assert combinations > 5000, "the world is too small for this test"
    body = await crm.query("director", chart, status=422)
    assert [(e["path"], e["code"]) for e in body["errors"]] == [("/chart/dimensions", "too_many_groups")]
    limited = await crm.query("director", chart | {"limit": 10})
    assert len(limited["data"]["rows"]) == 10 and limited["truncated"] is True


async def test_median_runs_on_postgresql_and_is_refused_on_sqlite(crm: ReportWorld) -> None:
    chart = {"key": "median", "type": "table", "source": "opportunity", "dimensions": [{"field": "stage"}],
             "measures": [{"key": "median", "agg": "median", "field": "amount"}]}  # fmt: skip
    if is_sqlite(crm):
        body = await crm.query("director", chart, status=422)
        assert [(e["path"], e["code"]) for e in body["errors"]] == [("/chart/measures/0/agg", "unsupported")]
        return
    rows = table(await crm.query("director", chart))
    expected = {}
    for stage, deals in group(crm.data.opportunities, lambda o: o.stage).items():
        amounts = [o.amount for o in deals if o.amount is not None]
        expected[(stage.title(),)] = [approx(statistics.median(amounts))]
    assert rows == expected


async def test_dashboard_shows_each_team_its_own_ranking(crm: ReportWorld) -> None:
    """The D2 cockpit: a leaderboard and a KPI on one dashboard whose default team is east; a viewer
    picks west instead. Each tile follows the dashboard's team."""
    kpi = {"key": "team_won", "type": "kpi", "source": "opportunity", "measures": [LEADERBOARD["measures"][0]]}
    await crm.save_chart(LEADERBOARD)
    await crm.save_chart(kpi)
    doc = {"key": "cockpit", "tiles": [{"chart": "leaderboard"}, {"chart": "team_won"}], "filters": {"teams": ["east"]}}
    r = await crm.http["admin"].post("/api/v1/meta/apps/crm/dashboards", json=doc)
    assert r.status_code == 201, r.text
    for team, body in (("east", {}), ("west", {"filters": {"teams": ["west"]}})):
        r = await crm.http["director"].post("/api/v1/apps/crm/dashboards/cockpit/data", json=body)
        assert r.status_code == 200, r.text
        ranking, won = (tile["result"] for tile in r.json()["tiles"])
        mine = [o for o in crm.data.opportunities if o.owner in team_members(team)]
        assert shown_leaderboard(ranking) == expected_leaderboard(crm, mine), team
        assert money(won["data"]["value"]) == total(o.amount for o in mine if o.stage == "won"), team
