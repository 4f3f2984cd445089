"""The delegations API (/api/v1/me/delegations, 委托) and the urge route on each database: CRUD of
one's own delegations, the checks (no self, an end after the start, no cycle in overlapping ranges,
an app and process that exist), and hostile input: a 4xx problem+json at a precise path, nothing
stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from engine.api.app import create_app
from engine.api.context import Context
from engine.process.tables import delegations
from tests.people import errors

DELEGATIONS = "/api/v1/me/delegations"
JAN = {"starts_at": "2027-01-04T00:00:00Z", "ends_at": "2027-01-08T00:00:00Z"}


@dataclass
class Pair:
    """Two signed-in users, A and B, each with their own client."""

    ctx: Context
    a: httpx.AsyncClient
    b: httpx.AsyncClient
    a_id: int
    b_id: int


@pytest.fixture
async def pair(ctx: Context, client: httpx.AsyncClient) -> AsyncIterator[Pair]:
    app = create_app(ctx.settings, ctx)
    async with AsyncExitStack() as stack:
        found: list[Any] = []
        for who in ("a", "b"):
            async with ctx.db.write() as conn:
                uid = await ctx.auth.create_user(conn, f"{who}@example.com", who)
                token, _ = await ctx.auth.create_token(conn, uid, "test")
            http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"}
            )
            found += [await stack.enter_async_context(http), uid]
        yield Pair(ctx, found[0], found[2], found[1], found[3])


async def count(ctx: Context) -> int:
    async with ctx.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(delegations))).scalar_one())


async def test_crud_of_my_delegations(pair: Pair) -> None:
    r = await pair.a.post(DELEGATIONS, json={"delegate": pair.b_id, **JAN, "note": "年假 annual leave"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["delegate"]["id"], made["starts_at"], made["app"], made["in_force"]) == (
        pair.b_id, "2027-01-04T00:00:00Z", None, False,
    )  # fmt: skip
    listed = (await pair.a.get(DELEGATIONS)).json()
    assert [d["id"] for d in listed["items"]] == [made["id"]] and listed["received"] == []
    assert [d["user"]["id"] for d in (await pair.b.get(DELEGATIONS)).json()["received"]] == [pair.a_id]
    url = f"{DELEGATIONS}/{made['id']}"
    assert (await pair.b.get(url)).status_code == 404  # the delegate cannot read or change it
    assert (await pair.b.put(url, json={"delegate": pair.a_id, **JAN})).status_code == 404
    r = await pair.a.put(url, json={"delegate": pair.b_id, "starts_at": JAN["starts_at"], "ends_at": "2027-01-15T00:00:00Z"})
    assert r.status_code == 200 and r.json()["ends_at"] == "2027-01-15T00:00:00Z" and r.json()["note"] is None
    assert (await pair.b.delete(url)).status_code == 404
    assert (await pair.a.delete(url)).status_code == 204
    assert (await pair.a.get(url)).status_code == 404 and await count(pair.ctx) == 0


async def test_no_self_no_backwards_range_no_cycle(pair: Pair) -> None:
    r = await pair.a.post(DELEGATIONS, json={"delegate": pair.a_id, **JAN})
    assert r.status_code == 422 and errors(r) == [("/delegate", "self_delegation")]
    r = await pair.a.post(DELEGATIONS, json={"delegate": pair.b_id, "starts_at": JAN["ends_at"], "ends_at": JAN["starts_at"]})
    assert r.status_code == 422 and errors(r) == [("/ends_at", "range")]
    assert (await pair.a.post(DELEGATIONS, json={"delegate": pair.b_id, **JAN})).status_code == 201
    r = await pair.b.post(
        DELEGATIONS, json={"delegate": pair.a_id, "starts_at": "2027-01-07T00:00:00Z", "ends_at": "2027-02-01T00:00:00Z"}
    )
    assert r.status_code == 422 and errors(r) == [("/delegate", "delegation_cycle")]
    later = {"starts_at": "2027-01-08T00:00:00Z", "ends_at": "2027-02-01T00:00:00Z"}  # after A's range: no cycle
    assert (await pair.b.post(DELEGATIONS, json={"delegate": pair.a_id, **later})).status_code == 201
    r = await pair.a.post(DELEGATIONS, json={"delegate": 999_999, **JAN})
    assert r.status_code == 422 and errors(r) == [("/delegate", "unknown_user")]
    r = await pair.a.post(DELEGATIONS, json={"delegate": pair.b_id, **JAN, "app": "nope"})
    assert errors(r) == [("/app", "unknown_app")]
    r = await pair.a.post(DELEGATIONS, json={"delegate": pair.b_id, **JAN, "process": "discount"})
    assert errors(r) == [("/process", "process_without_app")]
    assert await count(pair.ctx) == 2


GOOD: dict[str, Any] = {"delegate": 1, **JAN}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (GOOD | {"delegate": "2"}, [("/delegate", "int_type")]),
        (GOOD | {"delegate": 2.5}, [("/delegate", "int_type")]),
        (GOOD | {"delegate": 0}, [("/delegate", "greater_than_equal")]),
        (GOOD | {"delegate": 2**64}, [("/delegate", "less_than_equal")]),
        (GOOD | {"starts_at": "tomorrow"}, [("/starts_at", "datetime_from_date_parsing")]),
        (GOOD | {"starts_at": "2027-01-04T00:00:00"}, [("/starts_at", "timezone_aware")]),
        (GOOD | {"app": "crm'; DROP TABLE tg_delegations;--"}, [("/app", "string_pattern_mismatch")]),
        (GOOD | {"process": "../../etc"}, [("/process", "string_pattern_mismatch")]),
        (GOOD | {"note": "x" * 501}, [("/note", "string_too_long")]),
        (GOOD | {"note": "a\x00b"}, [("/note", "string_pattern_mismatch")]),
        (GOOD | {"owner": 1}, [("/owner", "extra_forbidden")]),
        ({"delegate": 1}, [("/ends_at", "missing"), ("/starts_at", "missing")]),
        ([GOOD], [("", "model_type")]),
        ("delegate", [("", "model_type")]),
    ],
)
async def test_malformed_delegations_are_refused_at_their_path(pair: Pair, body: Any, expected: list[tuple[str, str]]) -> None:
    r = await pair.a.post(DELEGATIONS, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert errors(r) == expected
    assert await count(pair.ctx) == 0


async def test_bodies_that_are_not_json_or_too_big_are_refused(pair: Pair) -> None:
    r = await pair.a.post(DELEGATIONS, content=b'{"delegate": 2, ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert (await pair.a.post(DELEGATIONS, content=b"delegate=2", headers={"content-type": "text/plain"})).status_code == 415
    huge = b'{"delegate": 2, "note": "' + b"x" * (pair.ctx.settings.max_body_bytes + 1) + b'"}'
    assert (await pair.a.post(DELEGATIONS, content=huge, headers={"content-type": "application/json"})).status_code == 413
    assert (await pair.a.get(f"{DELEGATIONS}/abc")).status_code == 422
    assert await count(pair.ctx) == 0


async def test_a_note_with_html_is_stored_verbatim(pair: Pair) -> None:
    note = "<img src=x onerror=alert(1)> 出差"
    r = await pair.a.post(DELEGATIONS, json={"delegate": pair.b_id, **JAN, "note": note})
    assert r.status_code == 201 and r.json()["note"] == note


async def test_the_urge_route_refuses_hostile_bodies(pair: Pair) -> None:
    url = "/api/v1/process-instances/1/urge"
    assert (await pair.a.post(url)).status_code == 404  # no such request
    r = await pair.a.post(url, json={"comment": "x", "loud": True})
    assert r.status_code == 422 and errors(r) == [("/loud", "extra_forbidden")]
    r = await pair.a.post(url, json={"comment": 5})
    assert errors(r) == [("/comment", "string_type")]
    r = await pair.a.post(url, json={"comment": "a\x00b"})
    assert errors(r) == [("/comment", "string_pattern_mismatch")]
    r = await pair.a.post(url, content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert (await pair.a.post("/api/v1/process-instances/0/urge")).status_code == 422
