"""X4 imports of messy spreadsheets: headers that only resemble a label, a sheet other than the first, and
select cells mapped to options once (value_map) instead of failing row after row."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from openpyxl import Workbook

from engine.jobs.worker import Worker
from tests.api.test_imports_api import BASE, crm, leads, run_import, stored_imports, upload  # noqa: F401
from tests.factories import make_app
from tests.people import errors

pytestmark = pytest.mark.usefixtures("crm")
BRACKETED = "Source\uff08渠道\uff09"  # full-width brackets, as Chinese Excel users type them

MESSY = ["线索名称", "Email", "Expected Budget (CNY)", "来源渠道", "首次联系日期"]
ROWS = [
    ["华东机械", "a@example.com", "1200", "展会", "2026-03-01"],
    ["Acme", "b@example.com", "35", "朋友介绍", "2026-03-02"],
    ["Beta", "c@example.com", "10", "朋友介绍", "2026-03-03"],
    ["Gamma", "d@example.com", "5", "电话营销", "2026-03-04"],
]


def workbook(**sheets: list[list[Any]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def data() -> bytes:
    return workbook(说明=[["这是说明页"], ["请看第二页"]], 线索=[MESSY, *ROWS])


async def suggest(client, payload: bytes, **options: Any):
    form = {"options": json.dumps(options)} if options else {}
    return await client.post(f"{BASE}/lead/imports/suggest", files={"file": ("l.xlsx", payload)}, data=form)


async def test_x4_resembling_headers_and_the_chosen_sheet_are_suggested(client):
    r = await suggest(client, data(), sheet="线索")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sheets"] == ["说明", "线索"] and body["sheet"] == "线索" and body["header"] == MESSY
    assert body["mapping"] == {
        "线索名称": "name", "Email": "email", "Expected Budget (CNY)": "budget", "来源渠道": "source",
        "首次联系日期": "first_contact",
    }  # fmt: skip
    assert body["unmatched_values"] == {"来源渠道": ["朋友介绍", "电话营销"]}
    first = await suggest(client, data())
    assert first.json()["sheet"] == "说明" and first.json()["header"] == ["这是说明页"]


async def test_x4_a_unit_in_brackets_is_ignored(client):
    payload = workbook(s=[["线索名称", "预算(元)", BRACKETED], ["x", "1", "官网"]])
    r = await suggest(client, payload)
    assert r.json()["mapping"] == {"线索名称": "name", "预算(元)": "budget", BRACKETED: "source"}
    assert r.json()["unmapped"] == []


async def test_x4_value_map_lists_what_is_left_and_imports_every_row(ctx, client):
    value_map = {"来源渠道": {"朋友介绍": "web"}}
    left = await suggest(client, data(), sheet="线索", value_map=value_map)
    assert left.json()["unmatched_values"] == {"来源渠道": ["电话营销"]}
    status = await run_import(ctx, client, data(), sheet="线索", mode="skip_bad_rows", value_map=value_map)
    assert status["state"] == "done" and status["counts"]["created"] == 3 and status["counts"]["failed"] == 1
    assert [(e["row"], e["column"], e["value"], e["code"]) for e in status["errors"]] == [
        (5, "来源渠道", "电话营销", "unknown_option")
    ]
    assert sorted((x["name"], x["source"]) for x in await leads(client)) == [
        ("Acme", "web"), ("Beta", "web"), ("华东机械", "expo")
    ]  # fmt: skip


async def test_x4_value_map_mistakes_are_422_at_their_path_and_nothing_is_stored(ctx, client):
    bad = {"来源渠道": {"朋友介绍": "nope"}, "Email": {"x": "web"}}
    r = await upload(client, data(), sheet="线索", value_map=bad)
    assert r.status_code == 422, r.text
    assert dict(errors(r)) == {"/value_map/来源渠道/朋友介绍": "unknown_option", "/value_map/Email": "not_select"}
    r = await upload(client, data(), sheet="nope")
    assert r.status_code == 422 and dict(errors(r)) == {"/sheet": "unknown_sheet"}
    r = await upload(client, data(), value_map={"来源渠道": {"a": 5}})
    assert r.status_code == 422 and "/value_map/来源渠道/a" in dict(errors(r))
    r = await upload(client, data(), value_map={"来源渠道": {"a": "web"}}, shape=1)
    assert r.status_code == 422 and "/shape" in dict(errors(r))
    r = await upload(client, data(), value_map={"来源渠道": {"x" * 1001: "web"}})
    assert r.status_code == 422
    r = await client.post(f"{BASE}/lead/imports", files={"file": ("l.xlsx", data())}, data={"options": "{not json"})
    assert r.status_code in (400, 422) and r.headers["content-type"].startswith("application/problem+json")
    assert await stored_imports(ctx) == 0


async def test_x4_history_lists_the_callers_own_imports_newest_first(ctx, client):
    await run_import(ctx, client, data(), sheet="线索", dry_run=True, mode="skip_bad_rows")
    await run_import(ctx, client, data(), sheet="线索", mode="skip_bad_rows")
    r = await client.get(f"{BASE}/lead/imports", params={"limit": 10})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(i["dry_run"], i["state"], i["counts"]["created"], i["counts"]["failed"]) for i in items] == [
        (False, "done", 1, 3), (True, "done", 1, 3)
    ]  # fmt: skip
    assert (await client.get(f"{BASE}/lead/imports", params={"limit": 0})).status_code == 422


PERSON = {
    "key": "person",
    "label": {"en": "Person", "zh-CN": "联系人"},
    "display_field": "name",
    "options": {"duplicates": [{"key": "same_email", "label": {"en": "Same email", "zh-CN": "邮箱相同"},
                                "match": [{"field": "email", "normalize": "email"}], "action": "warn"}]},
    "fields": [
        {"key": "name", "type": "text", "required": True, "label": {"en": "Name", "zh-CN": "姓名"}},
        {"key": "email", "type": "email", "label": {"en": "Email", "zh-CN": "邮箱"}},
    ],
}  # fmt: skip


async def test_x4_dry_run_flags_duplicates_of_records_and_of_earlier_rows(ctx, client):
    await make_app(client, "dup", PERSON)
    r = await client.post("/api/v1/apps/dup/person", json={"name": "Old", "email": "old@example.com"})
    assert r.status_code == 201, r.text
    rows = [["姓名", "邮箱"], ["A", "OLD@example.com"], ["B", "new@example.com"], ["C", "new@example.com"], ["D", "d@x.com"]]
    form = {"options": json.dumps({"dry_run": True})}
    r = await client.post("/api/v1/apps/dup/person/imports", files={"file": ("p.xlsx", workbook(s=rows))}, data=form)
    assert r.status_code == 202, r.text
    await Worker(ctx.db, ctx.clock, ctx.job_handlers).run_until_idle()
    status = (await client.get(f"/api/v1/apps/dup/person/imports/{r.json()['id']}")).json()
    assert status["counts"] == {"total": 4, "processed": 4, "created": 4, "updated": 0, "failed": 0}  # warnings only
    assert [(e["row"], e["column"], e["code"]) for e in status["errors"]] == [
        (2, "邮箱", "possible_duplicate"), (4, "邮箱", "possible_duplicate")
    ]  # fmt: skip
    assert "#1 (Same email)" in status["errors"][0]["message"] and "row 3" in status["errors"][1]["message"]
    assert len((await client.get("/api/v1/apps/dup/person")).json()["items"]) == 1  # a dry run writes nothing


async def test_x4_hostile_value_map_keys_are_escaped_in_the_error_path(ctx, client):
    r = await upload(client, data(), sheet="线索", value_map={"a/b": {"x": "web"}, "来源渠道": {"~/<script>": "nope"}})
    assert r.status_code == 422, r.text
    assert dict(errors(r)) == {"/value_map/a~1b": "not_select", "/value_map/来源渠道/~0~1<script>": "unknown_option"}
    assert await stored_imports(ctx) == 0
