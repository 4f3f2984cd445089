"""Hostile and malformed input: every bad request gets a precise 4xx problem+json (never a 500),
values that look like SQL, HTML or spreadsheet formulas are data (stored and returned verbatim),
and a refused request leaves the database exactly as it was."""

from __future__ import annotations

import base64
import copy
import json
import random
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.factories import ACCOUNT, LEAD, make_app

LEADS = "/api/v1/apps/crm/lead"
LEAD_META = "/api/v1/meta/apps/crm/entities/lead"
ENTITIES = "/api/v1/meta/apps/crm/entities"
JSON = {"content-type": "application/json"}
MIB = 1024 * 1024


# -- helpers ----------------------------------------------------------------------------------------


def assert_problem(r: httpx.Response, status: int, path: str | None = None, code: str | None = None) -> dict[str, Any]:
    """A RFC 9457 problem of `status`; with `path`/`code`, one of its errors is exactly that."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/") and body["title"] and body["detail"]
    if path is not None or code is not None:
        errors = body.get("errors", [])
        matching = [e for e in errors if (path is None or e["path"] == path) and (code is None or e["code"] == code)]
        assert matching, f"no error with path={path!r} code={code!r} in {errors}"
        assert all(e["message"] for e in errors)
    return body


async def lead_count(client: httpx.AsyncClient) -> int:
    r = await client.get(LEADS, params={"count": "true", "limit": 1})
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


async def lead_version(client: httpx.AsyncClient) -> int:
    r = await client.get(LEAD_META)
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


async def snapshot(client: httpx.AsyncClient) -> dict[str, Any]:
    """What a refused request must not change: records, the lead definition, apps and entities."""
    apps = (await client.get("/api/v1/meta/apps")).json()
    entities = (await client.get(ENTITIES)).json()
    return {
        "leads": (await client.get(LEADS, params={"limit": 1000})).json()["items"],
        "count": await lead_count(client),
        "version": await lead_version(client),
        "apps": sorted(a["key"] for a in apps["items"]),
        "entities": sorted((e["key"], e["version"]) for e in entities["items"]),
    }


async def post_raw(client: httpx.AsyncClient, url: str, body: bytes, content_type: str | None = "application/json"):
    headers = {} if content_type is None else {"content-type": content_type}
    return await client.post(url, content=body, headers=headers)


async def create_lead(client: httpx.AsyncClient, **values: Any) -> dict[str, Any]:
    r = await client.post(LEADS, json={"name": "Acme", **values})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def crm(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The CRM app with LEAD and one existing lead, so "unchanged" is checked against real data."""
    await make_app(client)
    await create_lead(client, name="Existing", email="existing@example.com")
    return client


# -- malformed bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "x",}',  # trailing comma
        b"{'name': 'x'}",  # single quotes
        b'{"name": "x"',  # truncated
        b'{"name": "x"} {"name": "y"}',  # two documents
        b'{"name": x}',  # bare word
        b"",  # empty
        b"   ",  # only whitespace
        b'{"name": "x"}\x00',  # trailing NUL byte
    ],
    ids=["trailing-comma", "single-quotes", "truncated", "two-docs", "bare-word", "empty", "whitespace", "trailing-nul"],
)
async def test_malformed_json_is_400_problem(crm, body):
    before = await snapshot(crm)
    r = await post_raw(crm, LEADS, body)
    body_json = assert_problem(r, 400)
    assert body_json["type"] == "/problems/bad-request"
    assert await snapshot(crm) == before


