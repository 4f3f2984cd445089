"""Apps as the builder manages them through the meta API: icon and colour, who may create (administrators
and the built-in "builder" role, whose creator then manages the app), the recycle bin, re-keying before the
first entity, who may use the app (role presets on "app.*"), and adopting a hand-built app from a package."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest
from sqlalchemy import insert, select

from engine.api.app import create_app
from engine.api.context import Context
from engine.auth.tables import teams, user_teams
from tests.factories import LEAD
from tests.people import audit_rows, errors, make_user, new_team

META = "/api/v1/meta"
HR = {"key": "hr", "label": {"en": "HR", "zh-CN": "人事"}, "icon": "user-group", "color": "#13A8A8"}


@pytest.fixture
def as_user(ctx: Context):  # type: ignore[no-untyped-def]
    def client(headers: dict[str, str]) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=create_app(ctx.settings, ctx))
        return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)

    return client


async def test_an_app_has_an_icon_and_a_colour_and_bad_ones_are_refused_at_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{META}/apps", json=HR)
    assert r.status_code == 201, r.text
    assert (r.json()["icon"], r.json()["color"]) == ("user-group", "#13a8a8")
    bad = await client.post(f"{META}/apps", json=HR | {"key": "hr2", "icon": "skull", "color": "red; x"})
    assert bad.status_code == 422 and errors(bad) == [("/color", "value_error"), ("/icon", "value_error")]
    assert "#rrggbb" in {e["path"]: e["message"] for e in bad.json()["errors"]}["/color"]
    taken = await client.post(f"{META}/apps", json=HR | {"label": {"en": "Other"}})
    assert taken.status_code == 409 and errors(taken) == [("/key", "taken")]
    assert [a["key"] for a in (await client.get(f"{META}/apps")).json()["items"]] == ["hr"]
    r = await client.patch(f"{META}/apps/hr", json={"label": {"en": "People", "zh-CN": "人事"}, "color": "#531dab"})
    assert r.status_code == 200 and r.json()["color"] == "#531dab" and r.json()["icon"] == "user-group"
    assert (await client.patch(f"{META}/apps/hr", json={"icon": "nope"})).status_code == 422
    assert (await client.get(f"{META}/apps/hr")).json()["label"]["en"] == "People"


async def test_a_builder_creates_an_app_and_manages_it_and_only_it(ctx: Context, client: httpx.AsyncClient, as_user) -> None:  # type: ignore[no-untyped-def]
    assert (await client.post(f"{META}/apps", json={"key": "crm", "label": {"en": "CRM"}})).status_code == 201
    _, member = await make_user(ctx, "m@example.com", "member")
    _, builder = await make_user(ctx, "b@example.com", "builder")
    async with as_user(member) as m, as_user(builder) as b:
        assert (await m.post(f"{META}/apps", json=HR)).status_code == 403
        r = await b.post(f"{META}/apps", json=HR)
        assert r.status_code == 201 and r.json()["managers_role"] == "hr_managers"
        # The creator manages the app: definitions, look, access; not the other app.
        assert (await b.post(f"{META}/apps/hr/entities", json=LEAD)).status_code == 201
        assert (await b.patch(f"{META}/apps/hr", json={"icon": "briefcase"})).status_code == 200
        assert (await b.patch(f"{META}/apps/crm", json={"icon": "briefcase"})).status_code == 403
        assert (await b.delete(f"{META}/apps/crm?confirm=crm")).status_code == 403
        assert (await b.get(f"{META}/apps/crm/access")).status_code == 403
        assert (await b.post("/api/v1/apps/hr/lead", json={"name": "Ann"})).status_code == 201
    role = (await client.get("/api/v1/admin/roles/hr_managers")).json()
    assert role["definition"]["label"] == {"en": "HR managers", "zh-CN": "人事管理员"} and role["users"] == 1
    assert [a["action"] for a in await audit_rows(ctx, "app.")] == ["app.created", "app.created", "app.updated"]


async def test_the_recycle_bin_hides_an_app_and_restores_it_as_it_was(ctx: Context, client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{META}/apps", json=HR)).status_code == 201
    assert (await client.post(f"{META}/apps/hr/entities", json=LEAD)).status_code == 201
    assert (await client.post("/api/v1/apps/hr/lead", json={"name": "Ann"})).status_code == 201
    r = await client.delete(f"{META}/apps/hr")
    assert r.status_code == 400 and "confirm=hr" in r.json()["detail"]
    assert (await client.delete(f"{META}/apps/hr?confirm=hr")).status_code == 204
    assert (await client.get(f"{META}/apps")).json()["items"] == []
    assert (await client.get(f"{META}/apps/hr")).status_code == 404
    assert (await client.get("/api/v1/apps/hr/lead")).status_code == 404
    binned = (await client.get(f"{META}/apps?binned=true")).json()["items"]
    assert [a["key"] for a in binned] == ["hr"] and binned[0]["deleted_at"]
    taken = await client.post(f"{META}/apps", json=HR)
    assert taken.status_code == 409 and "recycle bin" in taken.json()["detail"]
    purge = await client.post(f"{META}/apps/hr/purge?confirm=hr")
    assert purge.status_code == 409 and "still has 1 entities" in purge.json()["detail"]
    r = await client.post(f"{META}/apps/hr/restore")
    assert r.status_code == 200 and r.json()["deleted_at"] is None
    assert [x["name"] for x in (await client.get("/api/v1/apps/hr/lead")).json()["items"]] == ["Ann"]
    assert (await client.post(f"{META}/apps/hr/restore")).status_code == 404


async def test_the_key_changes_only_before_the_first_entity(ctx: Context, client: httpx.AsyncClient, as_user) -> None:  # type: ignore[no-untyped-def]
    _, builder = await make_user(ctx, "b@example.com", "builder")
    async with as_user(builder) as b:
        assert (await b.post(f"{META}/apps", json=HR | {"key": "ren_shi"})).status_code == 201
        r = await b.patch(f"{META}/apps/ren_shi", json={"key": "hr"})
        assert r.status_code == 200 and r.json()["key"] == "hr"
        # The managers role follows the key, so its creator still manages the app.
        assert (await b.post(f"{META}/apps/hr/entities", json=LEAD)).status_code == 201
        refused = await b.patch(f"{META}/apps/hr", json={"key": "people"})
        assert refused.status_code == 422 and errors(refused) == [("/key", "immutable")]
    grants = (await client.get("/api/v1/admin/roles/ren_shi_managers")).json()["definition"]["grants"]
    assert [g["entity"] for g in grants] == ["hr.*"]


async def test_who_may_use_the_app_is_a_preset_grant_per_role(ctx: Context, client: httpx.AsyncClient, as_user) -> None:  # type: ignore[no-untyped-def]
    assert (await client.post(f"{META}/apps", json=HR)).status_code == 201
    assert (await client.post(f"{META}/apps/hr/entities", json=LEAD)).status_code == 201
    assert (await client.post("/api/v1/apps/hr/lead", json={"name": "Admin's"})).status_code == 201
    _, member = await make_user(ctx, "m@example.com", "member")
    rows = {r["role"]: r for r in (await client.get(f"{META}/apps/hr/access")).json()["items"]}
    assert (rows["member"]["preset"], rows["member"]["source"]) == ("own", "all_apps")
    assert (rows["read_only"]["preset"], rows["builder"]["preset"]) == ("read", "none")
    async with as_user(member) as m:
        assert (await m.get("/api/v1/apps/hr/lead")).json()["items"] == []  # own records only
        r = await client.put(f"{META}/apps/hr/access", json={"role": "member", "preset": "read"})
        assert r.status_code == 200 and (r.json()["preset"], r.json()["source"]) == ("read", "app")
        assert [x["name"] for x in (await m.get("/api/v1/apps/hr/lead")).json()["items"]] == ["Admin's"]
        assert (await m.post("/api/v1/apps/hr/lead", json={"name": "Mine"})).status_code == 403
        await client.put(f"{META}/apps/hr/access", json={"role": "member", "preset": "none"})
        assert (await m.get("/api/v1/apps/hr/lead")).status_code == 403
        assert (await m.get(f"{META}/apps/hr/access")).status_code == 403
        assert (await m.put(f"{META}/apps/hr/access", json={"role": "member", "preset": "manage"})).status_code == 403
    member_role = (await client.get("/api/v1/admin/roles/member")).json()["definition"]
    assert [g["entity"] for g in member_role["grants"]] == ["*", "hr.*"]  # every other app: as before
    bad = await client.put(f"{META}/apps/hr/access", json={"role": "member", "preset": "everything"})
    assert bad.status_code == 422 and errors(bad) == [("/preset", "literal_error")]
    assert (await client.put(f"{META}/apps/hr/access", json={"role": "ghost", "preset": "own"})).status_code == 404
    assert [r["subject"] for r in await audit_rows(ctx, "role.updated")] == ["member", "member"]


async def test_an_exported_app_carries_its_look_and_installs_over_itself_when_forced(client: httpx.AsyncClient) -> None:
    assert (await client.post(f"{META}/apps", json=HR)).status_code == 201
    assert (await client.post(f"{META}/apps/hr/entities", json=LEAD)).status_code == 201
    data = (await client.get(f"{META}/apps/hr/package")).content
    zipped = {"Content-Type": "application/zip"}
    refused = await client.post(f"{META}/packages?dry_run=true", content=data, headers=zipped)
    assert refused.status_code == 409 and refused.json()["reason"] == "exists_not_installed"
    plan = await client.post(f"{META}/packages?dry_run=true&force=true", content=data, headers=zipped)
    assert plan.status_code == 200 and plan.json()["mode"] == "adopt"
    assert plan.json()["steps"] == [{"kind": "entity", "key": "lead", "action": "unchanged", "file": "entities/lead.json"}]
    r = await client.post(f"{META}/packages?force=true", content=data, headers=zipped)
    assert r.status_code == 201 and r.json()["version"] == "0.1.0"
    exported = zipfile.ZipFile(io.BytesIO((await client.get(f"{META}/apps/hr/package")).content))
    manifest = json.loads(exported.read("manifest.json"))
    assert (manifest["icon"], manifest["color"], manifest["name"]["zh-CN"]) == ("user-group", "#13a8a8", "人事")


async def test_a_team_and_its_sub_teams_get_access_through_a_role_the_team_holds(
    ctx: Context, client: httpx.AsyncClient, as_user
) -> None:  # type: ignore[no-untyped-def]
    assert (await client.post(f"{META}/apps", json=HR)).status_code == 201
    assert (await client.post(f"{META}/apps/hr/entities", json=LEAD)).status_code == 201
    assert (await client.post("/api/v1/apps/hr/lead", json={"name": "Admin's"})).status_code == 201
    await new_team(client, "sales")
    await new_team(client, "east", parent="sales")
    await new_team(client, "ops")
    uid, east = await make_user(ctx, "e@example.com")  # no role at all
    _, ops = await make_user(ctx, "o@example.com")
    async with ctx.db.write() as conn:
        team = (await conn.execute(select(teams.c.id).where(teams.c.key == "east"))).scalar_one()
        await conn.execute(insert(user_teams).values(user_id=uid, team_id=team, is_primary=True))
    async with as_user(east) as e, as_user(ops) as o:
        assert (await e.get("/api/v1/apps/hr/lead")).status_code == 403
        r = await client.put(f"{META}/apps/hr/access/teams", json={"team": "sales", "preset": "read"})
        assert r.status_code == 200 and r.json()["role"].startswith("hr_team_")
        ctx.auth.forget_cached()
        assert [x["name"] for x in (await e.get("/api/v1/apps/hr/lead")).json()["items"]] == ["Admin's"]  # a sub-team
        assert (await o.get("/api/v1/apps/hr/lead")).status_code == 403  # someone outside the team
        listed = (await client.get(f"{META}/apps/hr/access")).json()
        assert [(t["team"], t["preset"]) for t in listed["teams"]] == [("sales", "read")]
        assert "hr_team_" not in str([r["role"] for r in listed["items"]])  # not among the roles
        exported = zipfile.ZipFile(io.BytesIO((await client.get(f"{META}/apps/hr/package")).content))
        assert not [n for n in exported.namelist() if n.startswith("roles/")]  # an installation's teams: not shipped
        r = await client.put(f"{META}/apps/hr/access/teams", json={"team": "sales", "preset": "none"})
        assert r.status_code == 200 and r.json()["role"] is None
        assert (await e.get("/api/v1/apps/hr/lead")).status_code == 403
        assert (await client.get(f"{META}/apps/hr/access")).json()["teams"] == []
    bad = await client.put(f"{META}/apps/hr/access/teams", json={"team": "ghost", "preset": "own"})
    assert bad.status_code == 404 and errors(bad) == [("/team", "not_found")]
