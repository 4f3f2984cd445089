"""Validation through the API: record values (every LEAD field type), bulk all-or-nothing, and
entity definitions. Every refusal is one 422 listing every problem with its JSON path and code,
and a refused request stores nothing."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.factories import ACCOUNT, LEAD, make_app

LEADS = "/api/v1/apps/crm/lead"
ENTITIES = "/api/v1/meta/apps/crm/entities"

CONTACT: dict[str, Any] = {
    "key": "contact",
    "label": "Contact",
    "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "account", "type": "relation", "target": "account"},
        {"key": "lead", "type": "relation", "target": "lead", "on_delete": "set_null"},
    ],
}


# -- helpers ----------------------------------------------------------------------------------------


def errors_of(r: httpx.Response) -> dict[str, str]:
    """The 422's errors as {path: code}, after checking it is a well-formed problem."""
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "/problems/validation-failed" and body["status"] == 422 and body["title"] and body["detail"]
    assert all(e["message"] for e in body["errors"])
    paths = [e["path"] for e in body["errors"]]
    assert len(paths) == len(set(paths)), f"one error per path expected: {body['errors']}"
    return {e["path"]: e["code"] for e in body["errors"]}


async def all_leads(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    r = await client.get(LEADS, params={"limit": 1000, "count": "true"})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == len(page["items"])
    return page["items"]


async def next_code(client: httpx.AsyncClient) -> str:
    """Create a throw-away lead to see which auto number comes next (refusals must not use one)."""
    r = await client.post(LEADS, json={"name": "probe"})
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


@pytest.fixture
async def crm(client: httpx.AsyncClient) -> httpx.AsyncClient:
    await make_app(client, "crm", LEAD, ACCOUNT, CONTACT)
    r = await client.post(LEADS, json={"name": "Existing", "email": "existing@example.com", "employees": 5})
    assert r.status_code == 201, r.text
    return client


@pytest.fixture
async def existing(crm: httpx.AsyncClient) -> dict[str, Any]:
    return (await all_leads(crm))[0]


# -- one bad value per field type -------------------------------------------------------------------

BAD_VALUES = [
    # text
    ("name", 123, "type"),
    ("name", True, "type"),
    ("name", ["Acme"], "type"),
    ("name", {"en": "Acme"}, "type"),
    ("notes", 42, "type"),
    # integer
    ("employees", "12", "type"),
    ("employees", 1.5, "type"),
    ("employees", True, "type"),
    ("employees", [1], "type"),
    ("employees", 2**63, "out_of_range"),
    ("employees", -1, "min"),
    # decimal (precision 15, scale 2, min 0)
    ("budget", 1.005, "scale"),
    ("budget", 0.001, "scale"),
    ("budget", "lots", "type"),
    ("budget", True, "type"),
    ("budget", {"amount": 1}, "type"),
    ("budget", 10**13, "out_of_range"),
    ("budget", -0.01, "min"),
    # boolean
    ("qualified", "true", "type"),
    ("qualified", 1, "type"),
    ("qualified", 0, "type"),
    # date
    ("first_contact", "2026-13-01", "format"),
    ("first_contact", "2026-02-30", "format"),
    ("first_contact", "01/02/2026", "format"),
    ("first_contact", "20260101", "format"),  # the published value schema is format "date": YYYY-MM-DD only
    ("first_contact", 20260101, "type"),
    # datetime
    ("last_activity_at", "2026-02-30T10:00:00Z", "format"),
    ("last_activity_at", "2026-01-01T25:00:00Z", "format"),
    ("last_activity_at", "next tuesday at noon", "format"),
    ("last_activity_at", 1_700_000_000, "type"),
    # select
    ("industry", "mining", "unknown_option"),
    ("industry", "Retail", "unknown_option"),
    ("industry", 1, "type"),
    ("industry", ["retail"], "type"),
    # multi_select
    ("tags", "vip", "type"),
    ("tags", {"vip": True}, "type"),
    ("tags", ["vip", "nope"], "unknown_option"),
    ("tags", [1], "type"),
    # email
    ("email", "not-an-email", "format"),
    ("email", "a@b", "format"),
    ("email", "two words@example.com", "format"),
    ("email", "a@@example.com", "format"),
    ("email", 42, "type"),
    # phone
    ("phone", "call me maybe", "format"),
    ("phone", "12", "format"),
    ("phone", "+1 (555) CALL-NOW", "format"),
    ("phone", 5551234, "type"),
    # url
    ("website", "not a url", "format"),
    ("website", "ftp://example.com/file", "format"),
    ("website", 80, "type"),
    # auto_number: the server assigns it
    ("code", "LEAD-999999", "read_only"),
]


@pytest.mark.parametrize(("field", "value", "code"), BAD_VALUES, ids=[f"{f}-{c}-{i}" for i, (f, _, c) in enumerate(BAD_VALUES)])
async def test_bad_value_is_422_at_its_path_and_nothing_is_stored(crm, existing, field, value, code):
    before = await all_leads(crm)
    body = {"name": "Acme", field: value}
    assert errors_of(await crm.post(LEADS, json=body)) == {f"/{field}": code}
    # The same value in an update of an existing record.
    assert errors_of(await crm.patch(f"{LEADS}/{existing['id']}", json={field: value})) == {f"/{field}": code}
    # And inside a bulk create, under the item's path.
    r = await crm.post(f"{LEADS}/bulk", json={"op": "create", "items": [{"name": "ok"}, body]})
    assert errors_of(r) == {f"/items/1/{field}": code}
    assert await all_leads(crm) == before


async def test_values_of_every_lead_field_type_are_accepted_and_normalised(crm):
    """The counterpart of the refusals: one good value per type, as the API returns it."""
    r = await crm.post(
        LEADS,
        json={
            "name": "Acme 制造",
            "email": "  Sales@Acme.EXAMPLE ",
            "phone": "+86 (21) 5555-0100",
            "budget": 600000.5,
            "employees": 250,
            "industry": "manufacturing",
            "tags": ["event", "vip", "event"],
            "qualified": True,
            "first_contact": "2026-02-28",
            "last_activity_at": "2026-11-23T09:30:00+08:00",
            "website": "https://acme.example/about",
            "notes": "line 1\nline 2",
            "extra": {"source": "fair", "score": [1, 2.5, None]},
        },
    )
    assert r.status_code == 201, r.text
    lead = r.json()
    assert lead["email"] == "sales@acme.example"
    assert lead["budget"] == 600000.5 and lead["employees"] == 250
    assert lead["tags"] == ["vip", "event"]  # option order, no repeats
    assert lead["last_activity_at"] == "2026-11-23T01:30:00Z"
    assert lead["first_contact"] == "2026-02-28" and lead["qualified"] is True
    assert lead["extra"] == {"source": "fair", "score": [1, 2.5, None]}
    assert lead["code"] == "LEAD-000002"


# -- unknown and system fields, required, bounds ----------------------------------------------------


async def test_unknown_fields_are_422_unknown_field(crm, existing):
    before = await all_leads(crm)
    r = await crm.post(LEADS, json={"name": "Acme", "nmae": "typo", "Budget": 1, "budget ": 2})
    assert errors_of(r) == {"/nmae": "unknown_field", "/Budget": "unknown_field", "/budget ": "unknown_field"}
    r = await crm.patch(f"{LEADS}/{existing['id']}", json={"industryy": "retail"})
    assert errors_of(r) == {"/industryy": "unknown_field"}
    # Keys that need escaping in a JSON Pointer are escaped (RFC 6901).
    r = await crm.post(LEADS, json={"name": "Acme", "a/b": 1, "c~d": 2})
    assert errors_of(r) == {"/a~1b": "unknown_field", "/c~0d": "unknown_field"}
    assert await all_leads(crm) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", 99),
        ("version", 1),
        ("created_at", "2020-01-01T00:00:00Z"),
        ("updated_at", "2020-01-01T00:00:00Z"),
        ("created_by", 1),
        ("updated_by", 1),
        ("deleted_at", None),
    ],
)
async def test_system_fields_on_create_are_read_only(crm, field, value):
    before = await all_leads(crm)
    assert errors_of(await crm.post(LEADS, json={"name": "Acme", field: value})) == {f"/{field}": "read_only"}
    r = await crm.post(f"{LEADS}/bulk", json={"op": "create", "items": [{"name": "Acme", field: value}]})
    assert errors_of(r) == {f"/items/0/{field}": "read_only"}
    assert await all_leads(crm) == before


