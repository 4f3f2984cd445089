"""Property test: for random conditions over random records, the SQL back end selects exactly the
records the Python back end accepts, NULLs, paths through relations and relative dates included,
on SQLite and PostgreSQL (ARCHITECTURE.md "One expression language, two back ends").

Hypothesis runs synchronously; each example does its database work through one asyncio Runner, in
a transaction that is rolled back (`Database.rehearse`), so examples never see each other's rows.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from engine.auth.tables import teams, user_teams, users
from engine.core.actor import SYSTEM
from engine.core.clock import FrozenClock
from engine.core.db import Database
from engine.core.errors import ErrorCollector
from engine.expr.condition import parse_condition
from engine.expr.fields import Readable
from engine.expr.operators import CHANGES, OPS_BY_TYPE
from engine.expr.paths import load_paths, required_paths
from engine.expr.to_python import compile_python
from engine.expr.to_sql import to_sql
from engine.formula.env import Env
from engine.schema.service import SchemaService
from engine.schema.store import EntityStore
from tests.unit.expr.support import ACCOUNT, THING, UNIT

NOWS = [
    datetime(2026, 11, 23, 9, 30, tzinfo=UTC),  # a Monday
    datetime(2024, 2, 29, 23, 45, tzinfo=UTC),  # leap day, late: already Mar 1 east of UTC
    datetime(2025, 2, 28, 12, 0, tzinfo=UTC),  # Feb 29 anniversaries fall today
    datetime(2026, 12, 31, 20, 0, 0, 500000, tzinfo=UTC),  # new year in Shanghai, not in New York
    datetime(2026, 3, 8, 6, 59, tzinfo=UTC),  # US daylight-saving change
]
ZONES = ["UTC", "Asia/Shanghai", "America/New_York"]
OPTIONS = ["a", "b", "c"]
EMAILS = ["a@x.io", "ab@x.io", "b@y.org"]
EXAMPLES = 150
CONDITIONS_PER_EXAMPLE = 10

# Every path the conditions use, with its kind.
PATHS = {
    "id": "integer", "name": "text", "email": "email", "n": "integer", "amount": "decimal", "flag": "boolean",
    "kind": "select", "tags": "multi_select", "day": "date", "day2": "date", "at": "datetime",
    "updated_at": "datetime", "who": "user", "owner": "user", "acct": "relation", "acct2": "relation", "data": "json",
    "files": "attachment", "acct.name": "text", "acct.tier": "integer", "acct.parent.tier": "integer", "acct.parent.name": "text",
    "acct.elsewhere.code": "text", "acct.owner.team": "team", "owner.team": "team", "who.team": "team",
    "who.email": "email", "who.name": "text",
}  # fmt: skip
FAMILIES = {"integer": "number", "decimal": "number", "email": "text"}


def _family(kind: str) -> str:
    return FAMILIES.get(kind, kind)


# -- values -----------------------------------------------------------------------------------------
def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


texts = st.text(alphabet="aAbB%_ 中", max_size=4)
amounts = st.integers(-300, 300).map(lambda c: Decimal(c) / 100)
tag_sets = st.lists(st.sampled_from(OPTIONS), unique=True).map(lambda ks: [k for k in OPTIONS if k in ks])
SPECIAL_DAYS = [date(2024, 2, 29), date(2023, 2, 28), date(2025, 3, 1), date(2026, 12, 31), date(2027, 1, 1), date(2026, 11, 30)]


def days_around(now: datetime) -> st.SearchStrategy[date]:
    today = now.date()
    return st.integers(-400, 400).map(lambda d: today + timedelta(days=d)) | st.sampled_from(SPECIAL_DAYS)


def instants_around(now: datetime) -> st.SearchStrategy[datetime]:
    minutes = st.integers(-600_000, 600_000).map(lambda m: now + timedelta(minutes=m))
    midnights = st.builds(
        lambda d, z, s: datetime.combine(d, datetime.min.time(), ZoneInfo(z)).astimezone(UTC) + timedelta(microseconds=s),
        days_around(now), st.sampled_from(ZONES), st.sampled_from([-1, 0, 1]),
    )  # fmt: skip
    return minutes | midnights | st.just(now)


def thing_rows(now: datetime) -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries(
        {
            "name": _maybe(texts), "email": _maybe(st.sampled_from(EMAILS)), "n": _maybe(st.integers(-3, 3)),
            "amount": _maybe(amounts), "flag": _maybe(st.booleans()), "kind": _maybe(st.sampled_from(OPTIONS)),
            "tags": _maybe(tag_sets), "day": _maybe(days_around(now)), "day2": _maybe(days_around(now)),
            "at": _maybe(instants_around(now)), "updated_at": instants_around(now),
            "who": st.sampled_from([1, 2, 3, None]), "owner": st.sampled_from([1, 2, 3, None]),
            "acct": st.sampled_from([1, 2, 3, 4, 99, None]), "acct2": st.sampled_from([1, 2, None]),
            "data": st.sampled_from([None, {"x": 1}, []]),
            "files": st.sampled_from([None, [], ["Fq3x9T0bYk2LmN8pQr4sUv"], ["Fq3x9T0bYk2LmN8pQr4sUv", "a-b_c-d_e-f_g-h_i"]]),
        }
    )  # fmt: skip
    return st.lists(row, min_size=1, max_size=14)


account_rows = st.lists(
    st.fixed_dictionaries(
        {
            "name": _maybe(texts), "tier": _maybe(st.integers(-3, 3)), "parent": st.sampled_from([1, 2, 3, None]),
            "elsewhere": st.sampled_from([1, 2, None]), "owner": st.sampled_from([1, 2, 3, None]),
            "deleted": st.sampled_from([False, False, False, True]),
        }
    ),
    min_size=4, max_size=4,
)  # fmt: skip


# -- conditions -----------------------------------------------------------------------------------
def _literal(kind: str, now: datetime) -> st.SearchStrategy[Any]:
    return {
        "text": texts, "email": st.sampled_from(EMAILS), "integer": st.integers(-3, 3), "decimal": amounts.map(str),
        "boolean": st.booleans(), "select": st.sampled_from(OPTIONS), "date": days_around(now).map(date.isoformat),
        "datetime": instants_around(now).map(datetime.isoformat), "user": st.integers(1, 3), "team": st.integers(1, 2),
        "relation": st.integers(1, 4), "json": st.nothing(), "multi_select": tag_sets,
        "attachment": st.nothing(),
    }[kind]  # fmt: skip


SPAN_UNITS = {"date": ["days", "weeks", "months"], "datetime": ["minutes", "hours", "days", "weeks", "months"]}
PERIODS = [f"{w}_{u}" for w in ("this", "last", "next") for u in ("week", "month", "quarter", "year")]
VARS = {"date": "today", "datetime": "now", "user": "user", "team": "user.team"}
ORDERED = {"integer", "decimal", "date", "datetime"}
TEXTUAL = {"text", "email"}


def op_groups(kind: str) -> dict[str, list[str]]:
    """The operators generated for a kind, by the shape of value they take."""
    ordered = ["gt", "gte", "lt", "lte"] if kind in ORDERED else []
    comparable = kind not in ("json", "multi_select", "attachment")
    relative = kind in SPAN_UNITS
    return {
        "none": ["is_empty", "is_not_empty"]
        + (["is_today", *PERIODS] if relative else [])
        + (["anniversary_today"] if kind == "date" else []),
        "literal": ["eq", "ne", *ordered] if comparable else [],
        "list": ["in", "not_in"] if comparable else [],
        "between": ["between"] if kind in ORDERED else [],
        "text": ["contains", "not_contains", "starts_with", "ends_with"] if kind in TEXTUAL else [],
        "span": ["older_than", "within_last", "within_next"] if relative else [],
        "set": ["has_any", "has_all"] if kind == "multi_select" else [],
    }


def comparisons(path: str, now: datetime) -> st.SearchStrategy[dict[str, Any]]:
    kind = PATHS[path]
    lit = _literal(kind, now)
    groups = op_groups(kind)
    peers = [p for p in PATHS if p != path and _family(PATHS[p]) == _family(kind)]
    span = st.fixed_dictionaries({"amount": st.integers(0, 40), "unit": st.sampled_from(SPAN_UNITS.get(kind, ["days"]))})
    values = {
        "literal": lit
        | (st.sampled_from(peers).map(lambda p: {"field": p}) if peers else st.nothing())
        | (st.just({"var": VARS[kind]}) if kind in VARS else st.nothing()),
        "list": st.lists(lit, min_size=1, max_size=3),
        "between": st.lists(lit, min_size=2, max_size=2).map(sorted),
        "text": texts,
        "span": span,
        "set": tag_sets.filter(bool),
    }
    options = [st.sampled_from(groups["none"]).map(lambda op: {"op": op})]
    for shape, ops in groups.items():
        if ops and shape != "none":
            options.append(st.builds(lambda op, v: {"op": op, "value": v}, st.sampled_from(ops), values[shape]))
    return st.one_of(options).map(lambda d: {"field": path, **d})


def conditions(now: datetime) -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.sampled_from(sorted(PATHS)).flatmap(lambda p: comparisons(p, now))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda k, items: {k: items}, st.sampled_from(["all", "any"]), st.lists(inner, min_size=1, max_size=3)),
            inner.map(lambda c: {"not": c}),
        ),
        max_leaves=4,
    )


@st.composite
def examples(draw: st.DrawFn) -> dict[str, Any]:
    now = draw(st.sampled_from(NOWS))
    return {
        "env": Env(
            now, ZoneInfo(draw(st.sampled_from(ZONES))), draw(st.sampled_from([1, 2, None])), draw(st.sampled_from([1, 2, None]))
        ),
        "things": draw(thing_rows(now)),
        "accounts": draw(account_rows),
        "conditions": draw(st.lists(conditions(now), min_size=CONDITIONS_PER_EXAMPLE, max_size=CONDITIONS_PER_EXAMPLE)),
    }  # fmt: skip


# -- the world: three users, two teams, entities in two apps --------------------------------------------
class World:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def build(self) -> None:
        now = NOWS[0]
        schema = SchemaService(EntityStore(), FrozenClock(now))
        async with self.db.write() as conn:
            for app in ("crm", "hr"):
                await schema.create_app(conn, app, {"en": app}, None)
            self.unit = await schema.create_entity(conn, "hr", UNIT, SYSTEM)
            self.account = await schema.create_entity(conn, "crm", ACCOUNT, SYSTEM)
            self.thing = await schema.create_entity(conn, "crm", THING, SYSTEM)
            people = [{"id": u, "email": f"u{u}@x.io", "name": f"User {u}", "created_at": now} for u in (1, 2, 3)]
            await conn.execute(insert(users), people)
            groups = [{"id": t, "key": f"t{t}", "label": {"en": "T"}, "path": f"/{t}/", "created_at": now} for t in (1, 2)]
            await conn.execute(insert(teams), groups)
            # user 1: primary team 1 (and team 2); user 2: primary team 2; user 3: no team
            rows = [(1, 1, True), (1, 2, False), (2, 2, True)]
            await conn.execute(insert(user_teams), [{"user_id": u, "team_id": t, "is_primary": p} for u, t, p in rows])
        # The caller may not read account 4: paths through it are empty on both back ends.
        self.targets = {
            "account": Readable(self.account, where=lambda t: t.c.id != 4),
            "thing": self.thing,
            "hr.unit": self.unit,
        }

    def parse(self, doc: Any) -> Any:
        errors = ErrorCollector()
        node = parse_condition(doc, self.thing, errors, "", frozenset(), self.targets)
        assert not errors, (doc, errors.errors)
        return node

    async def disagreements(self, example: dict[str, Any]) -> list[Any]:
        env, nodes = example["env"], [self.parse(c) for c in example["conditions"]]
        out = []
        async with self.db.rehearse() as conn:
            await self._insert(conn, example)
            t = self.thing.table
            live = [dict(r._mapping) for r in await conn.execute(select(t).where(t.c.deleted_at.is_(None)))]
            await load_paths(conn, self.targets, self.thing, live, set().union(*(required_paths(n) for n in nodes)))
            for doc, node in zip(example["conditions"], nodes, strict=True):
                query = select(t.c.id).where(t.c.deleted_at.is_(None), to_sql(node, t, env))
                by_sql = set((await conn.execute(query)).scalars())
                by_python = {r["id"] for r in live if compile_python(node)(r, env)}
                if by_sql != by_python:
                    out.append((doc, sorted(by_sql), sorted(by_python)))
        return out

    async def _insert(self, conn: Any, example: dict[str, Any]) -> None:
        stamp = {"version": 1, "created_at": NOWS[0], "updated_at": NOWS[0]}
        await conn.execute(insert(self.unit.table), [{"id": 1, "code": "X1", **stamp}, {"id": 2, "code": None, **stamp}])
        accounts = [
            {**stamp, "id": i, **{k: v for k, v in a.items() if k != "deleted"}, "deleted_at": NOWS[0] if a["deleted"] else None}
            for i, a in enumerate(example["accounts"], 1)
        ]
        await conn.execute(insert(self.account.table), accounts)
        things = [{**stamp, "id": i, **row} for i, row in enumerate(example["things"], 1)]
        await conn.execute(insert(self.thing.table), things)


# Shrinking a failure of this size takes minutes; the failing example is printed whole instead.
QUICK = settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate]
)


def test_sql_and_python_back_ends_select_the_same_records(database_url: str) -> None:
    with asyncio.Runner() as runner:
        world = World(Database(database_url))
        runner.run(world.build())

        @QUICK
        @given(examples())
        def agree(example: dict[str, Any]) -> None:
            assert runner.run(world.disagreements(example)) == []

        try:
            agree()
        finally:
            runner.run(world.db.dispose())


def test_the_generator_reaches_every_operator() -> None:
    """A guard on the property test itself: its conditions use every operator but changed*."""
    generated = {op for kind in set(PATHS.values()) for ops in op_groups(kind).values() for op in ops}
    assert generated == set().union(*OPS_BY_TYPE.values()) - CHANGES
