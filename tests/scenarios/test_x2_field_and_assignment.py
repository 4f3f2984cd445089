"""X2 field-level rights and mass assignment: a hidden field is not there at all for the user it is
hidden from (no read, no filter, no sort, no write, not in their OpenAPI document, and asking about it
answers exactly like asking about a field that does not exist); a read-only field is shown but refused
on write; system fields are never written by clients; the owner moves only with the assign right."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from engine.auth.roles import Grant, RoleDefinition
from tests.scenarios.crm_world import ACCOUNTS_PATH, CONTACTS_PATH, World, csv_rows, errors_of, flt

ANALYST = RoleDefinition(
    key="analyst",
    label="Analyst",
    grants=[
        Grant(entity="crm.*", read="all", export="all"),
        Grant(entity="crm.account", read="all", export="all", hidden_fields=["margin"]),
    ],
)
CONTACT_CLERK = RoleDefinition(
    key="contact_clerk", label="Contact clerk", grants=[Grant(entity="crm.contact", read="own", create=True, update="own")]
)
NO_ACCOUNTS = RoleDefinition(
    key="no_accounts", label="Everything but accounts", grants=[Grant(entity="*", read="all"), Grant(entity="crm.account")]
)


def _acme(crm: World) -> str:
    return f"{ACCOUNTS_PATH}/{crm.accounts['Acme']}"


async def test_hidden_field_is_absent_from_every_read(crm: World) -> None:
    rep, acme = crm["rep_e1"], _acme(crm)
    record = (await rep.get(acme)).json()
    assert "margin" not in record and record["cost"] == 100 and record["name"] == "Acme"
    assert (await crm["manager"].get(acme)).json()["margin"] == 12.5
    items = (await rep.get(ACCOUNTS_PATH)).json()["items"]
    assert items and all("margin" not in i for i in items)
    assert "margin" not in (await rep.get(acme, params={"fields": "name,cost"})).json()
    contact = (await rep.get(f"{CONTACTS_PATH}/{crm.contacts['Li Lei']}", params={"expand": "account"})).json()
    assert contact["account"]["name"] == "Acme" and "margin" not in contact["account"]
    page = (await rep.get(CONTACTS_PATH, params={"expand": "account"})).json()["items"]
    assert all("margin" not in i["account"] for i in page if isinstance(i["account"], dict))
    # Nor in what a write answers.
    created = await rep.post(ACCOUNTS_PATH, json={"name": "Mine"})
    assert created.status_code == 201 and "margin" not in created.json()
    patched = await rep.patch(acme, json={"region": "north"})
    assert patched.status_code == 200 and "margin" not in patched.json()
    bulk = await rep.post(f"{ACCOUNTS_PATH}/bulk", json={"op": "update", "items": [{"id": crm.accounts["Acme"], "region": "x"}]})
    assert bulk.status_code == 200 and "margin" not in bulk.json()["items"][0]


async def test_hidden_field_is_absent_from_the_export(crm: World) -> None:
    analyst = await crm.add_person("analyst", [ANALYST])
    r = await analyst.get(f"{ACCOUNTS_PATH}/export")
    assert r.status_code == 200
    rows = csv_rows(r.text)
    assert {row["name"] for row in rows} == set(crm.accounts)
    assert "margin" not in rows[0] and "cost" in rows[0]
    assert "margin" not in r.text.splitlines()[0]
    asked = await analyst.get(f"{ACCOUNTS_PATH}/export", params={"fields": "name,margin"})
    assert asked.status_code == 422 and errors_of(asked) == [("/fields/1", "unknown_field")]
    manager = csv_rows((await crm["manager"].get(f"{ACCOUNTS_PATH}/export")).text)
    assert {row["name"]: row["margin"] for row in manager}["Acme"] == "12.5"


async def test_hidden_field_is_absent_from_the_callers_openapi(crm: World) -> None:
    doc = (await crm["rep_e1"].get("/api/v1/apps/crm/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    for name in ("Account", "AccountCreate", "AccountUpdate"):
        assert "margin" not in schemas[name]["properties"] and "name" in schemas[name]["properties"], name
    assert "margin" not in json.dumps(doc)
    # `cost` is read-only for a sales rep: readable in the record, absent from what they may send.
    assert "cost" in schemas["Account"]["properties"]
    assert "cost" not in schemas["AccountCreate"]["properties"] and "cost" not in schemas["AccountUpdate"]["properties"]
    full = (await crm["manager"].get("/api/v1/apps/crm/openapi.json")).json()["components"]["schemas"]
    assert all("margin" in full[name]["properties"] for name in ("Account", "AccountCreate", "AccountUpdate"))
    assert "cost" in full["AccountUpdate"]["properties"]
    # An entity the caller may not read is not in their document at all.
    clerk = await crm.add_person("clerk", [CONTACT_CLERK])
    doc = (await clerk.get("/api/v1/apps/crm/openapi.json")).json()
    assert "Contact" in doc["components"]["schemas"] and "/api/v1/apps/crm/contact" in doc["paths"]
    assert not any(k.startswith("Account") for k in doc["components"]["schemas"])
    assert not any(p.startswith(ACCOUNTS_PATH) for p in doc["paths"])


def _nested(f: str) -> str:
    return json.dumps({"any": [{"field": "name", "op": "eq", "value": "x"}, {"not": {"field": f, "op": "is_empty"}}]})


PROBES: dict[str, Any] = {
    "filter": lambda f: ("GET", ACCOUNTS_PATH, {"params": {"filter": flt(f, "gt", 1)}}),
    "nested filter": lambda f: ("GET", ACCOUNTS_PATH, {"params": {"filter": _nested(f)}}),
    "count": lambda f: ("GET", ACCOUNTS_PATH, {"params": {"filter": flt(f, "eq", 1), "count": "true"}}),
    "sort": lambda f: ("GET", ACCOUNTS_PATH, {"params": {"sort": f"-{f}"}}),
    "fields": lambda f: ("GET", ACCOUNTS_PATH, {"params": {"fields": f}}),
    "fields of one": lambda f: ("GET", "{acme}", {"params": {"fields": f"name,{f}"}}),
    "expand": lambda f: ("GET", ACCOUNTS_PATH, {"params": {"expand": f}}),
    "trash filter": lambda f: ("GET", f"{ACCOUNTS_PATH}/trash", {"params": {"filter": flt(f, "eq", 1)}}),
    "export filter": lambda f: ("GET", f"{ACCOUNTS_PATH}/export", {"params": {"filter": flt(f, "eq", 1)}}),
    "create": lambda f: ("POST", ACCOUNTS_PATH, {"json": {"name": "X", f: 1}}),
    "update": lambda f: ("PATCH", "{acme}", {"json": {f: 1}}),
    "bulk create": lambda f: ("POST", f"{ACCOUNTS_PATH}/bulk", {"json": {"op": "create", "items": [{"name": "X", f: 1}]}}),
    "bulk update": lambda f: ("POST", f"{ACCOUNTS_PATH}/bulk", {"json": {"op": "update", "items": [{"id": "{acme_id}", f: 1}]}}),
}
EXPECTED = {
    "filter": ("/filter/field", "unknown_field"),
    "nested filter": ("/filter/any/1/not/field", "unknown_field"),
    "count": ("/filter/field", "unknown_field"),
    "sort": ("/sort/0", "invalid_sort"),
    "fields": ("/fields/0", "unknown_field"),
    "fields of one": ("/fields/1", "unknown_field"),
    "expand": ("/expand/0", "invalid_expand"),
    "trash filter": ("/filter/field", "unknown_field"),
    "export filter": ("/filter/field", "unknown_field"),
    "create": ("/{f}", "unknown_field"),
    "update": ("/{f}", "unknown_field"),
    "bulk create": ("/items/0/{f}", "unknown_field"),
    "bulk update": ("/items/0/{f}", "unknown_field"),
}


async def _probe(crm: World, who: str, probe: str, f: str) -> httpx.Response:
    method, path, kw = PROBES[probe](f)
    path = path.replace("{acme}", _acme(crm))
    if "json" in kw:
        kw = {"json": json.loads(json.dumps(kw["json"]).replace('"{acme_id}"', str(crm.accounts["Acme"])))}
    return await crm[who].request(method, path, **kw)


@pytest.mark.parametrize("probe", list(PROBES))
async def test_a_hidden_field_answers_exactly_like_a_missing_one(crm: World, probe: str) -> None:
    """No inference: the status, the error locations, codes and messages are those of a field that
    does not exist (only the name differs)."""
    before = await crm.versions()
    hidden = await _probe(crm, "rep_e1", probe, "margin")
    missing = await _probe(crm, "rep_e1", probe, "nosuch")
    path, code = EXPECTED[probe]
    assert hidden.status_code == missing.status_code == 422, hidden.text
    assert errors_of(hidden) == [(path.format(f="margin"), code)]
    assert json.loads(hidden.text.replace("margin", "nosuch")) == missing.json()
    assert await crm.versions() == before
    # For the manager, who may see it, the same request is about a real field.
    if not probe.startswith(("create", "update", "bulk", "expand")):
        assert (await _probe(crm, "manager", probe, "margin")).status_code == 200


async def test_a_read_only_field_is_shown_but_refused_on_write(crm: World) -> None:
    rep, acme = crm["rep_e1"], _acme(crm)
    assert (await rep.get(acme)).json()["cost"] == 100
    r = await rep.post(ACCOUNTS_PATH, json={"name": "X", "cost": 1})
    assert r.status_code == 422 and errors_of(r) == [("/cost", "read_only")]
    r = await rep.patch(acme, json={"cost": 1})
    assert r.status_code == 422 and errors_of(r) == [("/cost", "read_only")]
    r = await rep.post(f"{ACCOUNTS_PATH}/bulk", json={"op": "update", "items": [{"id": crm.accounts["Acme"], "cost": 1}]})
    assert r.status_code == 422 and errors_of(r) == [("/items/0/cost", "read_only")]
    assert (await rep.get(acme)).json()["version"] == 1
    r = await crm["manager"].patch(acme, json={"cost": 1})
    assert r.status_code == 200 and r.json()["cost"] == 1


SYSTEM_VALUES = {
    "id": 424242,
    "version": 7,
    "created_at": "2020-01-01T00:00:00Z",
    "created_by": 1,
    "updated_at": "2020-01-01T00:00:00Z",
    "updated_by": 1,
    "deleted_at": "2020-01-01T00:00:00Z",
}


@pytest.mark.parametrize("key", list(SYSTEM_VALUES))
@pytest.mark.parametrize("who", ["rep_e1", "director", "admin"])
async def test_system_fields_cannot_be_mass_assigned(crm: World, who: str, key: str) -> None:
    value = SYSTEM_VALUES[key]
    r = await crm[who].post(ACCOUNTS_PATH, json={"name": "X", key: value})
    assert r.status_code == 422 and errors_of(r) == [(f"/{key}", "read_only")], r.text
    r = await crm[who].post(f"{ACCOUNTS_PATH}/bulk", json={"op": "create", "items": [{"name": "X", key: value}]})
    assert r.status_code == 422 and errors_of(r) == [(f"/items/0/{key}", "read_only")], r.text
    if key not in ("version", "id"):  # on update, version is the expected version and id names the record
        r = await crm[who].patch(_acme(crm), json={key: value})
        assert r.status_code == 422 and errors_of(r) == [(f"/{key}", "read_only")], r.text
    assert len(await crm.list_names("admin")) == len(crm.accounts)


async def test_owner_can_be_set_to_someone_else_only_with_assign(crm: World) -> None:
    rep, acme, other = crm["rep_e1"], _acme(crm), crm.users["rep_e2"]
    r = await rep.post(ACCOUNTS_PATH, json={"name": "Gift", "owner": other})
    assert r.status_code == 422 and errors_of(r) == [("/owner", "read_only")]
    r = await rep.post(ACCOUNTS_PATH, json={"name": "Gift", "owner": None})
    assert r.status_code == 422 and errors_of(r) == [("/owner", "read_only")]
    r = await rep.post(f"{ACCOUNTS_PATH}/bulk", json={"op": "create", "items": [{"name": "Gift", "owner": other}]})
    assert r.status_code == 422 and errors_of(r) == [("/items/0/owner", "read_only")]
    r = await rep.patch(acme, json={"owner": other})
    assert r.status_code == 422 and errors_of(r) == [("/owner", "read_only")]
    r = await rep.post(f"{ACCOUNTS_PATH}/bulk", json={"op": "update", "items": [{"id": crm.accounts["Acme"], "owner": other}]})
    assert r.status_code == 422 and errors_of(r) == [("/items/0/owner", "read_only")]
    mine = await rep.post(ACCOUNTS_PATH, json={"name": "Mine", "owner": crm.users["rep_e1"]})
    assert mine.status_code == 201 and mine.json()["owner"] == crm.users["rep_e1"]
    assert (await crm["rep_e2"].get(ACCOUNTS_PATH, params={"filter": flt("name", "eq", "Gift")})).json()["items"] == []

    # The sales manager has the assign right: create for a rep, and move a record between reps.
    r = await crm["manager"].post(ACCOUNTS_PATH, json={"name": "Assigned", "owner": crm.users["rep_e1"]})
    assert r.status_code == 201 and r.json()["owner"] == crm.users["rep_e1"]
    assert (await rep.get(f"{ACCOUNTS_PATH}/{r.json()['id']}")).status_code == 200
    r = await crm["manager"].patch(acme, json={"owner": other})
    assert r.status_code == 200 and r.json()["owner"] == other
    assert (await rep.get(acme)).status_code == 404
    assert (await crm["rep_e2"].get(acme)).status_code == 200
    # The owner must be an active user.
    r = await crm["manager"].patch(acme, json={"owner": 999_999})
    assert r.status_code == 422 and errors_of(r) == [("/owner", "not_found")]


async def test_roles_combine_widest_scope_and_hide_only_what_every_role_hides(crm: World) -> None:
    """sales_rep + read_only: reads everything (the widest read), sees margin (read_only does not
    hide it), updates only its own records (read_only grants no update), may not write margin
    (hidden from one of its writing roles: read-only for the combination)."""
    hybrid = await crm.add_person("hybrid", ["sales_rep", "read_only"], team="east")
    assert set(await crm.list_names("hybrid")) == set(crm.accounts)
    assert (await hybrid.get(_acme(crm))).json()["margin"] == 12.5
    assert (await hybrid.get(f"{ACCOUNTS_PATH}/export")).status_code == 200  # read_only exports all
    assert (await hybrid.patch(_acme(crm), json={"region": "x"})).status_code == 403
    mine = await hybrid.post(ACCOUNTS_PATH, json={"name": "Hybrid's"})
    assert mine.status_code == 201
    assert (await hybrid.patch(f"{ACCOUNTS_PATH}/{mine.json()['id']}", json={"region": "x"})).status_code == 200
    r = await hybrid.patch(f"{ACCOUNTS_PATH}/{mine.json()['id']}", json={"margin": 3})
    assert r.status_code == 422 and errors_of(r) == [("/margin", "read_only")]


async def test_the_most_specific_grant_of_a_role_wins(crm: World) -> None:
    """ "crm.account" (read none) beats "*" (read all) within one role."""
    who = await crm.add_person("no_accounts", [NO_ACCOUNTS])
    assert (await who.get(ACCOUNTS_PATH)).status_code == 403
    assert (await who.get(_acme(crm))).status_code == 404
    assert len((await who.get(CONTACTS_PATH)).json()["items"]) == len(crm.contacts)
    expanded = (await who.get(CONTACTS_PATH, params={"expand": "account"})).json()["items"]
    assert all(isinstance(i["account"], int) for i in expanded)