async def test_malformed_json_on_meta_and_bulk_endpoints_is_400(crm):
    before = await snapshot(crm)
    assert_problem(await post_raw(crm, "/api/v1/meta/apps", b'{"key": "x",'), 400)
    assert_problem(await post_raw(crm, ENTITIES, b'{"key": "x",'), 400)
    assert_problem(await post_raw(crm, f"{LEADS}/bulk", b'{"op": "create", "items": [}'), 400)
    r = await crm.put(LEAD_META, content=b"{not json", headers=JSON)
    assert_problem(r, 400)
    lead_id = before["leads"][0]["id"]
    r = await crm.patch(f"{LEADS}/{lead_id}", content=b'{"name": }', headers=JSON)
    assert_problem(r, 400)
    assert await snapshot(crm) == before


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html", "application/xml"],
)
async def test_wrong_content_type_is_415(crm, content_type):
    before = await snapshot(crm)
    r = await post_raw(crm, LEADS, b'{"name": "Sneaky"}', content_type)
    body = assert_problem(r, 415)
    assert body["type"] == "/problems/unsupported-media-type"
    assert_problem(await post_raw(crm, ENTITIES, json.dumps(ACCOUNT).encode(), content_type), 415)
    assert await snapshot(crm) == before


async def test_json_media_type_with_charset_or_suffix_is_accepted(crm):
    r = await post_raw(crm, LEADS, json.dumps({"name": "Charset"}).encode(), "Application/JSON; charset=utf-8")
    assert r.status_code == 201, r.text
    r = await post_raw(crm, LEADS, json.dumps({"name": "Suffix"}).encode(), "application/vnd.tangram+json")
    assert r.status_code == 201, r.text
    assert await lead_count(crm) == 3


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_literals_are_400(crm, literal):
    before = await snapshot(crm)
    r = await post_raw(crm, LEADS, f'{{"name": "Nan", "budget": {literal}}}'.encode())
    assert_problem(r, 400)
    r = await post_raw(crm, LEADS, f'{{"name": "Nan", "extra": {{"x": [{literal}]}}}}'.encode())
    assert_problem(r, 400)
    assert await snapshot(crm) == before


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "\xff\xfe"}',  # bytes that never appear in UTF-8
        b'{"name": "\xc0\xaf"}',  # overlong encoding of "/"
        b'{"name": "\xed\xa0\x80"}',  # an encoded surrogate
        b'{"name": "caf\xe9"}',  # Latin-1, not UTF-8
        b'\xef\xbb\xbf{"name": "bom"}',  # a byte order mark is not JSON (RFC 8259 section 8.1)
    ],
    ids=["ff-fe", "overlong", "surrogate-bytes", "latin1", "bom"],
)
async def test_invalid_utf8_is_400(crm, raw):
    before = await snapshot(crm)
    assert_problem(await post_raw(crm, LEADS, raw), 400)
    assert await snapshot(crm) == before


async def test_lone_surrogate_escape_is_refused_not_500(crm):
    # Valid JSON syntax, but "\ud800" decodes to a string that is not Unicode text: it cannot be
    # encoded for either database nor written back as UTF-8. It must be a client error.
    before = await snapshot(crm)
    r = await post_raw(crm, LEADS, b'{"name": "bad \\ud800 text"}')
    assert r.status_code in (400, 422), r.text
    assert_problem(r, r.status_code)
    assert await snapshot(crm) == before


# -- size limits ------------------------------------------------------------------------------------


async def test_body_over_1_mib_with_content_length_is_413(crm):
    before = await snapshot(crm)
    body = json.dumps({"name": "big", "notes": "x" * (MIB + 10)}).encode()
    r = await post_raw(crm, LEADS, body)
    problem = assert_problem(r, 413)
    assert problem["type"] == "/problems/payload-too-large"
    assert str(MIB) in problem["detail"]
    assert_problem(await post_raw(crm, ENTITIES, body), 413)
    assert_problem(await post_raw(crm, f"{LEADS}/bulk", body), 413)
    assert await snapshot(crm) == before


async def test_body_over_1_mib_streamed_without_content_length_is_413(crm):
    before = await snapshot(crm)

    async def chunks():
        yield b'{"name": "streamed", "notes": "'
        for _ in range(24):  # 24 x 64 KiB = 1.5 MiB
            yield b"y" * 65536
        yield b'"}'

    r = await crm.post(LEADS, content=chunks(), headers=JSON)
    assert "content-length" not in r.request.headers and r.request.headers.get("transfer-encoding") == "chunked"
    problem = assert_problem(r, 413)
    assert problem["type"] == "/problems/payload-too-large"
    assert await snapshot(crm) == before