@pytest.mark.parametrize("field", ["id", "created_at", "updated_at", "created_by", "updated_by", "deleted_at", "code"])
async def test_system_fields_on_update_are_read_only(crm, existing, field):
    before = await all_leads(crm)
    assert errors_of(await crm.patch(f"{LEADS}/{existing['id']}", json={field: existing[field]})) == {f"/{field}": "read_only"}
    assert await all_leads(crm) == before


async def test_read_only_field_refused_from_clients(client):
    doc = copy.deepcopy(ACCOUNT)
    doc["fields"].append({"key": "score", "type": "integer", "read_only": True})
    await make_app(client, "crm", doc)
    r = await client.post("/api/v1/apps/crm/account", json={"name": "A", "score": 5})
    assert errors_of(r) == {"/score": "read_only"}


async def test_missing_or_null_required_field_is_422_required(crm, existing):
    before = await all_leads(crm)
    assert errors_of(await crm.post(LEADS, json={})) == {"/name": "required"}
    assert errors_of(await crm.post(LEADS, json={"name": None})) == {"/name": "required"}
    assert errors_of(await crm.post(LEADS, json={"email": "a@example.com"})) == {"/name": "required"}
    assert errors_of(await crm.patch(f"{LEADS}/{existing['id']}", json={"name": None})) == {"/name": "required"}
    assert await all_leads(crm) == before
    # Leaving it out of an update is fine: only sent fields change.
    r = await crm.patch(f"{LEADS}/{existing['id']}", json={"employees": 6})
    assert r.status_code == 200 and r.json()["name"] == "Existing"


