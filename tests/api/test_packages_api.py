"""The packages API: catalog, install (catalog key or uploaded zip, dry run), export as a zip, the round
trip to a fresh database, form layouts; administrators only."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from engine.api.app import create_app
from engine.api.context import Context
from engine.core.db import Database
from tests.conftest import _pg
from tests.unit.apps.shop_package import FORM, RULE, shop_files, write_package, zip_package

META = "/api/v1/meta"


@pytest.fixture
def catalog(ctx: Context, tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    write_package(folder / "shop", shop_files())
    ctx.packages.catalog_dir = folder
    return folder


async def test_the_catalog_lists_packages_and_installs_one_by_key(client: httpx.AsyncClient, catalog: Path) -> None:
    (catalog / "broken").mkdir()
    r = await client.get(f"{META}/packages/catalog")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["key"] for i in items] == ["broken", "shop"] and "error" in items[0]
    assert items[1]["manifest"]["version"] == "1.0.0" and items[1]["manifest"]["name"]["zh-CN"] == "小店"
    dry = await client.post(f"{META}/packages/catalog/shop/install?dry_run=true")
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert (await client.get(f"{META}/apps/shop")).status_code == 404
    r = await client.post(f"{META}/packages/catalog/shop/install?sample=false")
    assert r.status_code == 201, r.text
    assert r.json()["mode"] == "install" and r.json()["sample"] == {}
    assert (await client.get("/api/v1/apps/shop/customer")).json()["items"] == []
    again = await client.post(f"{META}/packages/catalog/shop/install")
    assert again.status_code == 409 and again.json()["installed_version"] == "1.0.0"
    assert (await client.post(f"{META}/packages/catalog/nope/install")).status_code == 404


async def test_an_uploaded_zip_installs_raw_or_multipart(client: httpx.AsyncClient) -> None:
    data = zip_package(shop_files(), top="shop/")
    dry = await client.post(f"{META}/packages?dry_run=true", content=data, headers={"Content-Type": "application/zip"})
    assert dry.status_code == 200 and dry.json()["sample"] == {"customer": 2, "order": 2}
    r = await client.post(f"{META}/packages", files={"file": ("shop.zip", data, "application/zip")})
    assert r.status_code == 201, r.text
    names = [c["name"] for c in (await client.get("/api/v1/apps/shop/customer")).json()["items"]]
    assert names == ["Acme", "Globex"]


async def test_hostile_uploads_are_precise_4xx_and_change_nothing(client: httpx.AsyncClient) -> None:
    evil = zip_package(shop_files() | {"../../etc/cron.d/x.json": {}})
    r = await client.post(f"{META}/packages", content=evil, headers={"Content-Type": "application/zip"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [{"path": "/../../etc/cron.d/x.json", "code": "path_traversal",
                                   "message": "'../../etc/cron.d/x.json' climbs out of the package with '..'",
                                   "file": "../../etc/cron.d/x.json"}]  # fmt: skip
    r = await client.post(f"{META}/packages", content=b"not a zip", headers={"Content-Type": "application/zip"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_a_zip"
    r = await client.post(f"{META}/packages", content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    ghost = RULE | {"entity": "ghost"}
    bad = zip_package(shop_files(rules__r4_paid_completes_json=ghost))
    r = await client.post(f"{META}/packages", content=bad, headers={"Content-Type": "application/zip"})
    assert r.status_code == 422
    assert [(e["file"], e["path"], e["code"]) for e in r.json()["errors"]] == [
        ("rules/r4_paid_completes.json", "/rules/r4_paid_completes.json/entity", "unknown_entity")
    ]
    assert (await client.get(f"{META}/apps")).json()["items"] == []


async def test_only_administrators_handle_packages(ctx: Context, anon: httpx.AsyncClient) -> None:
    async with ctx.db.write() as conn:
        uid = await ctx.auth.create_user(conn, "rep@example.com", "Rep", "a long enough password")
        token, _ = await ctx.auth.create_token(conn, uid, "t")
    assert (await anon.get(f"{META}/packages/catalog")).status_code == 401
    rep = {"Authorization": f"Bearer {token}"}
    assert (await anon.get(f"{META}/packages/catalog", headers=rep)).status_code == 403
    zipped = rep | {"Content-Type": "application/zip"}
    upload = await anon.post(f"{META}/packages", content=zip_package(shop_files()), headers=zipped)
    assert upload.status_code == 403 and (await anon.get(f"{META}/apps", headers=rep)).json()["items"] == []


async def test_form_layouts_crud_with_every_field_checked(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{META}/packages", content=zip_package(shop_files()), headers={"Content-Type": "application/zip"})
    assert r.status_code == 201
    forms = f"{META}/apps/shop/forms"
    r = await client.get(forms)
    assert [f["key"] for f in r.json()["items"]] == ["customer_main"]
    bad = FORM | {"key": "wide", "sections": [{"columns": 3, "fields": ["name", "nope", "name"]}]}
    r = await client.post(forms, json=bad)
    assert r.status_code == 422 and [e["path"] for e in r.json()["errors"]] == ["/sections/0/columns"]
    bad["sections"][0]["columns"] = 2
    r = await client.post(forms, json=bad)
    assert [(e["path"], e["code"]) for e in r.json()["errors"]] == [
        ("/sections/0/fields/1", "unknown_field"), ("/sections/0/fields/2", "duplicate"),
    ]  # fmt: skip
    assert [f["key"] for f in (await client.get(forms)).json()["items"]] == ["customer_main"]  # nothing saved
    wide = FORM | {"key": "wide", "sections": [{"columns": 2, "fields": ["region", "name"]}]}
    r = await client.post(forms, json=wide)
    assert r.status_code == 201 and r.headers["etag"] == '"1"'
    r = await client.put(f"{forms}/wide", json=wide | {"label": "Wide"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["label"] == "Wide"
    stale = await client.put(f"{forms}/wide", json=wide, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert (await client.delete(f"{forms}/wide")).status_code == 204
    assert (await client.get(f"{forms}/wide")).status_code == 404


@pytest.fixture
async def fresh(ctx: Context, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A second, empty database of the same kind, with its own app and administrator."""
    if ctx.db.is_sqlite:
        path = tmp_path / "fresh.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url, drop = f"sqlite+aiosqlite:///{path}", None
    else:
        name = f"tangram_t_{uuid.uuid4().hex[:12]}"
        await _pg(f'CREATE DATABASE "{name}" TEMPLATE "{request.getfixturevalue("pg_template")}"')
        url, drop = make_url(ctx.db.url).set(database=name).render_as_string(hide_password=False), name
    other = Context(settings=ctx.settings.model_copy(update={"database_url": url}), db=Database(url))
    async with other.db.write() as conn:
        uid, _ = await other.auth.ensure_admin(conn, "admin@example.com", "correct horse battery staple")
        token, _ = await other.auth.create_token(conn, uid, "tests")
    transport = httpx.ASGITransport(app=create_app(other.settings, other))
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {token}"}) as http:
        yield http
    await other.db.dispose()
    if drop:
        await asyncio.sleep(0)
        await _pg(f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)')


