"""How charts compile, on the rule scenarios' sales app: every mistake reported at its path, values
always bound, one-to-many joins counting each record once, rights applied inside the query."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import insert

from engine.auth.access import load_access
from engine.auth.roles import Grant, RoleDefinition
from engine.auth.service import grant_role
from engine.auth.tables import roles
from engine.core.errors import Forbidden, ValidationFailed
from engine.reports.definition import ChartDefinition
from tests.people import errors
from tests.scenarios.rules_world import RulesWorld

QUERY = "/api/v1/apps/sales/query"


def chart(**doc: Any) -> dict[str, Any]:
    return {"key": "c", "type": "table", "source": "opportunity", "measures": [{"key": "n", "agg": "count"}]} | doc


async def run(world: RulesWorld, doc: dict[str, Any], who: str = "admin") -> dict[str, Any]:
    async with world.ctx.db.read() as conn:
        access = await load_access(conn, world.users[who], who == "admin", source="api")
        return await world.ctx.reports.run(conn, "sales", ChartDefinition.model_validate(doc), access, None)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (chart(dimensions=[{"field": "nope"}]), [("/chart/dimensions/0/field", "unknown_field")]),
        (chart(dimensions=[{"field": "name", "bucket": "month"}]), [("/chart/dimensions/0/bucket", "type")]),
        (chart(dimensions=[{"field": "amount", "bins": {"width": 0}}]), [("/chart/dimensions/0/bins/width", "greater_than")]),
        (chart(measures=[{"key": "s", "agg": "sum", "field": "name"}]), [("/chart/measures/0/field", "type")]),
        (chart(type="funnel", dimensions=[{"field": "name"}]), [("/chart/dimensions/0/field", "type")]),
        (chart(measures=[{"key": "r", "ratio": ["a", "b"]}]),
         [("/chart/measures/0", "unknown_measure"), ("/chart/measures/0", "unknown_measure")]),
        (chart(joins=[{"as": "t", "direction": "reverse", "entity": "ticket", "field": "contact"}]),
         [("/chart/joins/0/field", "not_a_relation")]),
        (chart(filter={"field": "amount", "op": "gt", "value": "lots"}), [("/chart/filter/value", "type")]),
        (chart(type="radar"), [("/chart/type", "unknown_chart_type")]),
        (chart(sort=[{"by": "ghost"}]), [("/chart/sort/0/by", "unknown")]),
    ],
)  # fmt: skip
async def test_every_mistake_is_a_422_at_its_path(
    world: RulesWorld, doc: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    r = await world.http.post(QUERY, json={"chart": doc})
    assert r.status_code == 422, r.text
    assert errors(r) == sorted(expected)


@pytest.mark.parametrize(
    ("bins", "path"),
    [('{"width": 1e400}', "/chart/dimensions/0/bins/width"), ('{"edges": [0, 1e400]}', "/chart/dimensions/0/bins/edges/1")],
)
async def test_a_number_too_big_for_a_float_is_a_422_not_a_crash(world: RulesWorld, bins: str, path: str) -> None:
    """JSON's 1e400 parses as infinity in Python: it must never reach the SQL text."""
    body = '{"chart": {"key": "c", "type": "table", "source": "opportunity", "measures": [{"key": "n", "agg": "count"}],'
    body += ' "dimensions": [{"field": "amount", "bins": ' + bins + "}]}}"
    r = await world.http.post(QUERY, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert errors(r) == [(path, "finite_number")]


async def test_median_needs_postgresql(world: RulesWorld) -> None:
    await world.create("opportunity", name="a", amount="10")
    await world.create("opportunity", name="b", amount="30")
    doc = chart(measures=[{"key": "mid", "agg": "median", "field": "amount"}])
    r = await world.http.post(QUERY, json={"chart": doc})
    if world.ctx.db.is_sqlite:
        assert r.status_code == 422 and errors(r) == [("/chart/measures/0/agg", "unsupported")], r.text
    else:
        assert r.status_code == 200, r.text
        assert r.json()["data"]["rows"] == [[20]]  # the median of 10 and 30


async def test_hostile_filter_values_are_bound_not_run(world: RulesWorld) -> None:
    await world.create("opportunity", name="real", amount="10")
    hostile = "x'); DROP TABLE sales__opportunity; --"
    data = await run(world, chart(filter={"field": "name", "op": "eq", "value": hostile}))
    assert data["data"]["rows"] == [[0]]
    assert len(await world.items("opportunity")) == 1  # the table is still there


async def test_one_to_many_joins_count_each_record_once(world: RulesWorld) -> None:
    """A contact with 3 orders and 2 tickets joins into 6 rows; the sums must not be 2x or 3x."""
    ann = await world.create("contact", name="Ann")
    bob = await world.create("contact", name="Bob")
    for amount in ("100", "200", "300"):
        await world.create("order", number=f"A{amount}", contact=ann["id"], amount=amount)
    await world.create("order", number="B1", contact=bob["id"], amount="50")
    for subject in ("broken", "late"):
        await world.create("ticket", subject=subject, contact=ann["id"])
    doc = {
        "key": "c360", "type": "table", "source": "contact",
        "joins": [
            {"as": "orders", "direction": "reverse", "entity": "order", "field": "contact"},
            {"as": "tickets", "direction": "reverse", "entity": "ticket", "field": "contact"},
        ],
        "dimensions": [{"field": "name"}],
        "measures": [
            {"key": "contacts", "agg": "count"},
            {"key": "revenue", "agg": "sum", "field": "orders.amount"},
            {"key": "orders", "agg": "count", "field": "orders.id"},
            {"key": "tickets", "agg": "count_distinct", "field": "tickets.id"},
            {"key": "big", "agg": "count", "field": "orders.id", "where": {"field": "amount", "op": "gte", "value": 200}},
        ],
    }  # fmt: skip
    rows = {r[0]: r[1:] for r in (await run(world, doc))["data"]["rows"]}
    assert rows == {"Ann": [1, 600, 3, 2, 2], "Bob": [1, 50, 1, 0, 0]}


async def test_each_viewer_counts_only_the_rows_their_role_reads(world: RulesWorld) -> None:
    for who, amounts in (("a1", ("10", "20")), ("a2", ("5",)), ("b1", ("7",))):
        for amount in amounts:
            await world.create("opportunity", name=f"{who}-{amount}", amount=amount, owner=world.users[who])
    doc = chart(measures=[{"key": "n", "agg": "count"}, {"key": "total", "agg": "sum", "field": "amount"}])
    assert (await run(world, doc))["data"]["rows"] == [[4, 42]]
    assert (await run(world, doc, "a1"))["data"]["rows"] == [[2, 30]]  # member: own records
    assert (await run(world, doc, "b1"))["data"]["rows"] == [[1, 7]]


async def test_a_field_the_role_hides_cannot_be_charted(world: RulesWorld) -> None:
    role = RoleDefinition(key="no_amounts", label="No amounts", grants=[Grant(entity="sales.*", read="all"),
                          Grant(entity="sales.opportunity", read="all", hidden_fields=["amount"])])  # fmt: skip
    async with world.ctx.db.write() as conn:
        now = world.ctx.clock.now()
        await conn.execute(insert(roles).values(key=role.key, definition=role.model_dump(mode="json"), builtin=False,
                                                created_at=now, updated_at=now))  # fmt: skip
        world.users["viewer"] = await world.ctx.auth.create_user(conn, "viewer@example.com", "viewer")
        await grant_role(conn, world.users["viewer"], "no_amounts")  # their only role: roles' hidden fields intersect
    doc = chart(measures=[{"key": "total", "agg": "sum", "field": "amount"}])
    with pytest.raises(ValidationFailed) as refused:
        await run(world, doc, "viewer")
    assert [(e.path, e.code) for e in refused.value.errors] == [("/measures/0/field", "unknown_field")]
    with pytest.raises(ValidationFailed):  # nor as a filter
        await run(world, chart(filter={"field": "amount", "op": "gt", "value": 1}), "viewer")
    assert (await run(world, chart(), "viewer"))["data"]["rows"] == [[0]]  # the rest of the entity is chartable
    assert (await run(world, doc))["data"]["rows"] == [[None]]  # the admin may


async def test_a_source_the_viewer_cannot_read_is_forbidden(world: RulesWorld) -> None:
    role = RoleDefinition(key="leads_only", label="Leads only", grants=[Grant(entity="sales.lead", read="all")])
    async with world.ctx.db.write() as conn:
        now = world.ctx.clock.now()
        await conn.execute(insert(roles).values(key=role.key, definition=role.model_dump(mode="json"), builtin=False,
                                                created_at=now, updated_at=now))  # fmt: skip
        uid = await world.ctx.auth.create_user(conn, "leads@example.com", "leads")
        await grant_role(conn, uid, "leads_only")
    world.users["leads"] = uid
    with pytest.raises(Forbidden):
        await run(world, chart(), "leads")


async def test_a_drilled_point_lists_exactly_the_records_behind_it(world: RulesWorld) -> None:
    for name, amount, status in (("a", "100", "won"), ("b", "5", "won"), ("c", "300", "open")):
        await world.create("opportunity", name=name, amount=amount, status=status)
    doc = chart(type="bar", dimensions=[{"field": "status"}, {"field": "amount", "bins": {"width": 50}}])
    async with world.ctx.db.read() as conn:
        admin = await load_access(conn, world.users["admin"], True, source="api")
        point = {"status": "won", "amount": Decimal(100)}
        found = await world.ctx.reports.drill(conn, "sales", ChartDefinition.model_validate(doc), admin, point, None)
    names = [r["name"] for r in await world.items("opportunity", filter=json.dumps(found["filter"]))]
    assert found["entity"] == "opportunity" and names == ["a"]


async def test_periods_are_read_on_date_fields_only(world: RulesWorld) -> None:
    """A dashboard's date range, or a KPI's comparison, on a text field is a 422, not a database error."""
    ranged = {"chart": chart(date_field="name"), "filters": {"relative": "this_month"}}
    r = await world.http.post(QUERY, json=ranged)
    assert r.status_code == 422 and errors(r) == [("/chart/date_field", "type")], r.text
    kpi = chart(type="kpi", options={"compare": {"field": "name", "period": "month"}})
    r = await world.http.post(QUERY, json={"chart": kpi})
    assert r.status_code == 422 and errors(r) == [("/chart/options/compare/field", "type")], r.text
    fine = {"chart": chart(type="kpi", options={"compare": {"period": "month"}}), "filters": {"relative": "this_month"}}
    r = await world.http.post(QUERY, json=fine)
    assert r.status_code == 200 and r.json()["data"]["value"] == 0, r.text
