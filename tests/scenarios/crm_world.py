"""The X2 sales organisation, seeded straight through the services and tables (no admin API):

    sales (manager: Manager)        roles: sales_rep   crm.* own (read, update), create; no delete, no export;
    |-- east: rep_e1, rep_e2                           crm.account the same, `margin` hidden, `cost` read-only
    `-- west: rep_w1                       sales_manager  crm.* team (read, update, delete, export), assign
    director (no team), viewer              director       crm.* all (read, update, export), create, assign
                                           read_only      the built-in role: read and export everything

Accounts and contacts owned by various users; account Gamma (rep_e2's) is shared with rep_w1 (view only).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.api.app import create_app
from engine.api.context import Context
from engine.auth.roles import Grant, RoleDefinition
from engine.auth.service import grant_role
from engine.auth.tables import api_tokens, record_shares, roles, teams, user_teams
from tests.factories import make_app

ACCOUNTS_PATH = "/api/v1/apps/crm/account"
CONTACTS_PATH = "/api/v1/apps/crm/contact"

ACCOUNT = {
    "key": "account",
    "label": {"en": "Account", "zh-CN": "客户"},
    "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "region", "type": "text"},
        {"key": "margin", "type": "decimal", "precision": 15, "scale": 2},
        {"key": "cost", "type": "decimal", "precision": 15, "scale": 2},
    ],
}
CONTACT = {
    "key": "contact",
    "label": {"en": "Contact", "zh-CN": "联系人"},
    "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "account", "type": "relation", "target": "account", "on_delete": "restrict"},
    ],
}

SALES_REP = RoleDefinition(
    key="sales_rep",
    label={"en": "Sales rep", "zh-CN": "销售代表"},
    grants=[
        Grant(entity="crm.*", read="own", create=True, update="own", delete="none", export="none"),
        # The most specific grant replaces the wildcard for this entity, so it repeats the rights.
        Grant(
            entity="crm.account", read="own", create=True, update="own", delete="none", export="none",
            hidden_fields=["margin"], read_only_fields=["cost"],
        ),
    ],
)  # fmt: skip
SALES_MANAGER = RoleDefinition(
    key="sales_manager",
    label={"en": "Sales manager", "zh-CN": "销售经理"},
    grants=[Grant(entity="crm.*", read="team", create=True, update="team", delete="team", export="team", assign=True)],
)
DIRECTOR = RoleDefinition(
    key="director",
    label={"en": "Sales director", "zh-CN": "销售总监"},
    grants=[Grant(entity="crm.*", read="all", create=True, update="all", export="all", assign=True)],
)

# user -> (team or None, role keys)
PEOPLE: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "rep_e1": ("east", ("sales_rep",)),
    "rep_e2": ("east", ("sales_rep",)),
    "rep_w1": ("west", ("sales_rep",)),
    "manager": ("sales", ("sales_manager",)),
    "director": (None, ("director",)),
    "viewer": (None, ("read_only",)),
}
USERS = ("admin", *PEOPLE)

# name -> (owner, region, margin, cost)
ACCOUNTS: dict[str, tuple[str, str, float, float]] = {
    "Acme": ("rep_e1", "east", 12.5, 100),
    "Beta": ("rep_e1", "west", 8, 50),
    "Gamma": ("rep_e2", "east", 20, 70),
    "Delta": ("rep_w1", "west", 5, 30),
    "Epsilon": ("manager", "east", 30, 10),
    "Zeta": ("director", "east", 40, 20),
    "Eta": ("admin", "west", 1, 1),
}
# name -> (owner, account name)
CONTACTS: dict[str, tuple[str, str]] = {
    "Li Lei": ("rep_e1", "Acme"),
    "Han Mei": ("rep_e1", "Zeta"),  # rep_e1's contact at an account rep_e1 cannot read
    "Wang Wu": ("rep_w1", "Delta"),
    "Zhao Liu": ("rep_e2", "Gamma"),
    "Sun Qi": ("director", "Zeta"),
}
SHARED = ("Gamma", "rep_w1")  # account, user it is shared with (view only at first)

ALL_ACCOUNTS = frozenset(ACCOUNTS)
ALL_CONTACTS = frozenset(CONTACTS)
SALES_TEAM = frozenset({"rep_e1", "rep_e2", "rep_w1", "manager"})  # sales and its sub-teams


def owned(records: dict[str, tuple[Any, ...]], owners: frozenset[str] | set[str]) -> frozenset[str]:
    return frozenset(name for name, spec in records.items() if spec[0] in owners)


# Who reads which accounts: own; own + shared; the sales tree; everything.
READ_ACCOUNTS: dict[str, frozenset[str]] = {
    "admin": ALL_ACCOUNTS,
    "rep_e1": owned(ACCOUNTS, {"rep_e1"}),
    "rep_e2": owned(ACCOUNTS, {"rep_e2"}),
    "rep_w1": owned(ACCOUNTS, {"rep_w1"}) | {"Gamma"},
    "manager": owned(ACCOUNTS, SALES_TEAM),
    "director": ALL_ACCOUNTS,
    "viewer": ALL_ACCOUNTS,
}
READ_CONTACTS: dict[str, frozenset[str]] = {
    "admin": ALL_CONTACTS,
    "rep_e1": owned(CONTACTS, {"rep_e1"}),
    "rep_e2": owned(CONTACTS, {"rep_e2"}),
    "rep_w1": owned(CONTACTS, {"rep_w1"}),
    "manager": owned(CONTACTS, SALES_TEAM),
    "director": ALL_CONTACTS,
    "viewer": ALL_CONTACTS,
}
UPDATE_ACCOUNTS: dict[str, frozenset[str]] = {
    **READ_ACCOUNTS,
    "rep_w1": owned(ACCOUNTS, {"rep_w1"}),  # the share is view-only
    "viewer": frozenset(),
}
# None: the export is refused (403).
EXPORT_ACCOUNTS: dict[str, frozenset[str] | None] = {
    **READ_ACCOUNTS,
    "rep_e1": None,
    "rep_e2": None,
    "rep_w1": None,
}


@dataclass
class World:
    ctx: Context
    users: dict[str, int]
    tokens: dict[str, str]
    teams: dict[str, int]
    http: dict[str, httpx.AsyncClient] = field(default_factory=dict)
    accounts: dict[str, int] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)
    app: Any = None
    stack: AsyncExitStack | None = None

    def __getitem__(self, who: str) -> httpx.AsyncClient:
        return self.http[who]

    def account_names(self, ids: list[int]) -> list[str]:
        by_id = {v: k for k, v in self.accounts.items()}
        return [by_id[i] for i in ids]

    def contact_names(self, ids: list[int]) -> list[str]:
        by_id = {v: k for k, v in self.contacts.items()}
        return [by_id[i] for i in ids]

    async def list_names(self, who: str, path: str = ACCOUNTS_PATH, **params: Any) -> list[str]:
        r = await self.http[who].get(path, params={"limit": 1000, **params})
        assert r.status_code == 200, (who, r.text)
        ids = [item["id"] for item in r.json()["items"]]
        return self.account_names(ids) if path.startswith(ACCOUNTS_PATH) else self.contact_names(ids)

    async def versions(self) -> dict[str, int]:
        """Every live account's version, read by the administrator."""
        r = await self.http["admin"].get(ACCOUNTS_PATH, params={"limit": 1000})
        by_id = {v: k for k, v in self.accounts.items()}
        return {by_id[item["id"]]: item["version"] for item in r.json()["items"]}

    async def add_person(self, who: str, roles_: list[RoleDefinition | str], team: str | None = None) -> httpx.AsyncClient:
        """One more user with these roles (new role definitions are inserted first) and a client."""
        async with self.ctx.db.write() as conn:
            self.users[who] = await self.ctx.auth.create_user(conn, f"{who}@example.com", who)
            for role in roles_:
                if isinstance(role, RoleDefinition):
                    await insert_role(conn, role, self.ctx.clock.now())
                await grant_role(conn, self.users[who], role if isinstance(role, str) else role.key)
            if team is not None:
                await conn.execute(insert(user_teams).values(user_id=self.users[who], team_id=self.teams[team], is_primary=True))
            self.tokens[who], _ = await self.ctx.auth.create_token(conn, self.users[who], "x2")
        return await self.open_client(who)

    async def open_client(self, who: str) -> httpx.AsyncClient:
        assert self.stack is not None
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        transport = httpx.ASGITransport(app=self.app)
        client = httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)
        self.http[who] = await self.stack.enter_async_context(client)
        return client

    async def set_token(self, who: str, *, read_only: bool = False, apps: list[str] | None = None) -> str:
        """A new token for `who`, narrowed as given (written to its row: seeded without the token API)."""
        async with self.ctx.db.write() as conn:
            token, info = await self.ctx.auth.create_token(conn, self.users[who], "narrowed")
            await conn.execute(update(api_tokens).where(api_tokens.c.id == info["id"]).values(read_only=read_only, apps=apps))
        return token