async def _definitions(http: httpx.AsyncClient) -> dict[str, Any]:
    volatile = {"id", "version", "updated_at", "published_version"}
    found = {}
    for kind in ("entities", "forms", "rules", "processes", "charts", "dashboards"):
        items = (await http.get(f"{META}/apps/shop/{kind}")).json()["items"]
        found[kind] = sorted(({k: v for k, v in i.items() if k not in volatile} for i in items), key=lambda d: d["key"])
    return found


async def test_round_trip_install_change_export_reinstall_export(client: httpx.AsyncClient, fresh: httpx.AsyncClient) -> None:
    r = await client.post(f"{META}/packages", content=zip_package(shop_files()), headers={"Content-Type": "application/zip"})
    assert r.status_code == 201
    customer = (await client.get(f"{META}/apps/shop/entities/customer")).json()
    customer["fields"].append({"key": "phone", "type": "phone", "label": {"en": "Phone", "zh-CN": "电话"}})
    assert (await client.put(f"{META}/apps/shop/entities/customer", json=customer)).status_code == 200
    rule = {"key": "east_is_vip", "entity": "customer", "trigger": {"type": "created"},
            "condition": {"field": "region", "op": "eq", "value": "east"},
            "actions": [{"type": "set_fields", "values": {"phone": "+86 10 0000 0000"}}]}  # fmt: skip
    assert (await client.post(f"{META}/apps/shop/rules", json=rule)).status_code == 201
    first = await client.get(f"{META}/apps/shop/package")
    assert first.status_code == 200 and first.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(first.content)).namelist()
    assert names == sorted(names) and "rules/east_is_vip.json" in names and "manifest.json" in names
    r = await fresh.post(f"{META}/packages", content=first.content, headers={"Content-Type": "application/zip"})
    assert r.status_code == 201, r.text
    second = await fresh.get(f"{META}/apps/shop/package")
    assert second.content == first.content  # byte-identical
    assert await _definitions(fresh) == await _definitions(client)


async def test_the_crm_template_exports_and_reinstalls_identically(client: httpx.AsyncClient, fresh: httpx.AsyncClient) -> None:
    """The shipped CRM (16 entities, processes, rules, charts...) survives export -> install elsewhere ->
    export byte for byte, and the second instance reads back the same definitions."""
    r = await client.post(f"{META}/packages/catalog/crm/install", params={"sample": "false"})
    assert r.status_code == 201, r.text
    first = await client.get(f"{META}/apps/crm/package")
    names = zipfile.ZipFile(io.BytesIO(first.content)).namelist()
    assert len([n for n in names if n.startswith("entities/")]) == 16 and "processes/quote_discount.json" in names
    r = await fresh.post(f"{META}/packages", content=first.content, headers={"Content-Type": "application/zip"})
    assert r.status_code == 201, r.text
    second = await fresh.get(f"{META}/apps/crm/package")
    assert second.content == first.content
    for kind in ("entities", "rules", "processes", "charts", "dashboards", "forms"):
        mine = (await client.get(f"{META}/apps/crm/{kind}")).json()["items"]
        theirs = (await fresh.get(f"{META}/apps/crm/{kind}")).json()["items"]
        assert [i["key"] for i in mine] == [i["key"] for i in theirs] and len(mine) > 2