async def test_not_an_object_is_422_type_at_the_root(crm, existing):
    before = await all_leads(crm)
    for body in (b'[{"name": "Acme"}]', b'"Acme"', b"1", b"null", b"true"):
        assert errors_of(await crm.post(LEADS, content=body, headers={"content-type": "application/json"})) == {"": "type"}
    assert errors_of(await crm.patch(f"{LEADS}/{existing['id']}", json=["x"])) == {"": "type"}
    assert await all_leads(crm) == before


async def test_bounds_are_inclusive(crm):
    r = await crm.post(LEADS, json={"name": "Zero", "employees": 0, "budget": 0})
    assert r.status_code == 201, r.text
    r = await crm.post(LEADS, json={"name": "Max", "budget": 9999999999999.99, "employees": 2**63 - 1})
    assert r.status_code == 201, r.text
    assert r.json()["budget"] == 9999999999999.99 and r.json()["employees"] == 2**63 - 1


async def test_many_errors_are_reported_together_and_nothing_is_stored(crm):
    code_before = await next_code(crm)
    before = await all_leads(crm)
    r = await crm.post(
        LEADS,
        json={
            "email": "nope",
            "phone": "x",
            "budget": 1.234,
            "employees": -3,
            "industry": "mining",
            "tags": "vip",
            "qualified": "yes",
            "first_contact": "2026-13-01",
            "last_activity_at": "not-a-date-time",
            "website": "javascript:alert(1)",
            "code": "LEAD-1",
            "id": 7,
            "version": 3,
            "colour": "red",
        },
    )
    assert errors_of(r) == {
        "/name": "required",
        "/email": "format",
        "/phone": "format",
        "/budget": "scale",
        "/employees": "min",
        "/industry": "unknown_option",
        "/tags": "type",
        "/qualified": "type",
        "/first_contact": "format",
        "/last_activity_at": "format",
        "/website": "format",
        "/code": "read_only",
        "/id": "read_only",
        "/version": "read_only",
        "/colour": "unknown_field",
    }
    assert await all_leads(crm) == before
    # No auto number was used up by the refused request.
    assert int((await next_code(crm)).removeprefix("LEAD-")) == int(code_before.removeprefix("LEAD-")) + 1