def csv_rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def errors_of(response: httpx.Response) -> list[tuple[str, str]]:
    return [(e["path"], e["code"]) for e in response.json().get("errors", [])]


def flt(field_key: str, op: str, value: Any) -> str:
    return json.dumps({"field": field_key, "op": op, "value": value})


async def insert_role(conn: AsyncConnection, role: RoleDefinition, now: Any) -> None:
    values = {"key": role.key, "definition": role.model_dump(mode="json"), "builtin": False, "created_at": now, "updated_at": now}
    await conn.execute(insert(roles).values(**values))


async def insert_team(
    conn: AsyncConnection, key: str, parent: tuple[int, str] | None, manager: int | None, now: Any
) -> tuple[int, str]:
    """A team row with its materialised path ("/sales/east/" as ids: "/1/2/")."""
    values = {"key": key, "label": {"en": key.title()}, "parent_id": parent[0] if parent else None, "manager_id": manager,
              "path": "", "created_at": now}  # fmt: skip
    tid = (await conn.execute(insert(teams).values(**values).returning(teams.c.id))).scalar_one()
    path = f"{parent[1] if parent else '/'}{tid}/"
    await conn.execute(update(teams).where(teams.c.id == tid).values(path=path))
    return tid, path


async def seed_people(ctx: Context, admin_id: int, admin_token: str) -> World:
    users, tokens = {"admin": admin_id}, {"admin": admin_token}
    async with ctx.db.write() as conn:
        now = ctx.clock.now()
        for role in (SALES_REP, SALES_MANAGER, DIRECTOR):
            await insert_role(conn, role, now)
        for who in PEOPLE:
            users[who] = await ctx.auth.create_user(conn, f"{who}@example.com", who)
        sales = await insert_team(conn, "sales", None, users["manager"], now)
        east = await insert_team(conn, "east", sales, None, now)
        west = await insert_team(conn, "west", sales, None, now)
        team_ids = {"sales": sales[0], "east": east[0], "west": west[0]}
        for who, (team, role_keys) in PEOPLE.items():
            if team is not None:
                await conn.execute(insert(user_teams).values(user_id=users[who], team_id=team_ids[team], is_primary=True))
            for key in role_keys:
                await grant_role(conn, users[who], key)
            tokens[who], _ = await ctx.auth.create_token(conn, users[who], "x2")
    return World(ctx, users, tokens, team_ids)