async def test_body_of_exactly_1_mib_is_not_refused_for_size(crm):
    doc = json.dumps({"name": "padded"}).encode()
    body = doc + b" " * (MIB - len(doc))  # JSON allows trailing whitespace
    assert len(body) == MIB
    r = await post_raw(crm, LEADS, body)
    assert r.status_code == 201, r.text
    assert await lead_count(crm) == 2


async def test_huge_strings_over_max_length_are_422(crm):
    before = await snapshot(crm)
    r = await crm.post(
        LEADS,
        json={
            "name": "n" * 256,  # text: 255 by default
            "notes": "l" * 100_001,  # long_text: 100 000
            "email": "a@" + "b" * 320 + ".com",  # email: 320
            "phone": "1" * 33,  # phone: 32
            "website": "https://example.com/" + "p" * 2100,  # url: 2048
        },
    )
    body = assert_problem(r, 422)
    codes = {e["path"]: e["code"] for e in body["errors"]}
    assert codes == {
        "/name": "max_length",
        "/notes": "max_length",
        "/email": "max_length",
        "/phone": "max_length",
        "/website": "max_length",
    }
    assert await snapshot(crm) == before
    # A value exactly at the limit is fine.
    r = await crm.post(LEADS, json={"name": "n" * 255, "notes": "l" * 100_000})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "n" * 255


async def test_error_messages_do_not_echo_huge_input(crm):
    """Refusing a 500 KB key or option must not answer with a 500 KB error (no amplification)."""
    before = await snapshot(crm)
    r = await crm.post(LEADS, json={"name": "x", "k" * 500_000: 1, "industry": "i" * 500_000})
    body = assert_problem(r, 422)
    assert {e["code"] for e in body["errors"]} == {"unknown_field", "unknown_option"}
    assert all(len(e["message"]) < 1_000 for e in body["errors"])
    assert len(body["detail"]) < 1_000
    assert await snapshot(crm) == before


async def test_fields_whose_values_cannot_be_indexed_refuse_indexed_and_unique(client):
    """PostgreSQL b-tree entries are limited to ~2.7 KB: long text, documents and long URLs are
    refused as indexed/unique when the entity is defined, instead of failing on some later write."""
    r = await client.post("/api/v1/meta/apps", json={"key": "crm", "label": "CRM"})
    assert r.status_code == 201
    cases = [
        ({"key": "body", "type": "long_text", "indexed": True}, "/fields/0/indexed"),
        ({"key": "body", "type": "text", "max_length": 5000, "unique": True}, "/fields/0/unique"),
        ({"key": "tags", "type": "multi_select", "options": [{"key": "a"}], "unique": True}, "/fields/0/unique"),
        ({"key": "doc", "type": "json", "indexed": True}, "/fields/0/indexed"),
    ]
    for field, path in cases:
        r = await client.post("/api/v1/meta/apps/crm/entities", json={"key": "note", "label": "Note", "fields": [field]})
        assert_problem(r, 422, path)
    ok = {"key": "note", "label": "Note", "fields": [{"key": "title", "type": "text", "max_length": 500, "unique": True}]}
    assert (await client.post("/api/v1/meta/apps/crm/entities", json=ok)).status_code == 201
    rng = random.Random(42)  # incompressible, four-byte characters: the worst case for an index entry
    title = "".join(chr(rng.randrange(0x1F300, 0x1F5FF)) for _ in range(500))
    r = await client.post("/api/v1/apps/crm/note", json={"title": title})
    assert r.status_code == 201, r.text
    assert (await client.get(f"/api/v1/apps/crm/note/{r.json()['id']}")).json()["title"] == title


# -- nesting ----------------------------------------------------------------------------------------


