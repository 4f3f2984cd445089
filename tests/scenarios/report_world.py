"""A CRM app full of generated records, for the report scenarios (SCENARIOS.md D1-D8):

    account      name, industry, region (a province, as people write it), source; order_count and
                 lifetime_value (formulas over the account's orders)
    campaign     name, channel, budget, start
    lead         name, campaign -> campaign, status (new/qualified/converted/lost)
    opportunity  name, account -> account, lead -> lead, stage (qualify .. won, lost), amount,
                 probability (hidden from reps), expected_close, region, won_amount (formula)
    payment      opportunity -> opportunity, amount, paid_on
    ticket       account -> account, satisfaction (1-5), first_response_at, resolved_at,
                 first_contact_resolved
    order        account -> account, amount, ordered_on

People: reps rep1, rep2 in team east (manager1), rep3, rep4 in team west (manager2), a director
reading everything. Roles: sales_rep reads its own records (opportunity.probability hidden),
sales_manager its team's, director all. The business time zone is Asia/Shanghai.

`generate()` makes the records from one seed (random.Random), so every test recomputes what a chart
must show in plain Python from the same objects the world stored. Building takes a few seconds, so
each database is built once per test session into a template the tests copy (`template_url`); the
records' ids are the same in every copy.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from engine.api.app import create_app
from engine.api.context import Context
from engine.auth.access import load_access
from engine.auth.roles import Grant, RoleDefinition
from engine.auth.service import grant_role
from engine.auth.tables import user_teams
from engine.core.clock import FrozenClock
from engine.core.db import Database
from engine.core.settings import Settings
from tests.scenarios.crm_world import insert_role, insert_team

SEED = 20260611
TIMEZONE = "Asia/Shanghai"
TZ = ZoneInfo(TIMEZONE)
NOW = datetime(2026, 12, 15, 4, 0, tzinfo=UTC)  # 12:00 on 15 December in Shanghai
YEAR_START = datetime(2026, 1, 1, tzinfo=TZ).astimezone(UTC)
APP = "crm"

STAGES = ("qualify", "needs", "proposal", "negotiation", "won", "lost")
OPEN_STAGES = ("qualify", "needs", "proposal", "negotiation")
LEAD_STATUSES = ("new", "qualified", "converted", "lost")
INDUSTRIES = ("internet", "manufacturing", "retail", "finance")
SOURCES = ("web", "referral", "event", "partner")
CHANNELS = ("online", "event", "referral", "partner")
# Provinces as people type them: "广东" and "广东省" are one province on a map; "海外" is none.
ACCOUNT_REGIONS = ("广东", "广东省", "浙江省", "北京", "上海市", "江苏", "四川省", "海外")
OPPORTUNITY_REGIONS = ("广东", "浙江", "北京", "上海", "江苏")

TEAMS = {"east": ("manager1", ("rep1", "rep2")), "west": ("manager2", ("rep3", "rep4"))}
PEOPLE = ("rep1", "rep2", "rep3", "rep4", "manager1", "manager2", "director")
OWNER_WEIGHTS = {"rep1": 22, "rep2": 22, "rep3": 22, "rep4": 22, "manager1": 6, "director": 6}


def _team_of(who: str) -> str | None:
    return next((team for team, (manager, reps) in TEAMS.items() if who == manager or who in reps), None)


def readable_owners(viewer: str) -> frozenset[str]:
    """Whose records `viewer` reads: reps their own, managers their team's (them included), the rest all."""
    everyone = frozenset(OWNER_WEIGHTS) | frozenset(PEOPLE) | {"admin"}
    if viewer.startswith("rep"):
        return frozenset({viewer})
    if viewer.startswith("manager"):
        team = _team_of(viewer)
        return frozenset({viewer, *TEAMS[team][1]}) if team else frozenset({viewer})
    return everyone


def team_members(team: str) -> frozenset[str]:
    manager, reps = TEAMS[team]
    return frozenset({manager, *reps})