async def test_upgrading_the_crm_keeps_the_customers_changes_and_data(client: httpx.AsyncClient, tmp_path: Path) -> None:
    """CRM 1.0.0 installed and adapted (a field on account, a chart relabelled), then 1.1.0 arrives with a
    new lead field, a new ticket type, a relabelled funnel and a relabelled chart the customer also changed:
    the dry run shows the plan and writes nothing; the upgrade adds, replaces untouched definitions, keeps
    the customer's and lists the conflict; every record stays."""
    assert (await client.post(f"{META}/packages/catalog/crm/install")).status_code == 201
    account = (await client.get(f"{META}/apps/crm/entities/account")).json()
    account["fields"].append({"key": "wechat", "type": "text", "label": {"zh-CN": "微信", "en": "WeChat"}})
    assert (await client.put(f"{META}/apps/crm/entities/account", json=account)).status_code == 200
    chart = _definition((await client.get(f"{META}/apps/crm/charts/d6_revenue_by_month")).json())
    r = await client.put(f"{META}/apps/crm/charts/d6_revenue_by_month", json=chart | {"label": "我们的月度收入"})
    assert r.status_code == 200, r.text
    products = (await client.get("/api/v1/apps/crm/product", params={"count": "true", "limit": 1})).json()["total"]

    new = tmp_path / "crm"
    shutil.copytree(Path(__file__).resolve().parents[2] / "apps_catalog" / "crm", new)
    _edit(new / "manifest.json", lambda m: m | {"version": "1.1.0"})
    _edit(new / "entities/lead.json", lambda e: e | {"fields": [*e["fields"], {"key": "wechat", "type": "text"}]})
    warranty = {"key": "warranty", "label": {"zh-CN": "保修", "en": "Warranty"}}
    _edit(new / "entities/ticket.json", lambda e: e | {"fields": [
        f | {"options": [*f["options"], warranty]} if f["key"] == "type" else f for f in e["fields"]]})  # fmt: skip
    _edit(new / "charts/d1_sales_funnel.json", lambda c: c | {"label": {"zh-CN": "销售漏斗", "en": "Pipeline funnel"}})
    _edit(new / "charts/d6_revenue_by_month.json", lambda c: c | {"label": {"zh-CN": "月度销售额", "en": "Monthly revenue"}})
    upload = {"Content-Type": "application/zip"}
    body = _zip_folder(new)

    plan = await client.post(f"{META}/packages", content=body, headers=upload, params={"dry_run": "true"})
    assert plan.status_code == 200, plan.text
    assert (await client.get(f"{META}/apps/crm/entities/lead")).json()["fields"][-1]["key"] != "wechat"
    r = await client.post(f"{META}/packages", content=body, headers=upload)
    assert r.status_code == 201, r.text
    report = r.json()
    assert (report["mode"], report["from_version"], report["version"]) == ("upgrade", "1.0.0", "1.1.0")
    actions = {(s["kind"], s["key"]): s["action"] for s in report["steps"]}
    assert actions[("chart", "d1_sales_funnel")] == "replace" and actions[("chart", "d6_revenue_by_month")] == "keep"
    assert [(c["kind"], c["key"]) for c in report["conflicts"]] == [("chart", "d6_revenue_by_month")]
    assert plan.json()["steps"] == report["steps"]
    lead = (await client.get(f"{META}/apps/crm/entities/lead")).json()
    ticket_types = [o["key"] for f in (await client.get(f"{META}/apps/crm/entities/ticket")).json()["fields"]
                    if f["key"] == "type" for o in f["options"]]  # fmt: skip
    account = (await client.get(f"{META}/apps/crm/entities/account")).json()
    assert lead["fields"][-1]["key"] == "wechat" and ticket_types[-1] == "warranty"
    assert account["fields"][-1]["key"] == "wechat"  # the customer's own field is still there
    funnel = (await client.get(f"{META}/apps/crm/charts/d1_sales_funnel")).json()
    mine = (await client.get(f"{META}/apps/crm/charts/d6_revenue_by_month")).json()
    assert (funnel["label"]["en"], mine["label"]) == ("Pipeline funnel", "我们的月度收入")
    assert (await client.get("/api/v1/apps/crm/product", params={"count": "true", "limit": 1})).json()["total"] == products


def _definition(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in stored.items() if k not in ("id", "app", "version", "updated_at")}


def _edit(path: Path, change: Any) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text(encoding="utf-8"))), ensure_ascii=False), encoding="utf-8")


def _zip_folder(folder: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*.json")):
            archive.write(path, path.relative_to(folder).as_posix())
    return out.getvalue()