async def test_deeply_nested_json_is_400_not_500(crm):
    before = await snapshot(crm)
    assert_problem(await post_raw(crm, LEADS, b"[" * 100_000), 400)
    assert_problem(await post_raw(crm, LEADS, b"[" * 100_000 + b"]" * 100_000), 400)
    assert_problem(await post_raw(crm, LEADS, b'{"name": "x", "extra": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001), 400)
    assert_problem(await post_raw(crm, ENTITIES, b'{"key": ' + b"[" * 100_000), 400)
    assert_problem(await post_raw(crm, f"{LEADS}/bulk", b'{"op": "create", "items": ' + b"[" * 100_000), 400)
    assert await snapshot(crm) == before


async def test_deep_nesting_hidden_behind_an_escaped_quote_is_400_not_500(crm):
    """The depth pre-scan must track strings exactly: an escaped quote inside a string does not end it."""
    before = await snapshot(crm)
    depth = 100_000
    body = b'{"name": "say \\"hi", "extra": ' + b"[" * depth + b"]" * depth + b"}"
    json.loads(body[: body.index(b"[")] + b"[]}")  # the same document without the nesting is valid JSON
    assert_problem(await post_raw(crm, LEADS, body), 400)
    assert await snapshot(crm) == before


async def test_strings_with_escaped_quotes_and_brackets_are_not_counted_as_nesting(crm):
    """Brackets inside a string are text, even after an escaped quote."""
    name = 'He said "' + "[" * 100 + '"'
    r = await post_raw(crm, LEADS, json.dumps({"name": name}).encode())
    assert r.status_code == 201, r.text
    assert r.json()["name"] == name


async def test_nesting_within_body_limit_but_too_deep_for_a_json_field_is_422(crm):
    before = await snapshot(crm)
    value: Any = "leaf"
    for _ in range(40):
        value = {"n": value}
    r = await crm.post(LEADS, json={"name": "deep", "extra": value})
    assert_problem(r, 422, "/extra", "too_deep")
    assert await snapshot(crm) == before


# -- NUL and control characters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"name": "Ac\u0000me"}, "/name"),
        ({"name": "ok", "notes": "line\u0000break"}, "/notes"),
        ({"name": "ok", "email": "a\u0000@example.com"}, "/email"),
        ({"name": "ok", "phone": "+86 \u0000 123"}, "/phone"),
        ({"name": "ok", "website": "https://example.com/\u0000"}, "/website"),
        ({"name": "ok", "extra": {"k": ["fine", "bad\u0000"]}}, "/extra"),
        ({"name": "ok", "extra": {"bad\u0000key": 1}}, "/extra"),
    ],
    ids=["text", "long_text", "email", "phone", "url", "json-value", "json-key"],
)
async def test_nul_character_in_text_values_is_422_invalid_character(crm, values, path):
    before = await snapshot(crm)
    r = await crm.post(LEADS, json=values)
    assert_problem(r, 422, path, "invalid_character")
    lead_id = before["leads"][0]["id"]
    r = await crm.patch(f"{LEADS}/{lead_id}", json=values)
    assert_problem(r, 422, path, "invalid_character")
    assert await snapshot(crm) == before


async def test_nul_character_in_labels_is_422(crm):
    before = await snapshot(crm)
    assert_problem(await crm.post("/api/v1/meta/apps", json={"key": "nul", "label": "a\u0000b"}), 422, "/label")
    doc = copy.deepcopy(ACCOUNT) | {"label": {"en": "Acc\u0000ount"}}
    assert_problem(await crm.post(ENTITIES, json=doc), 422, "/label")
    assert await snapshot(crm) == before


async def test_control_characters_other_than_nul_are_stored_verbatim(crm):
    name = "tab\there\r\nnew line \u0007 bell \u202e rtl"
    lead = await create_lead(crm, name=name)
    assert (await crm.get(f"{LEADS}/{lead['id']}")).json()["name"] == name


# -- SQL injection in values ------------------------------------------------------------------------

SQL_VALUES = [
    "'; DROP TABLE crm__lead; --",
    "Robert'); DROP TABLE students;--",
    "' OR '1'='1",
    '" OR ""="',
    "1; DELETE FROM tg_entities WHERE 1=1",
    "admin'--",
    "x' UNION SELECT id, key, table_name FROM tg_entities --",
    "\\'; SELECT pg_sleep(5); --",
    "%' AND 1=1 AND '%'='",
    "$1 $$ $tag$ ? :name %s %(name)s",
]


