"""POST /api/v1/meta/apps/{app}/entities/{entity}/check: a draft definition checked as publishing would
check it (the form designer's live formula check), with each error at its JSON path and nothing saved."""

from __future__ import annotations

import copy

from tests.factories import make_app

META = "/api/v1/meta/apps/hr/entities"
LEAVE = {
    "key": "leave",
    "label": {"zh-CN": "请假申请", "en": "Leave request"},
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "start_date", "type": "date"},
        {"key": "end_date", "type": "date"},
    ],
}


def _draft(*extra: dict) -> dict:
    doc = copy.deepcopy(LEAVE)
    doc["fields"] += list(extra)
    return doc


async def test_a_valid_draft_is_answered_as_it_would_be_stored_and_nothing_is_saved(client):
    await make_app(client, "hr", LEAVE)
    days = {"key": "days", "type": "formula", "expression": "DAYS_BETWEEN(start_date, end_date) + 1", "scale": 0}
    r = await client.post(f"{META}/leave/check", json=_draft(days) | {"version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["fields"][-1] == days
    stored = (await client.get(f"{META}/leave")).json()
    assert stored["version"] == 1 and [f["key"] for f in stored["fields"]] == ["name", "start_date", "end_date"]


async def test_a_formula_error_comes_with_its_field_path_and_the_parsers_position(client):
    await make_app(client, "hr", LEAVE)
    broken = {"key": "days", "type": "formula", "expression": "DAYS_BETWEEN(start_date, end_date) +"}
    r = await client.post(f"{META}/leave/check", json=_draft(broken))
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["path"] == "/fields/3/expression" and "line 1, column" in error["message"]
    unknown = {"key": "days", "type": "formula", "expression": "DAYS_BETWEEN(start, end_date)"}
    [error] = (await client.post(f"{META}/leave/check", json=_draft(unknown))).json()["errors"]
    assert error["path"] == "/fields/3/expression" and "start" in error["message"]


async def test_relation_targets_and_field_configs_are_checked_at_their_paths(client):
    await make_app(client, "hr", LEAVE)
    r = await client.post(f"{META}/leave/check", json=_draft(
        {"key": "manager", "type": "relation", "target": "nowhere"},
        {"key": "kind", "type": "select", "options": []},
    ))  # fmt: skip
    assert r.status_code == 422
    paths = sorted(e["path"] for e in r.json()["errors"])
    assert paths == ["/fields/4/options"]  # shape first: targets are checked once every field parses
    r = await client.post(f"{META}/leave/check", json=_draft({"key": "manager", "type": "relation", "target": "nowhere"}))
    assert [e["path"] for e in r.json()["errors"]] == ["/fields/3/target"]


async def test_checking_needs_the_right_to_change_the_definition(client, anon):
    await make_app(client, "hr", LEAVE)
    assert (await anon.post(f"{META}/leave/check", json=LEAVE)).status_code == 401
    assert (await client.post("/api/v1/meta/apps/nope/entities/leave/check", json=LEAVE)).status_code == 404
