"""Paths through relations on a real database (both dialects): the targets a parser needs, loading
path values into native records in one query per hop, and API JSON back to native values."""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, insert, select

from engine.auth.tables import teams, user_teams, users
from engine.core.actor import SYSTEM
from engine.core.clock import FrozenClock
from engine.core.db import Database
from engine.expr.fields import Readable
from engine.expr.paths import entities_for, load_paths, required_paths
from engine.expr.to_python import compile_python
from engine.expr.values import native_record
from engine.formula.env import Env
from engine.records.serialize import record_json
from engine.schema.service import SchemaService
from engine.schema.store import EntityStore
from tests.unit.expr.support import ACCOUNT, THING, UNIT, parse

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
STAMP = {"version": 1, "created_at": NOW, "updated_at": NOW}
OTHER: dict[str, Any] = {"key": "other", "label": {"en": "Other"}, "fields": [{"key": "x", "type": "text"}]}


@pytest.fixture
async def world(database_url: str):
    db = Database(database_url)
    store = EntityStore()
    schema = SchemaService(store, FrozenClock(NOW))
    async with db.write() as conn:
        for app in ("crm", "hr"):
            await schema.create_app(conn, app, {"en": app}, None)
        await schema.create_entity(conn, "hr", UNIT, SYSTEM)
        await schema.create_entity(conn, "hr", OTHER, SYSTEM)
        account = await schema.create_entity(conn, "crm", ACCOUNT, SYSTEM)
        thing = await schema.create_entity(conn, "crm", THING, SYSTEM)
        await conn.execute(insert(users), [{"id": u, "email": f"u{u}@x.io", "name": f"U{u}", "created_at": NOW} for u in (1, 2)])
        await conn.execute(insert(teams), [{"id": 5, "key": "t5", "label": {"en": "T"}, "path": "/5/", "created_at": NOW}])
        await conn.execute(insert(user_teams).values(user_id=1, team_id=5, is_primary=True))
        accounts = [  # id, name, tier, parent, owner, deleted_at
            (1, "Parent", 9, None, 2, None),
            (2, "Acme", 1, 1, 1, None),
            (3, "Gone", 5, 1, None, NOW),
        ]
        keys = ("id", "name", "tier", "parent", "owner", "deleted_at")
        await conn.execute(insert(account.table), [{**STAMP, **dict(zip(keys, a, strict=True))} for a in accounts])
        things = [{**STAMP, "id": i, "acct": [2, 3, None, 99][i % 4], "who": [1, 2, None][i % 3]} for i in range(1, 41)]
        await conn.execute(insert(thing.table), things)
    yield {"db": db, "store": store, "account": account, "thing": thing}
    await db.dispose()


async def test_entities_for_lists_the_app_and_other_apps_targets(world):
    async with world["db"].read() as conn:
        found = await entities_for(world["store"], conn, world["thing"])
    assert set(found) == {"account", "thing", "hr.unit"}  # hr.other is not reachable


def test_required_paths_include_operands():
    node = parse({"all": [{"field": "acct.name", "op": "is_empty"}, {"field": "n", "op": "lt", "value": {"field": "acct.tier"}}]})
    assert required_paths(node) == {"acct.name", "n", "acct.tier"}


async def test_load_paths_fills_dotted_keys_with_one_query_per_hop(world):
    thing = world["thing"]
    paths = {"acct.name", "acct.parent.tier", "acct.owner.team", "who.email", "who.team", "n"}
    statements: list[str] = []
    async with world["db"].read() as conn:
        records = [dict(r._mapping) for r in await conn.execute(select(thing.table).order_by(thing.table.c.id))]
        targets = await entities_for(world["store"], conn, thing)

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(conn.sync_connection, "before_cursor_execute", count)
        await load_paths(conn, targets, thing, records, paths)
        event.remove(conn.sync_connection, "before_cursor_execute", count)
    assert len(statements) == 4  # acct, acct -> parent, acct -> owner, who: not one per record
    by_id = {r["id"]: r for r in records}
    # record 1 points at the deleted account 3, and at user 2, who has no team
    assert by_id[1]["acct.name"] is None and by_id[1]["who.email"] == "u2@x.io" and by_id[1]["who.team"] is None
    assert (by_id[4]["acct.name"], by_id[4]["acct.parent.tier"], by_id[4]["acct.owner.team"]) == ("Acme", 9, 5)
    assert by_id[2]["acct.name"] is None and by_id[2]["who.email"] is None  # no account, no user
    assert (by_id[3]["acct.name"], by_id[3]["who.email"], by_id[3]["who.team"]) == (None, "u1@x.io", 5)  # no account 99


async def test_load_paths_respect_a_row_filter(world):
    thing, account = world["thing"], world["account"]
    targets = {"account": Readable(account, where=lambda t: t.c.id != 2)}
    async with world["db"].read() as conn:
        records = [dict(r._mapping) for r in await conn.execute(select(thing.table).where(thing.table.c.id == 4))]
        await load_paths(conn, targets, thing, records, {"acct.name"})
    assert records[0]["acct.name"] is None
    with pytest.raises(ValueError, match="not a path"):
        await load_paths(conn, {}, thing, records, {"acct.name"})


async def test_native_record_reverses_the_api_json(world):
    thing = world["thing"]
    native = {
        **STAMP, "id": 1, "name": "A", "email": "a@x.io", "n": 3, "amount": Decimal("19.99"), "flag": False, "kind": "a",
        "tags": ["a", "c"], "day": date(2024, 2, 29), "day2": None, "at": datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC),
        "who": 1, "acct": 2, "acct2": None, "data": {"k": [1, 2]}, "files": ["Fq3x9T0bYk2LmN8pQr4sUv"], "owner": 1,
        "created_by": None, "updated_by": None, "deleted_at": None,
    }  # fmt: skip
    as_json = record_json(thing, native)
    assert as_json["amount"] == 19.99 and as_json["at"] == "2026-01-02T03:04:05.600000Z"
    assert native_record(thing, as_json) == native
    expanded = native_record(thing, {"acct": {"id": 2, "name": "Acme"}, "unknown": 1})
    assert expanded == {"acct": 2}


async def test_a_condition_on_loaded_paths(world):
    """The rule engine's path: a record from an event, its paths loaded, the compiled condition."""
    thing = world["thing"]
    node = parse(
        {"all": [{"field": "acct.owner.team", "op": "eq", "value": {"var": "user.team"}}, {"field": "who", "op": "is_not_empty"}]}
    )
    async with world["db"].read() as conn:
        records = [dict(r._mapping) for r in await conn.execute(select(thing.table).order_by(thing.table.c.id))]
        await load_paths(conn, await entities_for(world["store"], conn, thing), thing, records, required_paths(node))
    accepted = [r["id"] for r in records if compile_python(node)(r, Env(NOW, user_team_id=5))]
    # Account 2 is owned by user 1, whose primary team is 5; `who` is empty on every third record.
    assert accepted == [i for i in range(1, 41) if i % 4 == 0 and i % 3 != 2]