# -- roles ---------------------------------------------------------------------------------------------


def _grant(entity: str, level: str, **extra: Any) -> Grant:
    return Grant(entity=entity, read=level, create=True, update=level, export=level, **extra)  # type: ignore[arg-type]


SALES_REP = RoleDefinition(
    key="sales_rep", label={"en": "Sales rep"},
    grants=[_grant("crm.*", "own"), _grant("crm.opportunity", "own", hidden_fields=["probability"])],
)  # fmt: skip
SALES_MANAGER = RoleDefinition(key="sales_manager", label={"en": "Sales manager"}, grants=[_grant("crm.*", "team")])
DIRECTOR = RoleDefinition(key="director", label={"en": "Director"}, grants=[_grant("crm.*", "all")])
ROLE_OF = {"rep": SALES_REP, "manager": SALES_MANAGER, "director": DIRECTOR}

# -- entities ------------------------------------------------------------------------------------------


def _select(key: str, options: tuple[str, ...]) -> dict[str, Any]:
    return {"key": key, "type": "select", "options": [{"key": o, "label": {"en": o.title()}} for o in options]}


def _money(key: str) -> dict[str, Any]:
    return {"key": key, "type": "decimal", "precision": 15, "scale": 2}


def _relation(key: str, target: str) -> dict[str, Any]:
    return {"key": key, "type": "relation", "target": target, "on_delete": "set_null"}


def _entity(key: str, display: str | None, *fields: dict[str, Any]) -> dict[str, Any]:
    doc = {"key": key, "label": {"en": key.title()}, "fields": list(fields)}
    return doc | ({"display_field": display} if display else {})


ACCOUNT = _entity("account", "name", {"key": "name", "type": "text", "required": True}, _select("industry", INDUSTRIES),
                  {"key": "region", "type": "text"}, _select("source", SOURCES))  # fmt: skip
ACCOUNT_ROLLUPS = (  # added once `order` exists: a formula reads the account's orders
    {"key": "order_count", "type": "formula", "expression": "COUNT(order.id)", "scale": 0},
    {"key": "lifetime_value", "type": "formula", "expression": "SUM(order.amount)", "scale": 2},
)
CAMPAIGN = _entity("campaign", "name", {"key": "name", "type": "text", "required": True}, _select("channel", CHANNELS),
                   _money("budget"), {"key": "start", "type": "date"})  # fmt: skip
LEAD = _entity("lead", "name", {"key": "name", "type": "text", "required": True}, _relation("campaign", "campaign"),
               _select("status", LEAD_STATUSES))  # fmt: skip
OPPORTUNITY = _entity(
    "opportunity", "name", {"key": "name", "type": "text", "required": True}, _relation("account", "account"),
    _relation("lead", "lead"), _select("stage", STAGES), _money("amount"), {"key": "probability", "type": "integer"},
    {"key": "expected_close", "type": "date"}, {"key": "region", "type": "text"},
    {"key": "won_amount", "type": "formula", "expression": "IF(stage = 'won', amount, 0)", "scale": 2},
)  # fmt: skip
PAYMENT = _entity("payment", None, _relation("opportunity", "opportunity"), _money("amount"), {"key": "paid_on", "type": "date"})
TICKET = _entity("ticket", None, _relation("account", "account"), {"key": "satisfaction", "type": "integer", "min": 1, "max": 5},
                 {"key": "first_response_at", "type": "datetime"}, {"key": "resolved_at", "type": "datetime"},
                 {"key": "first_contact_resolved", "type": "boolean", "default": False})  # fmt: skip
ORDER = _entity("order", None, _relation("account", "account"), _money("amount"), {"key": "ordered_on", "type": "date"})
ENTITIES = (ACCOUNT, CAMPAIGN, LEAD, OPPORTUNITY, PAYMENT, TICKET, ORDER)

# -- records -------------------------------------------------------------------------------------------