async def test_unique_value_already_used_is_422_unique(crm, existing):
    before = await all_leads(crm)
    assert errors_of(await crm.post(LEADS, json={"name": "Dup", "email": "EXISTING@example.com"})) == {"/email": "unique"}
    assert await all_leads(crm) == before


# -- relations ---------------------------------------------------------------------------------------


async def test_relation_to_a_missing_record_is_422_not_found(crm, existing):
    r = await crm.post("/api/v1/apps/crm/account", json={"name": "Acme"})
    account = r.json()
    r = await crm.post("/api/v1/apps/crm/contact", json={"name": "Ada", "account": 999_999, "lead": existing["id"]})
    assert errors_of(r) == {"/account": "not_found"}
    # A record in the recycle bin is not a valid target either.
    assert (await crm.delete(f"/api/v1/apps/crm/account/{account['id']}")).status_code == 204
    r = await crm.post("/api/v1/apps/crm/contact", json={"name": "Ada", "account": account["id"]})
    assert errors_of(r) == {"/account": "not_found"}
    r = await crm.get("/api/v1/apps/crm/contact", params={"count": "true"})
    assert r.json()["total"] == 0


@pytest.mark.parametrize("value", ["1", 0, -1, 1.5, True, {"id": 1}, [1]])
async def test_relation_of_the_wrong_type_is_422_type(crm, value):
    r = await crm.post("/api/v1/apps/crm/contact", json={"name": "Ada", "account": value})
    assert errors_of(r) == {"/account": "type"}


async def test_relation_errors_in_bulk_are_located_per_item(crm):
    account = (await crm.post("/api/v1/apps/crm/account", json={"name": "Acme"})).json()
    r = await crm.post(
        "/api/v1/apps/crm/contact/bulk",
        json={
            "op": "create",
            "items": [
                {"name": "Ok", "account": account["id"]},
                {"name": "Bad", "account": 424242},
                {"name": "Ok too"},
                {"name": "Bad too", "account": 424243},
            ],
        },
    )
    assert errors_of(r) == {"/items/1/account": "not_found", "/items/3/account": "not_found"}
    assert (await crm.get("/api/v1/apps/crm/contact", params={"count": "true"})).json()["total"] == 0


# -- bulk -------------------------------------------------------------------------------------------


async def test_bulk_create_is_all_or_nothing(crm):
    code_before = await next_code(crm)
    before = await all_leads(crm)
    r = await crm.post(
        f"{LEADS}/bulk",
        json={"op": "create", "items": [{"name": "One"}, {"name": "Two", "employees": "many"}, {"name": "Three"}]},
    )
    assert errors_of(r) == {"/items/1/employees": "type"}
    assert await all_leads(crm) == before
    assert int((await next_code(crm)).removeprefix("LEAD-")) == int(code_before.removeprefix("LEAD-")) + 1


async def test_bulk_create_reports_every_bad_item(crm):
    before = await all_leads(crm)
    r = await crm.post(
        f"{LEADS}/bulk",
        json={
            "op": "create",
            "items": [
                {"industry": "retail"},
                {"name": "Ok"},
                "not an object",
                {"name": "Dup", "email": "same@example.com"},
                {"name": "Dup 2", "email": "same@example.com"},
                {"name": "Taken", "email": "existing@example.com"},
            ],
        },
    )
    assert errors_of(r) == {
        "/items/0/name": "required",
        "/items/2": "type",
        "/items/4/email": "unique",
        "/items/5/email": "unique",
    }
    assert await all_leads(crm) == before


async def test_bulk_update_is_all_or_nothing(crm, existing):
    second = (await crm.post(LEADS, json={"name": "Second"})).json()
    before = await all_leads(crm)
    r = await crm.post(
        f"{LEADS}/bulk",
        json={
            "op": "update",
            "items": [{"id": existing["id"], "name": "Renamed"}, {"id": second["id"], "budget": -1}],
        },
    )
    assert errors_of(r) == {"/items/1/budget": "min"}
    # Every item without a usable id is reported, not only the first.
    r = await crm.post(f"{LEADS}/bulk", json={"op": "update", "items": [{"name": "no id"}, {"id": "1", "name": "x"}]})
    assert errors_of(r) == {"/items/0/id": "required", "/items/1/id": "required"}
    assert await all_leads(crm) == before


