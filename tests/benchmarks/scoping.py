"""Scoped-read benchmark (X2): the list benchmark's filtered page read through an `own` and a `team`
read scope, each beside the same page read unscoped (an administrator's Access), with the SQL and plan
of the scoped queries.

Ten users own the table's rows in turn (row id % 10), so each owns about a tenth; five of them form a
team. The `own` reader is a member owning a tenth; the `team` reader is another member whose team
owns half. A third reader, `own, sparse`, owns one row in a thousand (a rep in a large company): the
case where a scope is most selective. Their Access is loaded the way a request loads it (roles, teams
with sub-teams).
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import func, insert, select, update

from engine.auth.access import load_access
from engine.auth.policy import Access, scope
from engine.auth.roles import Grant, RoleDefinition
from engine.auth.service import grant_role
from engine.auth.tables import roles, teams, user_teams
from engine.records.query import build_select, parse_list_query
from engine.records.reads import scoped
from tests.benchmarks.lists import FILTER, PAGE, WARMUP, _one_line, explain
from tests.benchmarks.measure import Metric, Section, Step, interleave, percentile
from tests.benchmarks.report import progress
from tests.benchmarks.workload import APP, Bench

OWNERS = 10  # users owning the rows in turn: each owns ~1/OWNERS of them
TEAM_SIZE = 5
SPARSE = 1000  # the sparse reader owns the rows with id % SPARSE == SPARSE_SLOT (taken from a non-reader)
SPARSE_SLOT = 7
MAX_RATIO = 1.3
LEVELS = ("own", "team")
READERS = {"own": "own scope (owns 1/10)", "team": "team scope (team owns 5/10)", "sparse": "own scope (owns 1/1000)"}


def _query(b: Bench) -> Any:
    return parse_list_query(
        b.entity, filter=json.dumps(FILTER), sort=None, limit=PAGE, cursor=None, fields=None, expand=None, count=False
    )


async def _people(b: Bench) -> dict[str, Access]:
    """Create the owners, the team and the two roles; spread row ownership; load both readers' Access."""
    t = b.entity.table
    async with b.ctx.db.write() as conn:
        now = b.ctx.clock.now()
        users = [await b.ctx.auth.create_user(conn, f"owner{i}@bench.example", f"Owner {i}") for i in range(OWNERS)]
        for i, uid in enumerate(users):
            await conn.execute(update(t).where(t.c.id % OWNERS == i).values(owner=uid))
        sparse = await b.ctx.auth.create_user(conn, "sparse@bench.example", "Sparse owner")
        await conn.execute(update(t).where(t.c.id % SPARSE == SPARSE_SLOT).values(owner=sparse))
        team = (
            await conn.execute(
                insert(teams).values(key="bench_team", label={"en": "Bench team"}, path="", created_at=now).returning(teams.c.id)
            )
        ).scalar_one()
        await conn.execute(update(teams).where(teams.c.id == team).values(path=f"/{team}/"))
        await conn.execute(insert(user_teams), [{"user_id": u, "team_id": team, "is_primary": True} for u in users[:TEAM_SIZE]])
        for level in LEVELS:
            role = RoleDefinition(key=f"bench_{level}", label=level, grants=[Grant(entity=f"{APP}.*", read=level)])  # type: ignore[arg-type]
            values = {"key": role.key, "definition": role.model_dump(mode="json"), "builtin": False}
            await conn.execute(insert(roles).values(**values, created_at=now, updated_at=now))
        await grant_role(conn, users[0], "bench_own")
        await grant_role(conn, users[1], "bench_team")
        await grant_role(conn, sparse, "bench_own")
    async with b.ctx.db.read() as conn:
        return {
            "own": await load_access(conn, users[0], False, source="api"),
            "team": await load_access(conn, users[1], False, source="api"),
            "sparse": await load_access(conn, sparse, False, source="api"),
        }


def _page(b: Bench, access: Access) -> Step:
    async def step(_: int) -> list[int]:
        async with b.ctx.db.read() as conn:
            page = await b.ctx.reader.list(conn, access, b.entity, _query(b))
        return [r["owner"] for r in page["items"]]

    return step


async def _check(b: Bench, readers: dict[str, Access]) -> list[str]:
    """The scoped pages hold only rows in scope, and as many as there are (up to a page)."""
    notes = []
    t = b.entity.table
    async with b.ctx.db.read() as conn:
        for name, access in readers.items():
            owners = await _page(b, access)(0)
            allowed = {access.user_id}
            if name == "team":
                members = select(user_teams.c.user_id).where(user_teams.c.team_id.in_(access.subtree_team_ids))
                allowed = set((await conn.execute(members)).scalars())
            mine = t.c.owner.in_(allowed)
            share = (await conn.execute(select(func.count()).where(mine))).scalar_one()
            matching = (await conn.execute(select(func.count()).where(mine, t.c.stage == FILTER["value"]))).scalar_one()
            ok = len(owners) == min(PAGE, matching) and set(owners) <= allowed
            notes.append(
                f"{READERS[name]}: reader {access.user_id} may read {share:,} rows, {matching:,} of them {FILTER['value']} "
                f"(owners {sorted(allowed)}); first page {len(owners)} rows, {'all in scope' if ok else 'WRONG'}"
            )
    return notes


async def _plans(b: Bench, readers: dict[str, Access]) -> list[str]:
    notes = []
    for name, access in readers.items():
        stmt = scoped(build_select(b.entity, _query(b)), scope(access, b.entity, "read"))
        notes.append(f"list {READERS[name]} SQL: {_one_line(b, stmt)}")
        notes += [f"    {line}" for line in await explain(b, stmt)]
    return notes


def _ratio(name: str, scoped_ms: float, unscoped_ms: float) -> Metric:
    ratio = scoped_ms / unscoped_ms
    return Metric(name, scoped_ms, unscoped_ms, "ms", ratio, target=f"<= {MAX_RATIO:g}x", meets=ratio <= MAX_RATIO)


async def scoped_list_latency(b: Bench) -> Section:
    progress(f"scoped lists: rows owned by {OWNERS} users in turn, a team of {TEAM_SIZE}, a sparse owner; own and team scopes")
    started = time.perf_counter()
    readers = await _people(b)
    await b.settle()
    variants = {"unscoped": _page(b, b.actor)} | {name: _page(b, access) for name, access in readers.items()}
    samples = await interleave(variants, b.sizes.list_reps, WARMUP)
    ms = {name: [s * 1000 for s in values] for name, values in samples.items()}
    metrics = [
        _ratio(f"list stage=won, {READERS[name]} {p}", percentile(ms[name], n), percentile(ms["unscoped"], n))
        for name in readers
        for p, n in (("p50", 50), ("p99", 99))
    ]
    progress(f"scoped lists done in {time.perf_counter() - started:.1f}s")
    notes = [
        f"scoped lists: filter {json.dumps(FILTER)}, limit {PAGE}, default sort; 'product' = the scoped read, 'baseline' = "
        "the same RecordReader.list through an administrator's Access (unscoped); target: scoped within "
        f"{MAX_RATIO:g}x of unscoped"
    ]
    return Section(metrics, notes + await _check(b, readers) + await _plans(b, readers))