@dataclass(kw_only=True, eq=False)  # records compare by identity (they point at each other)
class Rec:
    owner: str
    created_at: datetime
    id: int = 0  # set when stored

    def local_created(self) -> datetime:
        return self.created_at.astimezone(TZ)


@dataclass(kw_only=True, eq=False)
class Account(Rec):
    name: str
    industry: str
    region: str
    source: str
    orders: list[Order] = field(default_factory=list, repr=False)

    def values(self) -> dict[str, Any]:
        return {"name": self.name, "industry": self.industry, "region": self.region, "source": self.source}


@dataclass(kw_only=True, eq=False)
class Campaign(Rec):
    name: str
    channel: str
    budget: Decimal
    start: date

    def values(self) -> dict[str, Any]:
        return {"name": self.name, "channel": self.channel, "budget": str(self.budget), "start": self.start.isoformat()}


@dataclass(kw_only=True, eq=False)
class Lead(Rec):
    name: str
    campaign: Campaign | None
    status: str

    def values(self) -> dict[str, Any]:
        return {"name": self.name, "campaign": self.campaign.id if self.campaign else None, "status": self.status}


@dataclass(kw_only=True, eq=False)
class Opportunity(Rec):
    name: str
    account: Account
    lead: Lead | None
    stage: str
    amount: Decimal | None
    probability: int | None
    expected_close: date
    region: str | None

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name, "account": self.account.id, "lead": self.lead.id if self.lead else None, "stage": self.stage,
            "amount": None if self.amount is None else str(self.amount), "probability": self.probability,
            "expected_close": self.expected_close.isoformat(), "region": self.region,
        }  # fmt: skip

    @property
    def won_amount(self) -> Decimal:
        return (self.amount or Decimal(0)) if self.stage == "won" else Decimal(0)


@dataclass(kw_only=True, eq=False)
class Payment(Rec):
    opportunity: Opportunity
    amount: Decimal
    paid_on: date

    def values(self) -> dict[str, Any]:
        return {"opportunity": self.opportunity.id, "amount": str(self.amount), "paid_on": self.paid_on.isoformat()}


