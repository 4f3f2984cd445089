"""F2: the customer 360 view. One call returns an account with every list of records pointing at it
(exact totals, newest first) and one merged timeline, all permission-scoped: a sales rep sees only their
own rows, and lists they may not read, or may reach only through a hidden field, are left out."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from engine.core.clock import FrozenClock
from engine.records.related import record_360
from tests.factories import make_app
from tests.people import errors, make_user

START = datetime(2026, 3, 1, tzinfo=UTC)
API = "/api/v1/apps/crm"


def entity(key: str, display: str, *fields: dict[str, Any], timeline: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"key": key, "label": {"en": key.title()}, "display_field": display,
                           "fields": [{"key": display, "type": "text"}, *fields]}  # fmt: skip
    return doc | ({"options": {"timeline_field": timeline}} if timeline else {})


TO_ACCOUNT = {"key": "account", "type": "relation", "target": "account"}
AMOUNT = {"key": "amount", "type": "decimal"}
ENTITIES = [
    entity("account", "name", {"key": "parent", "type": "relation", "target": "account"}),
    entity("contact", "name", TO_ACCOUNT),
    entity("opportunity", "name", TO_ACCOUNT, AMOUNT, {"key": "expected_close", "type": "date"}),
    entity(
        "activity",
        "subject",
        TO_ACCOUNT,
        {"key": "opportunity", "type": "relation", "target": "opportunity"},
        {"key": "occurred_at", "type": "datetime"},
        timeline="occurred_at",
    ),
    entity("order", "number", TO_ACCOUNT, AMOUNT, {"key": "ordered_on", "type": "date"}, timeline="ordered_on"),
    entity(
        "payment",
        "number",
        TO_ACCOUNT,
        {"key": "order", "type": "relation", "target": "order"},
        AMOUNT,
        {"key": "paid_on", "type": "date"},
        timeline="paid_on",
    ),
    entity("ticket", "number", TO_ACCOUNT, {"key": "opened_at", "type": "datetime"}, timeline="opened_at"),
]
REP_ROLE = {
    "key": "sales_rep",
    "label": {"en": "Sales rep"},
    "grants": [
        {"entity": "crm.account", "read": "all"},
        {"entity": "crm.contact", "read": "all"},
        {"entity": "crm.opportunity", "read": "own"},
        {"entity": "crm.activity", "read": "own"},
        {"entity": "crm.order", "read": "own", "hidden_fields": ["amount"]},
        {"entity": "crm.payment", "read": "all", "hidden_fields": ["account"]},  # reached only through a hidden field
    ],  # no ticket grant
}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


async def create(client, clock, at: timedelta, key: str, *items: dict[str, Any]) -> list[int]:
    clock._at = START + at  # created_at of these records
    r = await client.post(f"{API}/{key}/bulk", json={"op": "create", "items": list(items)})
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


@pytest.fixture
async def crm(client, ctx, clock):
    await make_app(client, "crm", *ENTITIES)
    assert (await client.post("/api/v1/admin/roles", json=REP_ROLE)).status_code == 201
    rep, rep_headers = await make_user(ctx, "rep@example.com", "sales_rep")
    h = timedelta(hours=1)
    acme, other = await create(client, clock, 0 * h, "account", {"name": "Acme"}, {"name": "Other"})
    await create(client, clock, 0 * h, "account", {"name": "Acme South", "parent": acme})
    await create(client, clock, 33 * h, "contact", {"name": "Zhang", "account": acme})
    await create(client, clock, 34 * h, "contact", {"name": "Li", "account": acme}, {"name": "Wang", "account": other})
    await create(client, clock, 58 * h, "opportunity", {"name": "Press", "account": acme, "owner": rep},
                 {"name": "Lathe", "account": acme}, {"name": "Till", "account": other, "owner": rep})  # fmt: skip
    await create(client, clock, 72 * h, "activity",
        {"subject": "Call", "account": acme, "occurred_at": "2026-03-05T16:00:00+08:00", "owner": rep},
        {"subject": "Visit", "account": acme, "occurred_at": "2026-03-06T15:00:00Z"},
        {"subject": "Email", "account": acme, "owner": rep},  # no time: listed last, not on the timeline
    )  # fmt: skip
    so1, _, _ = await create(client, clock, 72 * h, "order",
        {"number": "SO-1", "account": acme, "amount": 100, "ordered_on": "2026-03-05", "owner": rep},
        {"number": "SO-2", "account": acme, "amount": 200, "ordered_on": "2026-03-07"},
        {"number": "SO-3", "account": other, "ordered_on": "2026-03-09", "owner": rep},
    )  # fmt: skip
    await create(client, clock, 80 * h, "payment", {"number": "PM-1", "account": acme, "order": so1, "paid_on": "2026-03-08"})
    await create(client, clock, 80 * h, "ticket", {"number": "TK-1", "account": acme, "opened_at": "2026-03-05T12:00:00Z"})
    deleted = await create(
        client, clock, 80 * h, "ticket", {"number": "TK-0", "account": acme, "opened_at": "2026-03-09T00:00:00Z"}
    )
    assert (await client.delete(f"{API}/ticket/{deleted[0]}")).status_code == 204  # binned: not related any more
    return {"acme": acme, "rep": rep_headers}


def shape(body: dict[str, Any]) -> dict[str, Any]:
    """key -> (total, display values of the items, newest first)."""
    names = ("name", "subject", "number")
    return {x["key"]: (x["total"], [next(i[n] for n in names if n in i) for i in x["items"]]) for x in body["related"]}


def events(body: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(e["entity"], e["display"], e["kind"], e["time"]) for e in body["timeline"]]


ADMIN_TIMELINE = [
    ("payment", "PM-1", "paid_on", "2026-03-08"),
    ("order", "SO-2", "ordered_on", "2026-03-07"),
    ("activity", "Visit", "occurred_at", "2026-03-06T15:00:00Z"),
    ("ticket", "TK-1", "opened_at", "2026-03-05T12:00:00Z"),
    ("activity", "Call", "occurred_at", "2026-03-05T08:00:00Z"),
    ("order", "SO-1", "ordered_on", "2026-03-05"),  # a day sorts at its start, before that day's timed events
    ("opportunity", "Lathe", "created_at", "2026-03-03T10:00:00Z"),  # same time: the higher id first
    ("opportunity", "Press", "created_at", "2026-03-03T10:00:00Z"),
    ("contact", "Li", "created_at", "2026-03-02T10:00:00Z"),
    ("contact", "Zhang", "created_at", "2026-03-02T09:00:00Z"),
    ("account", "Acme South", "created_at", "2026-03-01T00:00:00Z"),
]


async def test_f2_admin_sees_every_list_with_exact_totals_and_one_timeline(client, crm):
    r = await client.get(f"{API}/account/{crm['acme']}/360")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["record"]["name"] == "Acme" and body["record"]["id"] == crm["acme"]
    assert shape(body) == {
        "account.parent": (1, ["Acme South"]),
        "contact.account": (2, ["Li", "Zhang"]),
        "opportunity.account": (2, ["Lathe", "Press"]),
        "activity.account": (3, ["Visit", "Call", "Email"]),
        "order.account": (2, ["SO-2", "SO-1"]),
        "payment.account": (1, ["PM-1"]),
        "ticket.account": (1, ["TK-1"]),
    }
    order_list = next(x for x in body["related"] if x["key"] == "order.account")
    assert (order_list["entity"], order_list["field"], order_list["items"][1]["amount"]) == ("order", "account", 100)
    assert events(body) == ADMIN_TIMELINE


async def test_f2_limits_cut_the_lists_and_the_timeline_but_not_the_totals(client, crm):
    body = (await client.get(f"{API}/account/{crm['acme']}/360", params={"limit": 1, "timeline": 3})).json()
    assert shape(body)["activity.account"] == (3, ["Visit"]) and shape(body)["contact.account"] == (2, ["Li"])
    assert events(body) == ADMIN_TIMELINE[:3]  # exact although each list returned one record


async def test_f2_a_rep_sees_only_their_rows_and_readable_lists(client, crm):
    r = await client.get(f"{API}/account/{crm['acme']}/360", headers=crm["rep"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert shape(body) == {
        "account.parent": (1, ["Acme South"]),
        "contact.account": (2, ["Li", "Zhang"]),
        "opportunity.account": (1, ["Press"]),
        "activity.account": (2, ["Call", "Email"]),
        "order.account": (1, ["SO-1"]),
    }  # no ticket grant; payments reach the account only through a field their role hides
    order = next(x for x in body["related"] if x["key"] == "order.account")["items"][0]
    assert "amount" not in order
    assert events(body) == [
        ("activity", "Call", "occurred_at", "2026-03-05T08:00:00Z"),
        ("order", "SO-1", "ordered_on", "2026-03-05"),
        ("opportunity", "Press", "created_at", "2026-03-03T10:00:00Z"),
        ("contact", "Li", "created_at", "2026-03-02T10:00:00Z"),
        ("contact", "Zhang", "created_at", "2026-03-02T09:00:00Z"),
        ("account", "Acme South", "created_at", "2026-03-01T00:00:00Z"),
    ]


async def test_f2_a_record_the_caller_cannot_read_is_404(client, ctx, crm):
    _, nobody = await make_user(ctx, "nobody@example.com")
    assert (await client.get(f"{API}/account/{crm['acme']}/360", headers=nobody)).status_code == 404
    assert (await client.get(f"{API}/account/999999/360")).status_code == 404
    assert (await client.get(f"{API}/account/{crm['acme']}/360", params={"limit": 0})).status_code == 422


async def test_f2_query_count_does_not_grow_with_related_records(client, ctx, clock, crm):
    """One query per list (plus the record and the metadata), however many records point at the account."""

    async def statements() -> int:
        seen: list[str] = []
        async with ctx.db.read() as conn:
            event.listen(conn.sync_connection, "before_cursor_execute", lambda *a: seen.append(a[2]))
            admin = await ctx.auth.actor_for_user(conn, 1)
            body = await record_360(conn, ctx.reader, admin, await ctx.store.get(conn, "crm", "account"), crm["acme"])
        return len(seen), shape(body)["activity.account"][0]

    before, total = await statements()
    more = [{"subject": f"Call {i}", "account": crm["acme"], "occurred_at": "2026-04-01T00:00:00Z"} for i in range(60)]
    await create(client, clock, timedelta(days=40), "activity", *more)
    assert await statements() == (before, total + 60)


async def test_f2_timeline_field_must_be_a_date_field(client):
    await make_app(client, "crm", ENTITIES[0])
    bad = entity("note", "title", {"key": "kind", "type": "text"}, timeline="kind")
    r = await client.post("/api/v1/meta/apps/crm/entities", json=bad)
    assert r.status_code == 422 and errors(r) == [("/options/timeline_field", "invalid_field")]
    assert (await client.get("/api/v1/meta/apps/crm/entities/note")).status_code == 404  # nothing was created