async def seed_records(world: World) -> None:
    """Accounts and contacts, created by the administrator over the API with explicit owners."""
    admin = world["admin"]
    for name, (owner, region, margin, cost) in ACCOUNTS.items():
        body = {"name": name, "region": region, "margin": margin, "cost": cost, "owner": world.users[owner]}
        r = await admin.post(ACCOUNTS_PATH, json=body)
        assert r.status_code == 201, r.text
        world.accounts[name] = r.json()["id"]
    for name, (owner, account) in CONTACTS.items():
        body = {"name": name, "account": world.accounts[account], "owner": world.users[owner]}
        r = await admin.post(CONTACTS_PATH, json=body)
        assert r.status_code == 201, r.text
        world.contacts[name] = r.json()["id"]
    await share(world, *SHARED, can_edit=False)


async def share(world: World, account: str, who: str, *, can_edit: bool) -> None:
    """Share an account with a user (insert, or change can_edit of the existing share), written to the
    table directly; like the sharing API, it then drops this process's cached accesses."""
    s = record_shares
    async with world.ctx.db.write() as conn:
        done = await conn.execute(
            update(s)
            .where(
                s.c.app == "crm",
                s.c.entity == "account",
                s.c.record_id == world.accounts[account],
                s.c.user_id == world.users[who],
            )
            .values(can_edit=can_edit)
        )
        if done.rowcount == 0:
            await conn.execute(
                insert(s).values(
                    app="crm", entity="account", record_id=world.accounts[account], user_id=world.users[who],
                    can_edit=can_edit, created_at=world.ctx.clock.now(), created_by=world.users["admin"],
                )
            )  # fmt: skip
    world.ctx.auth.forget_cached()


@asynccontextmanager
async def crm_world(ctx: Context, admin: dict[str, Any]) -> AsyncIterator[World]:
    """The seeded world with one HTTP client per user (bearer token of that user)."""
    world = await seed_people(ctx, int(admin["id"]), str(admin["token"]))
    world.app = create_app(ctx.settings, ctx)
    async with AsyncExitStack() as world.stack:
        for who in USERS:
            await world.open_client(who)
        await make_app(world["admin"], "crm", ACCOUNT, CONTACT)
        await seed_records(world)
        yield world