@dataclass(kw_only=True, eq=False)
class Ticket(Rec):
    account: Account
    satisfaction: int | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    first_contact_resolved: bool

    def values(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return None if moment is None else moment.isoformat()

        return {"account": self.account.id, "satisfaction": self.satisfaction, "first_response_at": iso(self.first_response_at),
                "resolved_at": iso(self.resolved_at), "first_contact_resolved": self.first_contact_resolved}  # fmt: skip


@dataclass(kw_only=True, eq=False)
class Order(Rec):
    account: Account
    amount: Decimal
    ordered_on: date

    def values(self) -> dict[str, Any]:
        return {"account": self.account.id, "amount": str(self.amount), "ordered_on": self.ordered_on.isoformat()}


@dataclass
class Data:
    accounts: list[Account]
    campaigns: list[Campaign]
    leads: list[Lead]
    opportunities: list[Opportunity]
    payments: list[Payment]
    tickets: list[Ticket]
    orders: list[Order]

    def by_entity(self) -> list[tuple[str, list[Any]]]:
        """In the order they can be created (a relation's target first)."""
        return [("account", self.accounts), ("campaign", self.campaigns), ("lead", self.leads),
                ("opportunity", self.opportunities), ("payment", self.payments), ("ticket", self.tickets),
                ("order", self.orders)]  # fmt: skip


# Instants just around month and quarter ends in Shanghai (UTC+8): a UTC bucket would put them in
# the other month. Given to the first records of opportunities and tickets.
EDGE_INSTANTS = (
    datetime(2026, 3, 31, 16, 30, tzinfo=UTC),  # 1 April 00:30 local: Q2
    datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC),  # 30 June 23:59:59 local: Q2
    datetime(2026, 6, 30, 16, 0, tzinfo=UTC),  # 1 July 00:00 local: Q3
    datetime(2026, 11, 30, 17, 0, tzinfo=UTC),  # 1 December 01:00 local
)


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def owner(self) -> str:
        return self.rng.choices(list(OWNER_WEIGHTS), weights=list(OWNER_WEIGHTS.values()))[0]

    def instant(self) -> datetime:
        """A second in 2026 before today (15 December, Shanghai)."""
        span = int((datetime(2026, 12, 15, tzinfo=TZ).astimezone(UTC) - YEAR_START).total_seconds())
        return YEAR_START + timedelta(seconds=self.rng.randrange(span))

    def day(self) -> date:
        return date(2026, 1, 1) + timedelta(days=self.rng.randrange(348))

    def money(self, low: int, high: int) -> Decimal:
        return Decimal(self.rng.randrange(low * 100, high * 100)) / 100

    def maybe(self, chance: float) -> bool:
        return self.rng.random() < chance

    def accounts(self, n: int) -> list[Account]:
        return [Account(owner=self.owner(), created_at=self.instant(), name=f"Account {i + 1:02d}",
                        industry=self.rng.choice(INDUSTRIES), region=self.rng.choice(ACCOUNT_REGIONS),
                        source=self.rng.choice(SOURCES)) for i in range(n)]  # fmt: skip

    def campaigns(self) -> list[Campaign]:
        # Two online campaigns: a channel's budget is the sum over its campaigns; no partner campaign.
        channels = ("online", "event", "online", "referral")
        return [Campaign(owner=self.owner(), created_at=self.instant(), name=f"Campaign {i + 1}", channel=channel,
                         budget=self.money(20_000, 90_000), start=self.day()) for i, channel in enumerate(channels)]  # fmt: skip

    def leads(self, n: int, campaigns: list[Campaign]) -> list[Lead]:
        return [Lead(owner=self.owner(), created_at=self.instant(), name=f"Lead {i + 1:03d}",
                     campaign=None if self.maybe(0.05) else self.rng.choice(campaigns),
                     status=self.rng.choices(LEAD_STATUSES, weights=(3, 3, 2, 2))[0]) for i in range(n)]  # fmt: skip

    def opportunities(self, n: int, accounts: list[Account], leads: list[Lead]) -> list[Opportunity]:
        chance = {"qualify": 10, "needs": 25, "proposal": 50, "negotiation": 75, "won": 100, "lost": 0}
        out = []
        for i in range(n):
            stage = self.rng.choices(STAGES, weights=(20, 15, 15, 10, 20, 20))[0]
            out.append(Opportunity(
                owner=self.owner(), created_at=EDGE_INSTANTS[i] if i < len(EDGE_INSTANTS) else self.instant(),
                name=f"Deal {i + 1:03d}", account=self.rng.choice(accounts),
                lead=self.rng.choice(leads) if self.maybe(0.6) else None, stage=stage,
                amount=None if self.maybe(0.03) else self.money(1_000, 500_000),
                probability=None if self.maybe(0.05) else chance[stage], expected_close=self.day() + timedelta(days=30),
                region=None if self.maybe(0.05) else self.rng.choice(OPPORTUNITY_REGIONS),
            ))  # fmt: skip
        return out

    def payments(self, n: int, opportunities: list[Opportunity]) -> list[Payment]:
        won = [o for o in opportunities if o.stage == "won"]
        return [Payment(owner=self.owner(), created_at=self.instant(), opportunity=self.rng.choice(won),
                        amount=self.money(500, 100_000), paid_on=self.day()) for _ in range(n)]  # fmt: skip

    def tickets(self, n: int, accounts: list[Account]) -> list[Ticket]:
        out = []
        for i in range(n):
            created = EDGE_INSTANTS[i] if i < len(EDGE_INSTANTS) else self.instant()
            responded = None if self.maybe(0.1) else created + timedelta(minutes=self.rng.randint(5, 72 * 60))
            resolved = (
                None if responded is None or self.maybe(0.2) else responded + timedelta(minutes=self.rng.randint(0, 7 * 24 * 60))
            )
            out.append(Ticket(owner=self.owner(), created_at=created, account=self.rng.choice(accounts),
                              satisfaction=None if self.maybe(0.15) else self.rng.randint(1, 5), first_response_at=responded,
                              resolved_at=resolved, first_contact_resolved=resolved is not None and self.maybe(0.4)))  # fmt: skip
        return out

    def orders(self, n: int, accounts: list[Account]) -> list[Order]:
        buyers = accounts[: len(accounts) * 4 // 5]  # the last fifth never ordered
        weights = [1 + (i % 5) * 2 for i in range(len(buyers))]  # some buy once, some often
        out = []
        for _ in range(n):
            account = self.rng.choices(buyers, weights=weights)[0]
            order = Order(owner=self.owner(), created_at=self.instant(), account=account, amount=self.money(100, 20_000),
                          ordered_on=self.day())  # fmt: skip
            account.orders.append(order)
            out.append(order)
        return out


def generate(seed: int = SEED) -> Data:
    g = Generator(seed)
    accounts = g.accounts(30)
    campaigns = g.campaigns()
    leads = g.leads(120, campaigns)
    opportunities = g.opportunities(300, accounts, leads)
    return Data(accounts, campaigns, leads, opportunities, g.payments(100, opportunities), g.tickets(200, accounts),
                g.orders(150, accounts))  # fmt: skip


# -- building ------------------------------------------------------------------------------------------


@dataclass
class People:
    users: dict[str, int]
    tokens: dict[str, str]
    teams: dict[str, int]


def settings_for(url: str, var_dir: Path) -> Settings:
    return Settings(database_url=url, var_dir=str(var_dir), tangram_secret_key="test-secret", tangram_timezone=TIMEZONE)


async def seed_people(ctx: Context) -> People:
    async with ctx.db.write() as conn:
        admin, _ = await ctx.auth.ensure_admin(conn, "admin@example.com", "correct horse battery staple")
        now = ctx.clock.now()
        for role in (SALES_REP, SALES_MANAGER, DIRECTOR):
            await insert_role(conn, role, now)
        people = People({"admin": admin}, {}, {})
        for who in PEOPLE:
            people.users[who] = await ctx.auth.create_user(conn, f"{who}@example.com", who.title())
            await grant_role(conn, people.users[who], ROLE_OF[who.rstrip("0123456789")].key)
        for team, (manager, reps) in TEAMS.items():
            people.teams[team], _ = await insert_team(conn, team, None, people.users[manager], now)
            for who in (manager, *reps):
                await conn.execute(
                    insert(user_teams).values(user_id=people.users[who], team_id=people.teams[team], is_primary=True)
                )
        for who, uid in people.users.items():
            people.tokens[who], _ = await ctx.auth.create_token(conn, uid, "reports")
    return people


async def define_app(http: httpx.AsyncClient) -> None:
    r = await http.post("/api/v1/meta/apps", json={"key": APP, "label": {"en": "CRM"}})
    assert r.status_code == 201, r.text
    for doc in ENTITIES:
        r = await http.post(f"/api/v1/meta/apps/{APP}/entities", json=doc)
        assert r.status_code == 201, r.text
    r = await http.get(f"/api/v1/meta/apps/{APP}/entities/account")
    assert r.status_code == 200, r.text
    body = ACCOUNT | {"fields": [*ACCOUNT["fields"], *ACCOUNT_ROLLUPS], "version": r.json()["version"]}
    r = await http.put(f"/api/v1/meta/apps/{APP}/entities/account", json=body)
    assert r.status_code == 200, r.text


async def store_records(ctx: Context, data: Data, people: People) -> None:
    """Every record through the record service, each created at its own instant (the frozen clock
    is set to its created_at), owned by its generated owner."""
    clock = ctx.clock
    assert isinstance(clock, FrozenClock)
    async with ctx.db.write() as conn:
        admin = await load_access(conn, people.users["admin"], True, source="api")
        for key, records in data.by_entity():
            entity = await ctx.store.get(conn, APP, key)
            for rec in sorted(records, key=lambda r: r.created_at):
                clock.advance(rec.created_at - clock.now())
                stored = await ctx.records.create(conn, entity, rec.values() | {"owner": people.users[rec.owner]}, admin)
                rec.id = stored["id"]
    clock.advance(NOW - clock.now())


async def build(url: str, var_dir: Path, data: Data) -> People:
    ctx = Context(settings=settings_for(url, var_dir), db=Database(url), clock=FrozenClock(YEAR_START))
    try:
        people = await seed_people(ctx)
        transport = httpx.ASGITransport(app=create_app(ctx.settings, ctx))
        headers = {"Authorization": f"Bearer {people.tokens['admin']}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers) as http:
            await define_app(http)
        await store_records(ctx, data, people)
    finally:
        await ctx.db.dispose()
    return people


# -- templates: one built world per database, copied for each test ------------------------------------------


@dataclass
class Template:
    url: str  # the built database (SQLite: a file; PostgreSQL: a database to copy with CREATE DATABASE ... TEMPLATE)
    data: Data
    people: People


async def pg_execute(server_url: str, sql: str) -> None:
    dsn = make_url(server_url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_url(server_url: str, database: str) -> str:
    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


async def build_template(backend: str, migrated: str, workdir: Path, server_url: str | None) -> Template:
    """Build the world once into a copy of the migrated template (`migrated`: a file or a database name)."""
    data = generate()
    if backend == "sqlite":
        path = workdir / "report_world.db"
        shutil.copy(migrated, path)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        assert server_url is not None
        name = f"tangram_rw_{os.getpid()}"
        await pg_execute(server_url, f'DROP DATABASE IF EXISTS "{name}"')
        await pg_execute(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{migrated}"')
        url = pg_url(server_url, name)
    people = await build(url, workdir / "var", data)
    return Template(url, data, people)


@dataclass
class ReportWorld:
    ctx: Context
    data: Data
    people: People
    http: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    @property
    def users(self) -> dict[str, int]:
        return self.people.users

    def who(self, uid: int) -> str:
        return next(name for name, i in self.users.items() if i == uid)

    async def query(
        self, who: str, chart: dict[str, Any], filters: dict[str, Any] | None = None, status: int = 200, engine: str = ""
    ) -> dict[str, Any]:
        """An unsaved chart run as `who` (the builder's preview endpoint). `engine`: what the engine
        gets wrong when the status differs (the failure message then starts with "ENGINE:")."""
        body: dict[str, Any] = {"chart": chart} | ({"filters": filters} if filters is not None else {})
        r = await self.http[who].post(f"/api/v1/apps/{APP}/query", json=body)
        assert r.status_code == status, (f"ENGINE: {engine}: " if engine else "") + r.text
        return r.json()  # type: ignore[no-any-return]

    async def save_chart(self, chart: dict[str, Any]) -> None:
        r = await self.http["admin"].post(f"/api/v1/meta/apps/{APP}/charts", json=chart)
        assert r.status_code == 201, r.text

    async def ids(self, who: str, entity: str, condition: dict[str, Any] | None) -> set[int]:
        """The ids the records list gives `who` for this filter."""
        params: dict[str, Any] = {"limit": 1000} | ({"filter": json.dumps(condition)} if condition else {})
        r = await self.http[who].get(f"/api/v1/apps/{APP}/{entity}", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body.get("next_cursor") is None, "more than one page"
        return {item["id"] for item in body["items"]}


async def open_world(ctx: Context, template: Template) -> AsyncIterator[ReportWorld]:
    """The world on the test's copy of the template, one HTTP client per person."""
    world = ReportWorld(ctx, template.data, template.people)
    app = create_app(ctx.settings, ctx)
    async with AsyncExitStack() as stack:
        for who, token in template.people.tokens.items():
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
            world.http[who] = await stack.enter_async_context(client)
        yield world
