"""TANGRAM_REQUIRE_IF_MATCH (issue 18): with it on, an update or delete that does not say which version it was
made from is refused (428; a bulk item: 422 at its version) and changes nothing; with the version it works.
Off (the default), a change without a version is accepted as before."""

from __future__ import annotations

import httpx

from engine.api.app import create_app
from engine.api.context import Context
from tests.factories import make_app

LEADS = "/api/v1/apps/crm/lead"


async def _strict_client(ctx, admin) -> httpx.AsyncClient:
    settings = ctx.settings.model_copy(update={"tangram_require_if_match": True})
    app = create_app(settings, Context(settings=settings, db=ctx.db, clock=ctx.clock))
    headers = {"Authorization": f"Bearer {admin['token']}"}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers)


async def test_changes_without_a_version_get_428_when_required(client, ctx, admin):
    await make_app(client)
    lead = (await client.post(LEADS, json={"name": "Acme"})).json()
    async with await _strict_client(ctx, admin) as strict:
        r = await strict.patch(f"{LEADS}/{lead['id']}", json={"name": "Changed"})
        assert r.status_code == 428 and r.json()["type"] == "/problems/precondition-required"
        r = await strict.post(f"{LEADS}/bulk", json={"op": "update", "items": [{"id": lead["id"], "name": "Bulk"}]})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "/items/0/version"
        assert (await strict.delete(f"{LEADS}/{lead['id']}")).status_code == 428
        assert (await strict.get(f"{LEADS}/{lead['id']}")).json()["name"] == "Acme"  # nothing changed

        r = await strict.patch(f"{LEADS}/{lead['id']}", json={"name": "Changed"}, headers={"If-Match": '"1"'})
        assert r.status_code == 200 and r.json()["version"] == 2
        r = await strict.post(f"{LEADS}/bulk", json={"op": "update", "items": [{"id": lead["id"], "name": "Bulk", "version": 2}]})
        assert r.status_code == 200
        assert (await strict.delete(f"{LEADS}/{lead['id']}", headers={"If-Match": '"3"'})).status_code == 204


async def test_by_default_a_change_without_a_version_is_accepted(client):
    await make_app(client)
    lead = (await client.post(LEADS, json={"name": "Acme"})).json()
    assert (await client.patch(f"{LEADS}/{lead['id']}", json={"name": "Changed"})).status_code == 200