async def test_bulk_update_of_a_missing_record_is_located_even_for_one_item(crm, existing):
    """Bulk errors always carry the item's path, whether the batch has one item or many."""
    before = await all_leads(crm)
    r = await crm.post(
        f"{LEADS}/bulk", json={"op": "update", "items": [{"id": existing["id"], "name": "x"}, {"id": 987654, "name": "y"}]}
    )
    assert errors_of(r) == {"/items/1/id": "not_found"}
    r = await crm.post(f"{LEADS}/bulk", json={"op": "update", "items": [{"id": 987654, "name": "y"}]})
    assert errors_of(r) == {"/items/0/id": "not_found"}
    assert await all_leads(crm) == before


async def test_bulk_upsert_is_all_or_nothing(crm, existing):
    before = await all_leads(crm)
    r = await crm.post(
        f"{LEADS}/bulk",
        json={
            "op": "upsert",
            "match_on": "email",
            "items": [
                {"email": "existing@example.com", "name": "Updated"},
                {"email": "new@example.com", "name": "New", "qualified": "no"},
            ],
        },
    )
    assert errors_of(r) == {"/items/1/qualified": "type"}
    assert await all_leads(crm) == before
    r = await crm.post(f"{LEADS}/bulk", json={"op": "upsert", "match_on": "name", "items": [{"name": "x"}]})
    assert errors_of(r) == {"/match_on": "not_unique"}
    r = await crm.post(f"{LEADS}/bulk", json={"op": "upsert", "match_on": "email", "items": [{"name": "no email"}]})
    assert errors_of(r) == {"/items/0/email": "required"}
    assert await all_leads(crm) == before


async def test_bulk_of_more_than_1000_items_is_422(crm):
    before = await all_leads(crm)
    r = await crm.post(f"{LEADS}/bulk", json={"op": "create", "items": [{"name": f"L{i}"} for i in range(1001)]})
    assert errors_of(r) == {"/items": "too_long"}
    assert await all_leads(crm) == before
    r = await crm.post(f"{LEADS}/bulk", json={"op": "create", "items": [{"name": f"L{i}"} for i in range(1000)]})
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 1000
    assert (await crm.get(LEADS, params={"count": "true", "limit": 1})).json()["total"] == 1001


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"op": "create", "items": []}, {"/items": "too_short"}),
        ({"op": "delete", "items": [{"name": "x"}]}, {"/op": "literal_error"}),
        ({"items": [{"name": "x"}]}, {"/op": "missing"}),
        ({"op": "create"}, {"/items": "missing"}),
        ({"op": "create", "items": {"name": "x"}}, {"/items": "list_type"}),
        ({"op": "create", "items": [{"name": "x"}], "dry_run": True}, {"/dry_run": "extra_forbidden"}),
    ],
)
async def test_malformed_bulk_envelope_is_422(crm, body, expected):
    before = await all_leads(crm)
    assert errors_of(await crm.post(f"{LEADS}/bulk", json=body)) == expected
    assert await all_leads(crm) == before


# -- entity definitions -----------------------------------------------------------------------------


def with_field(field: Any, *more: dict[str, Any]) -> dict[str, Any]:
    """An entity definition whose field 1 (and on) are the ones under test."""
    return {"key": "thing", "label": "Thing", "fields": [{"key": "name", "type": "text"}, field, *more]}


