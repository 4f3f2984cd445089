"""Hostile input to the saved-views API: every refusal is a 4xx problem+json at a precise path, and
nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.records.tables import views
from tests.factories import make_app
from tests.people import errors

VIEWS = "/api/v1/apps/crm/lead/views"
GOOD = {"name": "Mine", "columns": ["name"]}


@pytest.fixture
async def app(client):
    await make_app(client)


async def count(ctx) -> int:
    async with ctx.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(views))).scalar_one()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (GOOD | {"page_size": "50"}, [("/page_size", "int_type")]),
        (GOOD | {"page_size": 500}, [("/page_size", "less_than_equal")]),
        (GOOD | {"page_size": 5.0}, [("/page_size", "int_type")]),
        (GOOD | {"columns": "name"}, [("/columns", "list_type")]),
        (GOOD | {"columns": []}, [("/columns", "too_short")]),
        (GOOD | {"columns": [f"f{i}" for i in range(51)]}, [("/columns", "too_long")]),
        (GOOD | {"kind": "grid"}, [("/kind", "literal_error")]),
        (GOOD | {"is_default": "yes"}, [("/is_default", "bool_type")]),
        (GOOD | {"sort": [{"field": "name", "desc": 1}]}, [("/sort/0/desc", "bool_type")]),
        (GOOD | {"sort": [{"field": "name", "up": True}]}, [("/sort/0/up", "extra_forbidden")]),
        (GOOD | {"filter": "industry = retail"}, [("/filter", "dict_type")]),
        (GOOD | {"filter": {"field": "industry", "op": "eq", "value": "x" * 10240}}, [("/filter", "value_error")]),
        (GOOD | {"filter": {"field": "industry", "op": "drop", "value": 1}}, [("/filter/op", "unknown_op")]),
        (GOOD | {"color": "red"}, [("/color", "extra_forbidden")]),
        (GOOD | {"shared_with": "Robert'); DROP TABLE tg_views;--"}, [("/shared_with", "string_pattern_mismatch")]),
        (GOOD | {"columns": ["name; DROP TABLE x"]}, [("/columns/0", "string_pattern_mismatch")]),
        (GOOD | {"columns": ["../../etc/passwd"]}, [("/columns/0", "string_pattern_mismatch")]),
        (GOOD | {"name": "a\x00b"}, [("/name", "value_error")]),
        (GOOD | {"name": "x" * 201}, [("/name", "value_error")]),
        (GOOD | {"name": {"<script>": "x"}}, [("/name", "value_error")]),
        ({"columns": ["name"]}, [("/name", "missing")]),
        ([GOOD], [("", "model_type")]),
        ("view", [("", "model_type")]),
    ],
)
async def test_malformed_views_are_refused_at_their_path(client, ctx, app, body, expected):
    r = await client.post(VIEWS, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert errors(r) == expected
    assert await count(ctx) == 0


async def test_unknown_roles_and_fields_are_listed_together(client, ctx, app):
    body = GOOD | {"shared_with": "nobody", "columns": ["name", "nope"], "filter": {"field": "ghost", "op": "is_empty"}}
    r = await client.post(VIEWS, json=body)
    assert errors(r) == [("/columns/1", "unknown_field"), ("/filter/field", "unknown_field"), ("/shared_with", "unknown_role")]
    assert await count(ctx) == 0


async def test_bodies_that_are_not_json_are_refused(client, ctx, app):
    r = await client.post(VIEWS, content=b'{"name": "x", ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
    assert (await client.post(VIEWS, content=b"name=x", headers={"content-type": "text/plain"})).status_code == 415
    assert (await client.post(VIEWS, content=b"\xff\xfe", headers={"content-type": "application/json"})).status_code == 400
    assert (await client.put(f"{VIEWS}/1", json=GOOD, headers={"If-Match": "yesterday"})).status_code == 400
    assert await count(ctx) == 0


async def test_a_name_with_html_is_stored_verbatim_as_data(client, app):
    name = {"en": "<img src=x onerror=alert(1)>", "zh-CN": "<script>alert('视图')</script>"}
    r = await client.post(VIEWS, json=GOOD | {"name": name})
    assert r.status_code == 201 and r.headers["content-type"] == "application/json"
    assert (await client.get(f"{VIEWS}/{r.json()['id']}")).json()["name"] == name


async def test_a_body_too_big_to_hold_is_refused_before_it_is_read(client, ctx, app):
    huge = b'{"name": "x", "columns": ["name"], "pad": "' + b"x" * (ctx.settings.max_body_bytes + 1) + b'"}'
    r = await client.post(VIEWS, content=huge, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert await count(ctx) == 0
