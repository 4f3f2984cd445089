"""Form layouts v2 over the meta API: tabs, collapsible sections, form rules and line-item sections are
checked whole when saved (every problem at its JSON path, nothing stored), old layouts stay valid, and
hostile bodies get a precise 4xx."""

from __future__ import annotations

import copy
from typing import Any

import httpx

from tests.api.form_world import FORMS, LAYOUT, make_sales
from tests.api.test_hostile_input import assert_problem
from tests.people import errors


async def _keys(client: httpx.AsyncClient) -> list[str]:
    return [f["key"] for f in (await client.get(FORMS)).json()["items"]]


async def test_a_v2_layout_round_trips_and_an_old_one_stays_valid(client: httpx.AsyncClient) -> None:
    await make_sales(client)
    r = await client.get(f"{FORMS}/deal")
    assert r.status_code == 200
    body = r.json()
    assert body["sections"][1]["collapsible"] is True and body["sections"][1]["collapsed"] is True
    assert body["sections"][0]["fields"][3]["read_only_when"] == {"field": "status", "op": "eq", "value": "won"}
    assert body["sections"][3] | {} == LAYOUT["sections"][3]
    old = {"key": "plain", "entity": "deal", "sections": [{"label": {"en": "All"}, "columns": 2, "fields": ["name", "status"]}]}
    r = await client.post(FORMS, json=old)
    assert r.status_code == 201, r.text
    stored = {k: v for k, v in r.json().items() if k not in {"id", "app", "version", "updated_at"}}
    assert stored == old  # nothing added to a layout that uses none of the new features


async def test_every_problem_of_a_layout_is_located_and_nothing_is_saved(client: httpx.AsyncClient) -> None:
    await make_sales(client, layout=None)
    bad: dict[str, Any] = copy.deepcopy(LAYOUT)
    main, outcome, more, lines = bad["sections"]
    main["fields"][3]["visible_when"] = {"field": "amount", "op": "gt", "value": "lots"}
    main["fields"][3]["read_only_when"] = {"field": "amount", "op": "gt", "value": 5}
    main["fields"].append({"field": "name", "visible_when": {"field": "status", "op": "changed"}})
    outcome["visible_when"] = {"field": "reviewer.email", "op": "eq", "value": "a@b.c"}
    outcome["key"] = "main"
    more["collapsed"] = True
    more["fields"].append({"field": "nope"})
    lines.update(link="quantity", fields=["product", "product", "price"])
    r = await client.post(FORMS, json=bad)
    assert_problem(r, 422)
    assert errors(r) == sorted([
        ("/sections/0/fields/3/visible_when/value", "type"),
        ("/sections/0/fields/3/read_only_when", "self_reference"),
        ("/sections/0/fields/4", "duplicate"),
        ("/sections/0/fields/4/visible_when/op", "not_allowed"),
        ("/sections/0/fields/4/visible_when", "hidden_required"),
        ("/sections/1/key", "duplicate"),
        ("/sections/1/visible_when/field", "not_allowed"),
        ("/sections/2/collapsed", "not_collapsible"),
        ("/sections/2/fields/4", "unknown_field"),
        ("/sections/3/link", "wrong_target"),
        ("/sections/3/fields/1", "duplicate"),
        ("/sections/3/fields/2", "unknown_field"),
    ])  # fmt: skip
    assert await _keys(client) == []


async def test_tabs_are_all_or_nothing_and_contiguous(client: httpx.AsyncClient) -> None:
    await make_sales(client, layout=None)
    bad: dict[str, Any] = copy.deepcopy(LAYOUT)
    del bad["sections"][0]["tab"]
    r = await client.post(FORMS, json=bad)
    assert errors(r) == [("/sections/0/tab", "tab_missing")]
    bad["sections"][0]["tab"] = {"en": "Main"}
    bad["sections"][3]["tab"] = {"en": "Main"}  # Main, Main, More, Main
    r = await client.post(FORMS, json=bad)
    assert errors(r) == [("/sections/3/tab", "tab_split")]


async def test_a_lines_section_names_a_child_that_links_back(client: httpx.AsyncClient) -> None:
    await make_sales(client, layout=None)
    for change, expected in [
        ({"entity": "nope"}, ("/sections/3/entity", "unknown_entity")),
        ({"link": "nope"}, ("/sections/3/link", "unknown_field")),
        ({"fields": ["deal"]}, ("/sections/3/fields/0", "not_allowed")),
        ({"entity": "deal", "link": "status"}, ("/sections/3/link", "wrong_target")),
    ]:
        bad: dict[str, Any] = copy.deepcopy(LAYOUT)
        bad["sections"][3].update(change)
        r = await client.post(FORMS, json=bad)
        assert expected in errors(r), (change, r.text)
    assert await _keys(client) == []


async def test_shape_errors_have_paths_without_internal_tags(client: httpx.AsyncClient) -> None:
    await make_sales(client, layout=None)
    cases: list[tuple[Any, tuple[str, str]]] = [
        ({"kind": "lines", "key": "x", "entity": "deal_line", "fields": ["product"]}, ("/sections/0/link", "missing")),
        ({"kind": "grid", "fields": ["name"]}, ("/sections/0/kind", "literal_error")),
        ({"fields": [{"field": "name", "hidden": True}]}, ("/sections/0/fields/0/hidden", "extra_forbidden")),
        ({"fields": [{"field": "name", "visible_when": "yes"}]}, ("/sections/0/fields/0/visible_when", "dict_type")),
        ({"fields": [7]}, ("/sections/0/fields/0", "model_type")),
        ({"fields": ["name"], "collapsible": "sometimes"}, ("/sections/0/collapsible", "bool_parsing")),
        ({"fields": ["Name<script>"]}, ("/sections/0/fields/0", "string_pattern_mismatch")),
        ("section", ("/sections/0", "model_type")),
    ]
    for section, expected in cases:
        r = await client.post(FORMS, json={"key": "f", "entity": "deal", "sections": [section]})
        assert_problem(r, 422, *expected)
    assert await _keys(client) == []


def _ruled(condition: Any) -> dict[str, Any]:
    return {"key": "f", "entity": "deal", "sections": [{"fields": [{"field": "amount", "visible_when": condition}]}]}


async def test_hostile_bodies_are_refused_precisely(client: httpx.AsyncClient) -> None:
    await make_sales(client, layout=None)
    r = await client.post(FORMS, content=b'{"key": "f",', headers={"content-type": "application/json"})
    assert_problem(r, 400)
    r = await client.post(FORMS, content=b"[]", headers={"content-type": "application/json"})
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith("application/problem+json")
    deep: Any = {"field": "name", "op": "eq", "value": "x"}
    for _ in range(40):
        deep = {"not": deep}
    r = await client.post(FORMS, json=_ruled(deep))
    assert_problem(r, 422, code="too_complex")
    huge = {"key": "f", "entity": "deal", "sections": [{"fields": ["name"] * 501}]}
    assert_problem(await client.post(FORMS, json=huge), 422, "/sections/0/fields", "too_long")
    evil = {"field": "name", "op": "eq", "value": "'; DROP TABLE tg_forms; --\u0000"}
    r = await client.post(FORMS, json=_ruled(evil))
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith("application/problem+json")
    assert await _keys(client) == []