BAD_DEFINITIONS = [
    ("unknown type", with_field({"key": "x", "type": "texty"}), "/fields/1/type", "unknown_type"),
    ("missing type", with_field({"key": "x"}), "/fields/1/type", "unknown_type"),
    ("type not a string", with_field({"key": "x", "type": ["text"]}), "/fields/1/type", "unknown_type"),
    ("field not an object", with_field("x"), "/fields/1", "type"),
    ("reserved id", with_field({"key": "id", "type": "integer"}), "/fields/1/key", "reserved"),
    ("reserved created_at", with_field({"key": "created_at", "type": "datetime"}), "/fields/1/key", "reserved"),
    ("reserved owner", with_field({"key": "owner", "type": "user"}), "/fields/1/key", "reserved"),
    ("duplicate key", with_field({"key": "name", "type": "long_text"}), "/fields/1/key", "duplicate"),
    ("bad key", with_field({"key": "Bad Key", "type": "text"}), "/fields/1/key", "string_pattern_mismatch"),
    ("integer min > max", with_field({"key": "x", "type": "integer", "min": 10, "max": 1}), "/fields/1/min", "range"),
    ("decimal min > max", with_field({"key": "x", "type": "decimal", "min": 1.5, "max": 1.25}), "/fields/1/min", "range"),
    (
        "date min > max",
        with_field({"key": "x", "type": "date", "min": "2026-02-01", "max": "2026-01-01"}),
        "/fields/1/min",
        "range",
    ),
    (
        "text min_length > max_length",
        with_field({"key": "x", "type": "text", "min_length": 5, "max_length": 2}),
        "/fields/1/min_length",
        "range",
    ),
    ("integer default not a number", with_field({"key": "x", "type": "integer", "default": "abc"}), "/fields/1/default", "type"),
    (
        "integer default below min",
        with_field({"key": "x", "type": "integer", "min": 0, "default": -1}),
        "/fields/1/default",
        "min",
    ),
    (
        "select default not an option",
        with_field({"key": "x", "type": "select", "options": [{"key": "a"}], "default": "b"}),
        "/fields/1/default",
        "unknown_option",
    ),
    ("boolean default a string", with_field({"key": "x", "type": "boolean", "default": "yes"}), "/fields/1/default", "type"),
    (
        "text default too long",
        with_field({"key": "x", "type": "text", "max_length": 3, "default": "long"}),
        "/fields/1/default",
        "max_length",
    ),
    (
        "auto_number default",
        with_field({"key": "x", "type": "auto_number", "default": "A-1"}),
        "/fields/1/default",
        "not_allowed",
    ),
    ("select without options", with_field({"key": "x", "type": "select", "options": []}), "/fields/1/options", "too_short"),
    (
        "duplicate option",
        with_field({"key": "x", "type": "select", "options": [{"key": "a"}, {"key": "a"}]}),
        "/fields/1/options/1/key",
        "duplicate",
    ),
    (
        "option of another type's config",
        with_field({"key": "x", "type": "text", "scale": 2}),
        "/fields/1/scale",
        "extra_forbidden",
    ),
    (
        "precision too high",
        with_field({"key": "x", "type": "decimal", "precision": 16}),
        "/fields/1/precision",
        "less_than_equal",
    ),
    (
        "scale greater than precision",
        with_field({"key": "x", "type": "decimal", "precision": 3, "scale": 5}),
        "/fields/1/scale",
        None,
    ),
    ("invalid regular expression", with_field({"key": "x", "type": "text", "pattern": "(unclosed"}), "/fields/1/pattern", None),
    (
        "relation target does not exist",
        with_field({"key": "x", "type": "relation", "target": "nowhere"}),
        "/fields/1/target",
        "unknown_entity",
    ),
    (
        "relation target in a missing app",
        with_field({"key": "x", "type": "relation", "target": "nope.account"}),
        "/fields/1/target",
        "unknown_entity",
    ),
    (
        "relation target not a key",
        with_field({"key": "x", "type": "relation", "target": "Account; DROP"}),
        "/fields/1/target",
        "string_pattern_mismatch",
    ),
    ("relation without target", with_field({"key": "x", "type": "relation"}), "/fields/1/target", "missing"),
    (
        "display_field unknown",
        with_field({"key": "x", "type": "text"}) | {"display_field": "title"},
        "/display_field",
        "unknown_field",
    ),
    ("no fields", {"key": "thing", "label": "Thing", "fields": []}, "/fields", "too_short"),
    ("no label", {"key": "thing", "fields": [{"key": "name", "type": "text"}]}, "/label", "missing"),
    ("unknown top-level key", with_field({"key": "x", "type": "text"}) | {"table": "x"}, "/table", "extra_forbidden"),
]