@pytest.mark.parametrize("value", SQL_VALUES)
async def test_sql_in_values_is_stored_verbatim_and_read_back_identical(crm, value):
    lead = await create_lead(crm, name=value, notes=value, extra={"q": value, value: [value]})
    assert lead["name"] == value and lead["notes"] == value and lead["extra"] == {"q": value, value: [value]}
    assert (await crm.get(f"{LEADS}/{lead['id']}")).json() == lead

    # Found by exact match, and only it.
    r = await crm.get(LEADS, params={"filter": json.dumps({"field": "name", "op": "eq", "value": value})})
    assert r.status_code == 200, r.text
    assert [i["id"] for i in r.json()["items"]] == [lead["id"]]

    # Updates and the table keep working afterwards.
    r = await crm.patch(f"{LEADS}/{lead['id']}", json={"name": value + " (2)", "version": 1})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == value + " (2)"
    await create_lead(crm, name="after")
    assert await lead_count(crm) == 3
    r = await crm.get(ENTITIES)
    assert [e["key"] for e in r.json()["items"]] == ["lead"]


async def test_sql_values_in_bulk_are_stored_verbatim(crm):
    r = await crm.post(f"{LEADS}/bulk", json={"op": "create", "items": [{"name": v} for v in SQL_VALUES]})
    assert r.status_code == 200, r.text
    assert [i["name"] for i in r.json()["items"]] == SQL_VALUES
    r = await crm.get(LEADS, params={"sort": "code", "limit": 100})
    assert [i["name"] for i in r.json()["items"]] == ["Existing", *SQL_VALUES]


# -- SQL and HTML in keys and labels ----------------------------------------------------------------

