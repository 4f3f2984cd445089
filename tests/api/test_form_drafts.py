"""The form designer's drafts on the server (/api/v1/meta/apps/{app}/entities/{entity}/draft): one per person
and entity, replaced whole, removed on discard, only for people who may change the definition."""

from __future__ import annotations

from tests.factories import make_app

META = "/api/v1/meta/apps/hr/entities"
LEAVE = {"key": "leave", "label": "Leave", "fields": [{"key": "name", "type": "text"}]}
DRAFT = {"entity": LEAVE | {"fields": [*LEAVE["fields"], {"key": "days", "type": "integer"}]}, "form": None}


async def test_a_draft_is_kept_replaced_and_discarded(client):
    await make_app(client, "hr", LEAVE)
    assert (await client.get(f"{META}/leave/draft")).status_code == 404
    r = await client.put(f"{META}/leave/draft", json={"base_version": 1, "draft": DRAFT})
    assert r.status_code == 200, r.text
    assert r.json()["draft"] == DRAFT and r.json()["base_version"] == 1
    newer = DRAFT | {"form": {"key": "leave", "entity": "leave", "sections": []}}
    assert (await client.put(f"{META}/leave/draft", json={"base_version": 1, "draft": newer})).status_code == 200
    assert (await client.get(f"{META}/leave/draft")).json()["draft"] == newer
    # the definition itself is untouched: a draft is not a publication
    assert [f["key"] for f in (await client.get(f"{META}/leave")).json()["fields"]] == ["name"]
    assert (await client.delete(f"{META}/leave/draft")).status_code == 204
    assert (await client.get(f"{META}/leave/draft")).status_code == 404


async def test_bad_drafts_are_refused_at_their_path(client, anon):
    await make_app(client, "hr", LEAVE)
    r = await client.put(f"{META}/leave/draft", json={"base_version": 0, "draft": DRAFT})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "/base_version"
    r = await client.put(f"{META}/leave/draft", json={"base_version": 1, "draft": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "/draft"
    assert (await client.put(f"{META}/nope/draft", json={"base_version": 1, "draft": DRAFT})).status_code == 404
    assert (await anon.get(f"{META}/leave/draft")).status_code == 401
    assert (await client.get(f"{META}/leave/draft")).status_code == 404