@pytest.mark.parametrize(("doc", "path", "code"), [b[1:] for b in BAD_DEFINITIONS], ids=[b[0] for b in BAD_DEFINITIONS])
async def test_bad_entity_definition_is_422_at_its_path(crm, doc, path, code):
    entities_before = (await crm.get(ENTITIES)).json()
    r = await crm.post(ENTITIES, json=doc)
    errors = errors_of(r)
    assert path in errors, errors
    if code is not None:
        assert errors[path] == code
    assert (await crm.get(f"{ENTITIES}/thing")).status_code == 404
    assert (await crm.get(ENTITIES)).json() == entities_before


@pytest.mark.parametrize(("doc", "path", "code"), [b[1:] for b in BAD_DEFINITIONS], ids=[b[0] for b in BAD_DEFINITIONS])
async def test_bad_definition_published_as_a_new_version_is_refused_and_version_unchanged(crm, doc, path, code):
    r = await crm.post(ENTITIES, json={"key": "thing", "label": "Thing", "fields": [{"key": "name", "type": "text"}]})
    assert r.status_code == 201, r.text
    r = await crm.put(f"{ENTITIES}/thing", json=doc | {"version": 1})
    errors = errors_of(r)
    assert path in errors, errors
    if code is not None:
        assert errors[path] == code
    r = await crm.get(f"{ENTITIES}/thing")
    assert r.json()["version"] == 1 and r.json()["fields"] == [{"key": "name", "type": "text"}]
    assert len((await crm.get(f"{ENTITIES}/thing/versions")).json()["items"]) == 1


async def test_every_definition_problem_is_reported_together(crm):
    doc = {
        "key": "thing",
        "label": "Thing",
        "display_field": "missing",
        "fields": [
            {"key": "id", "type": "text"},
            {"key": "a", "type": "nope"},
            {"key": "b", "type": "integer", "min": 5, "max": 1},
            {"key": "b", "type": "text"},
            {"key": "c", "type": "relation", "target": "ghost"},
        ],
    }
    errors = errors_of(await crm.post(ENTITIES, json=doc))
    expected = {
        "/fields/0/key": "reserved",
        "/fields/1/type": "unknown_type",
        "/fields/2/min": "range",
        "/fields/3/key": "duplicate",
        "/display_field": "unknown_field",
    }
    assert expected.items() <= errors.items()
    # The relation target is checked against the database once the document itself is valid.
    assert set(errors) <= {*expected, "/fields/4/target"}
    assert (await crm.get(f"{ENTITIES}/thing")).status_code == 404


@pytest.mark.parametrize("ftype", ["multi_select", "json"])
async def test_unique_on_a_list_or_document_field_is_refused_or_enforced(crm, ftype):
    """A "unique" flag the engine accepts must work; otherwise the definition is refused at its path."""
    field: dict[str, Any] = {"key": "x", "type": ftype, "unique": True}
    if ftype == "multi_select":
        field["options"] = [{"key": "a"}, {"key": "b"}]
    r = await crm.post(ENTITIES, json=with_field(field))
    if r.status_code == 422:
        assert list(errors_of(r)) == ["/fields/1/unique"]
        return
    assert r.status_code == 201, r.text
    value = ["a"] if ftype == "multi_select" else {"k": 1}
    r = await crm.post("/api/v1/apps/crm/thing", json={"name": "one", "x": value})
    assert r.status_code == 201, r.text
    assert errors_of(await crm.post("/api/v1/apps/crm/thing", json={"name": "two", "x": value})) == {"/x": "unique"}


async def test_relation_by_qualified_name_and_to_itself_is_accepted(crm):
    r = await crm.post(
        ENTITIES,
        json=with_field(
            {"key": "parent", "type": "relation", "target": "thing", "on_delete": "set_null"},
            {"key": "account", "type": "relation", "target": "crm.account"},
        ),
    )
    assert r.status_code == 201, r.text
    parent = (await crm.post("/api/v1/apps/crm/thing", json={"name": "p"})).json()
    r = await crm.post("/api/v1/apps/crm/thing", json={"name": "c", "parent": parent["id"], "account": 31337})
    assert errors_of(r) == {"/account": "not_found"}