BAD_KEYS = [
    "lead; DROP TABLE tg_entities; --",
    'lead"; DROP TABLE tg_apps; --',
    "lead' OR '1'='1",
    "Lead",
    "lead-x",
    "lead.x",
    "lead x",
    "1lead",
    "_lead",
    "",
    "l" * 64,
    "lead\u0000",
    "lead\n",
    "léad",
    "<script>alert(1)</script>",
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_entity_keys_are_refused_with_path_key(crm, key):
    before = await snapshot(crm)
    doc = copy.deepcopy(ACCOUNT) | {"key": key}
    assert_problem(await crm.post(ENTITIES, json=doc), 422, "/key")
    assert await snapshot(crm) == before


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_app_keys_are_refused_with_path_key(crm, key):
    before = await snapshot(crm)
    assert_problem(await crm.post("/api/v1/meta/apps", json={"key": key, "label": "X"}), 422, "/key")
    assert await snapshot(crm) == before


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_field_keys_are_refused_with_their_path(crm, key):
    before = await snapshot(crm)
    doc = copy.deepcopy(ACCOUNT)
    doc["fields"].append({"key": key, "type": "text"})
    assert_problem(await crm.post(ENTITIES, json=doc), 422, "/fields/2/key")
    # The same through publishing a new version of an existing entity.
    lead = copy.deepcopy(LEAD)
    lead["fields"].append({"key": key, "type": "text"})
    assert_problem(await crm.put(LEAD_META, json=lead), 422, f"/fields/{len(LEAD['fields'])}/key")
    assert await snapshot(crm) == before


async def test_sql_in_path_segments_is_a_plain_404(crm):
    before = await snapshot(crm)
    evil = quote("crm'; DROP TABLE tg_apps; --", safe="")
    assert_problem(await crm.get(f"/api/v1/apps/{evil}/lead"), 404)
    assert_problem(await crm.get(f"/api/v1/apps/crm/{quote('lead; DROP TABLE crm__lead', safe='')}"), 404)
    assert_problem(await crm.post(f"/api/v1/apps/crm/{quote('lead OR 1=1', safe='')}", json={"name": "x"}), 404)
    assert_problem(await crm.get(f"/api/v1/meta/apps/{evil}/entities"), 404)
    assert await snapshot(crm) == before


HTML_LABEL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


async def test_html_and_sql_in_labels_are_stored_verbatim_and_returned_as_json(client):
    r = await client.post("/api/v1/meta/apps", json={"key": "crm", "label": HTML_LABEL, "description": "'; DROP TABLE x; --"})
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["label"] == HTML_LABEL

    doc = copy.deepcopy(ACCOUNT)
    doc["label"] = {"en": HTML_LABEL, "zh-CN": "客户'; DROP TABLE crm__account; --"}
    doc["fields"][0]["label"] = {"en": '"><svg onload=alert(1)>'}
    doc["fields"][1]["help_text"] = "<b>bold</b> & ' \" \\"
    r = await client.post("/api/v1/meta/apps/crm/entities", json=doc)
    assert r.status_code == 201, r.text
    for response in (r, await client.get("/api/v1/meta/apps/crm/entities/account")):
        assert response.headers["content-type"].startswith("application/json")
        got = response.json()
        assert got["label"] == doc["label"]
        assert got["fields"][0]["label"] == {"en": '"><svg onload=alert(1)>'}
        assert got["fields"][1]["help_text"] == "<b>bold</b> & ' \" \\"
    apps = (await client.get("/api/v1/meta/apps")).json()["items"]
    assert [a["label"] for a in apps] == [HTML_LABEL]

    # Option labels too, and the entity still works.
    lead = copy.deepcopy(LEAD)
    lead["fields"][5]["options"][0]["label"] = {"en": HTML_LABEL}
    r = await client.post("/api/v1/meta/apps/crm/entities", json=lead)
    assert r.status_code == 201, r.text
    assert r.json()["fields"][5]["options"][0]["label"] == {"en": HTML_LABEL}
    r = await client.post("/api/v1/apps/crm/account", json={"name": HTML_LABEL})
    assert r.status_code == 201 and r.json()["name"] == HTML_LABEL


async def test_keys_whose_table_names_collide_do_not_fail_with_500(client):
    """App "a" + entity "b__c" and app "a__b" + entity "c" must not both claim table "a__b__c"
    (nor crash with a database error); each entity keeps its own records."""
    await make_app(client, "a", copy.deepcopy(ACCOUNT) | {"key": "b__c"})
    r = await client.post("/api/v1/meta/apps", json={"key": "a__b", "label": "A B"})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/meta/apps/a__b/entities", json=copy.deepcopy(ACCOUNT) | {"key": "c"})
    assert r.status_code in (201, 409, 422), r.text
    if r.status_code != 201:
        assert_problem(r, r.status_code)
    else:
        assert (await client.post("/api/v1/apps/a/b__c", json={"name": "in a"})).status_code == 201
        items = (await client.get("/api/v1/apps/a__b/c")).json()["items"]
        assert items == []


async def test_entity_named_like_an_internal_table_prefix_is_not_a_500(client):
    """SQLite reserves table names starting with "sqlite_": app "sqlite" must still work or be
    refused cleanly, never crash in DDL."""
    r = await client.post("/api/v1/meta/apps", json={"key": "sqlite", "label": "SQLite"})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/meta/apps/sqlite/entities", json=ACCOUNT)
    assert r.status_code in (201, 422), r.text
    if r.status_code == 201:
        r = await client.post("/api/v1/apps/sqlite/account", json={"name": "x"})
        assert r.status_code == 201, r.text
    else:
        assert_problem(r, 422)


# -- SQL in list parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "path"),
    [
        ({"field": "name; DROP TABLE crm__lead; --", "op": "eq", "value": "x"}, "/filter/field"),
        ({"field": 'name" OR 1=1 --', "op": "eq", "value": "x"}, "/filter/field"),
        ({"field": "(SELECT 1)", "op": "eq", "value": "x"}, "/filter/field"),
        ({"field": "crm__lead.name", "op": "eq", "value": "x"}, "/filter/field"),
        ({"all": [{"field": "name", "op": "eq", "value": "x"}, {"field": "1=1", "op": "eq", "value": 1}]}, "/filter/all/1/field"),
        ({"not": {"any": [{"field": "deleted_at IS NOT NULL --", "op": "is_empty"}]}}, "/filter/not/any/0/field"),
    ],
)
async def test_sql_in_filter_field_names_is_422_with_path(crm, condition, path):
    before = await snapshot(crm)
    r = await crm.get(LEADS, params={"filter": json.dumps(condition)})
    assert_problem(r, 422, path, "unknown_field")
    assert await snapshot(crm) == before


