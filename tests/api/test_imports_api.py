"""X4 imports through the API: a real XLSX or CSV file in, a durable job run by the real worker, records,
counts and a per-row error report out. Every refusal leaves the database as it was."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from engine.imports.tables import imports
from engine.jobs.worker import Worker
from tests.factories import make_app
from tests.people import errors, make_user

BASE = "/api/v1/apps/crm"
ACCOUNT = {
    "key": "account",
    "label": {"en": "Account", "zh-CN": "客户"},
    "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True, "label": {"en": "Company Name", "zh-CN": "客户名称"}},
        {"key": "code", "type": "text", "unique": True, "max_length": 20, "label": {"en": "Code", "zh-CN": "客户编号"}},
    ],
}
LEAD = {
    "key": "lead",
    "label": {"en": "Lead", "zh-CN": "线索"},
    "display_field": "name",
    "fields": [
        {"key": "name", "type": "text", "required": True, "label": {"en": "Lead Name", "zh-CN": "线索名称"}},
        {"key": "email", "type": "email", "unique": True, "label": {"en": "Email", "zh-CN": "邮箱"}},
        {"key": "budget", "type": "currency", "min": 0, "label": {"en": "Budget", "zh-CN": "预算"}},
        {"key": "source", "type": "select", "label": {"en": "Source", "zh-CN": "来源"}, "options": [
            {"key": "web", "label": {"en": "Website", "zh-CN": "官网"}},
            {"key": "expo", "label": {"en": "Trade show", "zh-CN": "展会"}},
        ]},
        {"key": "first_contact", "type": "date", "label": {"en": "First contact", "zh-CN": "首次联系"}},
        {"key": "qualified", "type": "boolean", "default": False, "label": {"en": "Qualified", "zh-CN": "已确认"}},
        {"key": "account", "type": "relation", "target": "account", "label": {"en": "Account", "zh-CN": "客户"}},
        {"key": "score", "type": "integer", "read_only": True},
        {"key": "code", "type": "auto_number", "prefix": "L-"},
    ],
}  # fmt: skip
HEADER = ["线索名称", "Email", "预算", "来源", "首次联系", "已确认", "客户"]
GOOD = [
    ["华东机械询价", "zhang@example.com", "¥1,200", "展会", "2026年3月1日", "是", "华为技术有限公司"],
    ["Acme tooling", "li@example.com", "35,000.50", "Website", "2026/3/2", "no", "C-002"],
]


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.fixture
async def crm(client):
    await make_app(client, "crm", ACCOUNT, LEAD)
    accounts = [{"name": "华为技术有限公司", "code": "C-001"}, {"name": "Acme", "code": "C-002"},
                {"name": "Twin", "code": "C-003"}, {"name": "Twin", "code": "C-004"}]  # fmt: skip
    r = await client.post(f"{BASE}/account/bulk", json={"op": "create", "items": accounts})
    return {a["code"]: a["id"] for a in r.json()["items"]}


async def upload(client, data: bytes, name: str = "leads.xlsx", headers: dict[str, str] | None = None, **options: Any):
    files = {"file": (name, data)}
    form = {"options": json.dumps(options)} if options else {}
    return await client.post(f"{BASE}/lead/imports", files=files, data=form, headers=headers)


async def run_import(ctx, client, data: bytes, name: str = "leads.xlsx", **options: Any) -> dict[str, Any]:
    r = await upload(client, data, name, **options)
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "queued" and r.headers["location"] == f"{BASE}/lead/imports/{r.json()['id']}"
    assert await Worker(ctx.db, ctx.clock, ctx.job_handlers).run_until_idle() >= 1  # the import, then what its rules queued
    status = await client.get(f"{BASE}/lead/imports/{r.json()['id']}")
    assert status.status_code == 200
    return status.json()


async def leads(client) -> list[dict[str, Any]]:
    r = await client.get(f"{BASE}/lead", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def stored_imports(ctx) -> int:
    async with ctx.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(imports))).scalar_one()


async def test_x4_suggests_a_mapping_from_zh_and_en_headers(client, crm):
    data = csv_bytes([[*HEADER, "Company Name", "备注"], GOOD[0] + ["x", "y"]])
    r = await client.post(f"{BASE}/lead/imports/suggest", files={"file": ("leads.csv", data)})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "format": "csv",
        "sheets": [],
        "sheet": None,
        "header": [*HEADER, "Company Name", "备注"],
        "mapping": {
            "线索名称": "name",
            "Email": "email",
            "预算": "budget",
            "来源": "source",
            "首次联系": "first_contact",
            "已确认": "qualified",
            "客户": "account",
        },
        "unmapped": ["Company Name", "备注"],  # a lead has no company_name: account's label does not count here
        "unmatched_fields": [],
        "unmatched_values": {},
    }


async def test_x4_xlsx_import_runs_as_a_job_and_writes_exact_values(ctx, client, crm):
    rows = [HEADER, GOOD[0], [*GOOD[1][:4], datetime(2026, 3, 2, 0, 0), False, "C-002"]]
    status = await run_import(ctx, client, xlsx(rows))
    assert status["state"] == "done" and status["errors"] == [] and status["error_count"] == 0
    assert status["counts"] == {"total": 2, "processed": 2, "created": 2, "updated": 0, "failed": 0}
    got = [(x["name"], x["email"], x["budget"], x["source"], x["first_contact"], x["qualified"], x["account"], x["code"])
           for x in await leads(client)]  # fmt: skip
    assert got == [
        ("华东机械询价", "zhang@example.com", 1200.0, "expo", "2026-03-01", True, crm["C-001"], "L-000001"),
        ("Acme tooling", "li@example.com", 35000.5, "web", "2026-03-02", False, crm["C-002"], "L-000002"),
    ]


BAD_ROWS = [
    HEADER,
    GOOD[0],
    ["Bad date", "a@example.com", "100", "展会", "2026-02-30", "是", ""],
    ["Ghost account", "b@example.com", "100", "展会", "", "", "Nobody Ltd"],
    ["Twin account", "c@example.com", "=1+2", "展会", "", "", "Twin"],
    GOOD[1],
]
BAD_ERRORS = [
    {"row": 3, "column": "首次联系", "value": "2026-02-30", "code": "format", "message": "'2026-02-30' is not a real date"},
    {
        "row": 4,
        "column": "客户",
        "value": "Nobody Ltd",
        "code": "not_found",
        "message": "no account record has name or code 'Nobody Ltd'",
    },
    {"row": 5, "column": "预算", "value": "=1+2", "code": "type", "message": "'=1+2' is not a number"},
]


async def test_x4_all_or_nothing_writes_nothing_and_reports_every_error(ctx, client, crm):
    status = await run_import(ctx, client, csv_bytes(BAD_ROWS), "leads.csv")
    assert status["state"] == "failed" and status["message"] == "nothing was written: 3 row(s) have errors (all or nothing)"
    assert status["counts"] == {"total": 5, "processed": 5, "created": 0, "updated": 0, "failed": 3}
    assert status["errors"] == BAD_ERRORS
    assert await leads(client) == []


async def test_x4_skip_bad_rows_writes_the_good_ones_and_the_report_downloads(ctx, client, crm):
    status = await run_import(ctx, client, csv_bytes(BAD_ROWS), "leads.csv", mode="skip_bad_rows")
    assert status["state"] == "done"
    assert status["counts"] == {"total": 5, "processed": 5, "created": 2, "updated": 0, "failed": 3}
    assert [x["name"] for x in await leads(client)] == ["华东机械询价", "Acme tooling"]
    report = await client.get(f"{BASE}/lead/imports/{status['id']}/errors", params={"format": "csv"})
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.content.decode("utf-8-sig"))))
    assert lines == [["row", "column", "value", "code", "message"],
                     *[[str(e["row"]), e["column"], "'=1+2" if e["value"] == "=1+2" else e["value"], e["code"], e["message"]]
                       for e in BAD_ERRORS]]  # fmt: skip
    book = await client.get(f"{BASE}/lead/imports/{status['id']}/errors", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(book.content), read_only=True).worksheets[0]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0] == ["row", "column", "value", "code", "message"]
    assert cells[1:] == [[e["row"], e["column"], "'=1+2" if e["value"] == "=1+2" else e["value"], e["code"], e["message"]]
                         for e in BAD_ERRORS]  # fmt: skip


async def test_x4_an_ambiguous_relation_is_a_row_error(ctx, client, crm):
    rows = [HEADER, ["Twin lead", "t@example.com", "1", "展会", "", "", "Twin"]]
    status = await run_import(ctx, client, xlsx(rows))
    assert status["errors"] == [{
        "row": 2, "column": "客户", "value": "Twin", "code": "ambiguous",
        "message": f"'Twin' matches 2 account records (ids {crm['C-003']}, {crm['C-004']}); use a unique field (code)",
    }]  # fmt: skip


async def test_x4_dry_run_writes_nothing_and_tells_what_would_happen(ctx, client, crm):
    await client.post(f"{BASE}/lead", json={"name": "Old", "email": "zhang@example.com"})
    status = await run_import(ctx, client, xlsx([HEADER, *GOOD]), dry_run=True, upsert_on="email")
    assert status["state"] == "done" and status["message"] == "dry run: nothing was written"
    assert status["counts"] == {"total": 2, "processed": 2, "created": 1, "updated": 1, "failed": 0}
    assert [(x["name"], x["version"]) for x in await leads(client)] == [("Old", 1)]


async def test_x4_upsert_updates_by_the_unique_field_and_creates_the_rest(ctx, client, crm):
    await client.post(f"{BASE}/lead", json={"name": "Old", "email": "zhang@example.com", "qualified": False})
    rows = [HEADER, ["新名称", "ZHANG@example.com", "", "", "", "是", ""], GOOD[1]]
    status = await run_import(ctx, client, xlsx(rows), upsert_on="email")
    assert status["counts"] == {"total": 2, "processed": 2, "created": 1, "updated": 1, "failed": 0}
    got = [(x["name"], x["email"], x["qualified"], x["budget"], x["version"]) for x in await leads(client)]
    assert got == [("新名称", "zhang@example.com", True, None, 2), ("Acme tooling", "li@example.com", False, 35000.5, 1)]


async def test_x4_gb18030_csv_from_chinese_excel(ctx, client, crm):
    status = await run_import(ctx, client, csv_bytes([HEADER, GOOD[0]], "gb18030"), "leads.csv")
    assert status["counts"]["created"] == 1
    assert [x["name"] for x in await leads(client)] == ["华东机械询价"]


async def test_x4_formula_cells_are_row_errors_never_values(ctx, client, crm):
    rows = [HEADER, ["Formula", "f@example.com", "=SUM(1,2)", "展会", "", "", ""]]
    status = await run_import(ctx, client, xlsx(rows))
    assert status["state"] == "failed"
    assert [(e["row"], e["column"], e["value"], e["code"]) for e in status["errors"]] == [(2, "预算", "=SUM(1,2)", "formula")]
    assert await leads(client) == []


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (1100 * 1024 * 1024 // 1))
    return out.getvalue()


HOSTILE = [
    ("garbage.csv", bytes(range(256)) * 50, "binary"),
    ("nul.csv", b"name,email\nA\x00,a@example.com\n", "binary"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "unsupported_format"),
    ("fake.xlsx", b"this is not a workbook", "not_xlsx"),
    ("broken.xlsx", b"PK\x03\x04" + b"\x01" * 300, "not_xlsx"),
    ("wide.csv", (",".join(f"c{i}" for i in range(10_000)) + "\n" + "1," * 9999 + "1\n").encode(), "too_many_columns"),
    ("empty.csv", b"", "empty"),
    ("dupes.csv", "线索名称,线索名称\na,b\n".encode(), "duplicate_column"),
]


@pytest.mark.parametrize(("name", "data", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
async def test_x4_hostile_files_are_refused_up_front(ctx, client, crm, name, data, code):
    r = await upload(client, data, name)
    assert r.status_code == 422, r.text
    assert errors(r) == [("/file", code)]
    assert await stored_imports(ctx) == 0


async def test_x4_a_zip_bomb_disguised_as_xlsx_is_refused(ctx, client, crm):
    r = await upload(client, zip_bomb(), "bomb.xlsx")
    assert r.status_code == 422 and errors(r) == [("/file", "zip_bomb")]
    assert await stored_imports(ctx) == 0


async def test_x4_an_oversized_file_is_413_and_the_import_route_takes_more_than_other_routes(ctx, client, crm):
    ctx.settings.max_import_bytes = 2 * 1024 * 1024
    app_limit = ctx.settings.max_body_bytes  # 1 MiB everywhere else
    big = csv_bytes([HEADER, *([GOOD[1]] * 20_000)])  # about 1.2 MB: over the body limit, under the import limit
    assert app_limit < len(big) < ctx.settings.max_import_bytes
    import httpx

    from engine.api.app import create_app  # a new app: the limits are read when it is built

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(ctx.settings, ctx)), base_url="http://test",
                                 headers=dict(client.headers)) as http:  # fmt: skip
        r = await http.post(f"{BASE}/lead/imports", files={"file": ("big.csv", big)})
        assert r.status_code == 202 and r.json()["counts"]["total"] == 20_000, r.text
        huge = await http.post(f"{BASE}/lead/imports", files={"file": ("huge.csv", big * 2)})
        assert huge.status_code == 413
        elsewhere = await http.post(f"{BASE}/lead/bulk", content=big, headers={"content-type": "application/json"})
        assert elsewhere.status_code == 413
        # Only the import routes: records of an entity (or app) named "imports" keep the ordinary limit.
        for path in (f"{BASE}/imports", "/api/v1/apps/imports", f"{BASE}/lead/imports/extra"):
            r = await http.post(path, content=big, headers={"content-type": "application/json"})
            assert r.status_code == 413, path


async def test_x4_mapping_mistakes_are_422_at_their_column(ctx, client, crm):
    data = csv_bytes([[*HEADER, "分数", "编号"], [*GOOD[0], "9", "X"]])
    mapping = {"线索名称": "name", "分数": "score", "编号": "code", "预算": "nope", "Missing": "email", "Email": "name"}
    r = await upload(client, data, "leads.csv", mapping=mapping, upsert_on="budget")
    assert r.status_code == 422
    assert errors(r) == [
        ("/mapping/Email", "duplicate"), ("/mapping/Missing", "unknown_column"), ("/mapping/分数", "read_only"),
        ("/mapping/编号", "read_only"), ("/mapping/预算", "unknown_field"), ("/upsert_on", "not_unique"),
    ]  # fmt: skip
    assert await stored_imports(ctx) == 0


REP_ROLE = {
    "key": "lead_rep",
    "label": {"en": "Lead rep"},
    "grants": [{"entity": "crm.lead", "read": "own", "create": True, "update": "own", "export": "own",
                "hidden_fields": ["budget"]}, {"entity": "crm.account", "read": "all"}],
}  # fmt: skip


async def test_x4_rights_a_hidden_field_is_unknown_and_no_create_right_is_403(ctx, client, crm):
    assert (await client.post("/api/v1/admin/roles", json=REP_ROLE)).status_code == 201
    _, rep = await make_user(ctx, "rep@example.com", "lead_rep")
    _, nobody = await make_user(ctx, "nobody@example.com")
    hidden = await upload(
        client, csv_bytes([HEADER, GOOD[0]]), "leads.csv", headers=rep, mapping={"线索名称": "name", "预算": "budget"}
    )
    assert hidden.status_code == 422 and errors(hidden) == [("/mapping/预算", "unknown_field")]
    refused = await upload(client, csv_bytes([HEADER, GOOD[0]]), "leads.csv", headers=nobody)
    assert refused.status_code == 403
    ok = await upload(client, csv_bytes([HEADER, GOOD[0]]), "leads.csv", headers=rep)
    assert ok.status_code == 202 and "预算" not in ok.json()["options"]["mapping"]
    other = await client.get(f"{BASE}/lead/imports/{ok.json()['id']}", headers=nobody)
    assert other.status_code == 404  # someone else's import does not exist for them
    await Worker(ctx.db, ctx.clock, ctx.job_handlers).run_until_idle()
    mine = (await client.get(f"{BASE}/lead/imports/{ok.json()['id']}", headers=rep)).json()
    assert mine["counts"]["created"] == 1
    assert [(x["name"], x["owner"]) for x in await leads(client)] == [("华东机械询价", mine["created_by"])]


async def test_x4_export_xlsx_keeps_the_row_scope_hides_fields_and_defuses_formulas(ctx, client, crm):
    assert (await client.post("/api/v1/admin/roles", json=REP_ROLE)).status_code == 201
    rep_id, rep = await make_user(ctx, "rep@example.com", "lead_rep")
    await client.post(f"{BASE}/lead", json={"name": "Admin's lead", "budget": 5})
    mine = await client.post(f"{BASE}/lead", json={"name": '=HYPERLINK("http://evil","x")'}, headers=rep)
    assert mine.status_code == 201, mine.text
    r = await client.get(f"{BASE}/lead/export", params={"format": "xlsx"}, headers=rep)
    assert r.status_code == 200 and r.headers["content-disposition"] == 'attachment; filename="crm-lead.xlsx"'
    rows = [list(x) for x in load_workbook(io.BytesIO(r.content), read_only=True).worksheets[0].iter_rows(values_only=True)]
    assert "budget" not in rows[0] and rows[0][:3] == ["id", "name", "email"]
    assert [(x[0], x[1]) for x in rows[1:]] == [(mine.json()["id"], '\'=HYPERLINK("http://evil","x")')]
    assert rows[1][rows[0].index("owner")] == rep_id


async def test_x4_without_automation_no_rules_run(ctx, client, crm):
    rule = {"key": "qualify", "entity": "lead", "trigger": {"type": "created"},
            "actions": [{"type": "set_fields", "values": {"qualified": True}}]}  # fmt: skip
    made = await client.post("/api/v1/meta/apps/crm/rules", json=rule)
    assert made.status_code == 201, made.text
    await run_import(ctx, client, xlsx([HEADER, GOOD[1]]), run_automation=False)
    await run_import(ctx, client, xlsx([HEADER, [*GOOD[0][:5], "否", ""]]))
    assert [(x["name"], x["qualified"]) for x in await leads(client)] == [("Acme tooling", False), ("华东机械询价", True)]


async def test_x4_real_datetimes_and_serial_dates_from_xlsx(ctx, client, crm):
    rows = [
        HEADER,
        ["Serial", "s@example.com", 10, "官网", 46082, True, ""],
        ["Cell", "c@example.com", 10, "官网", date(2026, 3, 3), 1, ""],
    ]
    status = await run_import(ctx, client, xlsx(rows))
    assert status["counts"]["created"] == 2, status
    assert [(x["first_contact"], x["qualified"]) for x in await leads(client)] == [("2026-03-01", True), ("2026-03-03", True)]


async def test_x4_suggestion_ignores_case_spaces_and_punctuation(client, crm):
    data = csv_bytes([["company  name", "客户编号", "CODE", "Owner"], ["Acme", "C-9", "x", "admin@example.com"]])
    r = await client.post(f"{BASE}/account/imports/suggest", files={"file": ("a.csv", data)})
    assert r.json()["mapping"] == {"company  name": "name", "客户编号": "code", "Owner": "owner"}
    assert r.json()["unmapped"] == ["CODE"]  # code is already fed by 客户编号


async def test_x4_numbers_past_any_field_are_row_errors_not_a_dead_job(ctx, client, crm):
    """1e999999999 once overflowed the decimal context (a crashed import job): now a row error at its cell."""
    cells = ["1e999999999", "-1E+999999999", "1e26", "NaN", "Infinity", "9" * 400]
    rows = [["线索名称", "预算"], *[[f"L{i}", c] for i, c in enumerate(cells)], ["Fine", "12.50"]]
    status = await run_import(ctx, client, csv_bytes(rows), "leads.csv", mode="skip_bad_rows")
    assert status["state"] == "done", status
    assert status["counts"] == {"total": 7, "processed": 7, "created": 1, "updated": 0, "failed": 6}
    assert [(e["row"], e["column"]) for e in status["errors"]] == [(i + 2, "预算") for i in range(6)]
    assert [(x["name"], x["budget"]) for x in await leads(client)] == [("Fine", 12.5)]