async def test_sql_in_filter_operators_is_422(crm):
    r = await crm.get(LEADS, params={"filter": json.dumps({"field": "name", "op": "= 'x' OR 1=1 --", "value": "x"})})
    assert_problem(r, 422, "/filter/op", "unknown_op")
    r = await crm.get(LEADS, params={"filter": json.dumps({"field": "name", "op": "eq", "value": "x", "sql": "1=1"})})
    assert_problem(r, 422, "/filter", "shape")


@pytest.mark.parametrize("value", SQL_VALUES)
async def test_sql_in_filter_values_is_bound_and_matches_nothing(crm, value):
    before = await snapshot(crm)
    for cond in (
        {"field": "name", "op": "eq", "value": value},
        {"field": "name", "op": "in", "value": [value, "x' OR 'a'='a"]},
        {"field": "name", "op": "contains", "value": value},
        {"field": "name", "op": "starts_with", "value": value},
        {"field": "notes", "op": "ends_with", "value": value},
    ):
        r = await crm.get(LEADS, params={"filter": json.dumps(cond), "count": "true"})
        assert r.status_code == 200, (cond, r.text)
        assert r.json()["items"] == [] and r.json()["total"] == 0
    assert await snapshot(crm) == before


async def test_sql_in_filter_values_of_typed_fields_is_422(crm):
    r = await crm.get(LEADS, params={"filter": json.dumps({"field": "employees", "op": "eq", "value": "1 OR 1=1"})})
    assert_problem(r, 422, "/filter/value", "type")
    r = await crm.get(LEADS, params={"filter": json.dumps({"field": "industry", "op": "eq", "value": "retail' OR '1'='1"})})
    assert_problem(r, 422, "/filter/value", "unknown_option")
    r = await crm.get(LEADS, params={"filter": json.dumps({"field": "first_contact", "op": "gt", "value": "2020-01-01' --"})})
    assert_problem(r, 422, "/filter/value", "format")


async def test_like_wildcards_in_filter_values_are_literal(crm):
    await create_lead(crm, name="100% pure")
    await create_lead(crm, name="under_score")
    await create_lead(crm, name="back\\slash")

    async def names(op: str, value: str) -> list[str]:
        r = await crm.get(LEADS, params={"filter": json.dumps({"field": "name", "op": op, "value": value}), "sort": "name"})
        assert r.status_code == 200, r.text
        return [i["name"] for i in r.json()["items"]]

    assert await names("contains", "%") == ["100% pure"]
    assert await names("contains", "_") == ["under_score"]
    assert await names("starts_with", "_") == []
    assert await names("ends_with", "%") == []
    assert await names("contains", "\\") == ["back\\slash"]
    assert await names("contains", "%%") == []


async def test_malformed_filter_is_400(crm):
    for text in ("{not json", '{"field": "name",', "[" * 15_000):
        assert_problem(await crm.get(LEADS, params={"filter": text}), 400)


@pytest.mark.parametrize(
    ("sort", "path"),
    [
        ("name; DROP TABLE crm__lead; --", "/sort/0"),
        ("name DESC; DELETE FROM crm__lead", "/sort/0"),
        ("(SELECT 1)", "/sort/0"),
        ("-name--", "/sort/0"),
        ("name,1=1", "/sort/1"),
        ("code,-budget,CASE WHEN 1=1 THEN name END", "/sort/2"),
    ],
)
async def test_sql_in_sort_is_422_with_path(crm, sort, path):
    before = await snapshot(crm)
    assert_problem(await crm.get(LEADS, params={"sort": sort}), 422, path, "invalid_sort")
    assert await snapshot(crm) == before


async def test_sql_in_fields_and_expand_is_422_with_path(crm):
    r = await crm.get(LEADS, params={"fields": "name,password FROM tg_users --"})
    assert_problem(r, 422, "/fields/1", "unknown_field")
    r = await crm.get(LEADS, params={"expand": "name; DROP TABLE crm__lead"})
    assert_problem(r, 422, "/expand/0", "invalid_expand")
    lead_id = (await crm.get(LEADS)).json()["items"][0]["id"]
    assert_problem(await crm.get(f"{LEADS}/{lead_id}", params={"fields": "*"}), 422, "/fields/0", "unknown_field")


def forged(doc: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "' OR 1=1 --",
        "not-base64!!",
        forged({"s": "", "v": [], "id": "1 OR 1=1"}),
        forged({"s": "", "v": [], "id": 10**24}),
        forged({"s": "", "v": [], "id": -(10**24)}),
        forged({"s": "name", "v": ["x"], "id": 1}),  # a cursor of another sort order
        forged({"s": "", "v": ["extra"], "id": 1}),  # more values than sort keys
        forged([1, 2, 3]),
    ],
    ids=["sql", "not-base64", "string-id", "huge-id", "huge-negative-id", "wrong-sort", "extra-values", "not-object"],
)
async def test_forged_cursors_are_400(crm, cursor):
    assert_problem(await crm.get(LEADS, params={"cursor": cursor}), 400)


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "1 OR 1=1", "1e3"])
async def test_bad_limit_is_422(crm, limit):
    body = assert_problem(await crm.get(LEADS, params={"limit": limit}), 422)
    assert body["errors"][0]["path"].endswith("/limit")


# -- ids out of range -------------------------------------------------------------------------------


async def test_ids_beyond_64_bits_are_client_errors(crm):
    before = await snapshot(crm)
    huge = 2**64 + 1
    for r in (
        await crm.get(f"{LEADS}/{huge}"),
        await crm.patch(f"{LEADS}/{huge}", json={"name": "x"}),
        await crm.delete(f"{LEADS}/{huge}"),
    ):
        assert r.status_code in (404, 422), r.text
        assert_problem(r, r.status_code)
    r = await crm.post(f"{LEADS}/bulk", json={"op": "update", "items": [{"id": huge, "name": "x"}]})
    assert_problem(r, 422, "/items/0/id")
    assert await snapshot(crm) == before


@pytest.mark.parametrize("owner", [2**64, -1, 0, "1", True, 1.5])
async def test_bad_owner_is_422(crm, owner):
    before = await snapshot(crm)
    r = await crm.post(LEADS, json={"name": "x", "owner": owner})
    assert_problem(r, 422, "/owner")
    assert await snapshot(crm) == before


# -- URLs and spreadsheet formulas ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "  javascript:alert(1)",
        "java\tscript:alert(1)",
        "javascript://example.com/%0aalert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example.com/x",
        "https:javascript:alert(1)",
        "http://exa mple.com",
        "example.com",
    ],
)
async def test_non_web_urls_are_refused(crm, url):
    before = await snapshot(crm)
    assert_problem(await crm.post(LEADS, json={"name": "x", "website": url}), 422, "/website", "format")
    lead_id = before["leads"][0]["id"]
    assert_problem(await crm.patch(f"{LEADS}/{lead_id}", json={"website": url}), 422, "/website", "format")
    assert await snapshot(crm) == before


async def test_web_urls_are_stored_verbatim(crm):
    url = "https://example.com/a?q=<script>&x='1'#frag"
    lead = await create_lead(crm, website=url)
    assert lead["website"] == url
    lead = await create_lead(crm, name="http", website="HTTP://Example.com")
    assert lead["website"] == "HTTP://Example.com"


@pytest.mark.parametrize(
    "value",
    [
        "=cmd|' /C calc'!A0",
        '=HYPERLINK("http://evil.example","click")',
        "+1+1",
        "-2+3+cmd|' /C notepad'!'A1'",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
    ],
)
async def test_formula_like_strings_are_plain_text(crm, value):
    lead = await create_lead(crm, name=value, notes=value)
    assert lead["name"] == value and lead["notes"] == value
    got = (await crm.get(f"{LEADS}/{lead['id']}")).json()
    assert got["name"] == value and got["notes"] == value
