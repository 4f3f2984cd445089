"""Public forms (F1): publishing a layout, anonymous submissions with only the form's fields, the abuse
guards (rate limit, honeypot, challenge, daily cap, origin) and the submitter's status link."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from engine.api.context import Context
from engine.api.public_forms import DIFFICULTY
from engine.apps.public_guard import solves
from engine.auth.service import grant_role
from tests.api.form_world import DEALS, FORMS, make_sales

ADMIN = "/api/v1/apps/sales/public-forms"
WEB = {"key": "deal_web", "entity": "deal", "label": {"en": "Tell us", "zh-CN": "联系我们"},
       "sections": [{"fields": ["name", "source", "amount", "tags", "reviewer"]}]}  # fmt: skip
ORIGIN = {"Origin": "http://test"}


async def publish(client: httpx.AsyncClient, admin: dict[str, Any], **settings: Any) -> dict[str, Any]:
    await make_sales(client)
    assert (await client.post(FORMS, json=WEB)).status_code == 201
    body = {"form": "deal_web", "owner": admin["id"], "thank_you": {"en": "Thanks!"}} | settings
    r = await client.post(ADMIN, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def proofs(anon: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    page = (await anon.get(f"/api/v1/public/forms/{slug}")).json()
    answer = next(str(n) for n in range(10**7) if solves(page["challenge"], str(n), DIFFICULTY))
    return {"form_token": page["form_token"], "challenge": page["challenge"], "answer": answer}


async def send(anon: httpx.AsyncClient, slug: str, values: dict[str, Any], **extra: Any) -> httpx.Response:
    body = await proofs(anon, slug) | {"values": values} | extra
    return await anon.post(f"/api/v1/public/forms/{slug}", json=body, headers=ORIGIN)


async def deals(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await client.get(DEALS)).json()["items"]  # type: ignore[no-any-return]


async def test_f1_published_form_creates_the_record_for_its_owner(client, anon, admin) -> None:
    pub = await publish(client, admin)
    assert pub["url"] == f"/f/{pub['slug']}" and len(pub["slug"]) >= 24
    page = (await anon.get(f"/api/v1/public/forms/{pub['slug']}")).json()
    assert [f["key"] for f in page["fields"]] == ["name", "source", "amount", "tags"]  # no user field offered
    r = await send(anon, pub["slug"], {"name": "Ada", "tags": ["vip"]})
    assert r.status_code == 201, r.text
    assert r.json() == {"thank_you": {"en": "Thanks!"}, "status_url": None}
    [deal] = await deals(client)
    assert (deal["name"], deal["owner"], deal["tags"]) == ("Ada", admin["id"], ["vip"])
    history = (await client.get(f"{DEALS}/{deal['id']}/history")).json()
    assert history["items"][0]["source"] == "public_form"


async def test_f1_fields_outside_the_form_are_refused(client, anon, admin) -> None:
    pub = await publish(client, admin)
    r = await send(anon, pub["slug"], {"name": "x", "reviewer": admin["id"], "owner": 5, "status": "won", "id": 9})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    paths = {e["path"] for e in r.json()["errors"]}
    assert paths == {"/values/reviewer", "/values/owner", "/values/status", "/values/id"}
    assert await deals(client) == []


async def test_f1_form_rules_judge_the_submission(client, anon, admin) -> None:
    pub = await publish(client, admin)
    r = await send(anon, pub["slug"], {"name": "x", "source": "event"})  # the record form requires amount then
    assert r.status_code == 422 and [e["path"] for e in r.json()["errors"]] == ["/amount"]


async def test_f1_sixth_submission_in_a_minute_is_refused(client, anon, admin) -> None:
    pub = await publish(client, admin)
    for i in range(5):
        assert (await send(anon, pub["slug"], {"name": f"n{i}"})).status_code == 201
    r = await send(anon, pub["slug"], {"name": "n6"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert len(await deals(client)) == 5


async def test_f1_honeypot_is_thanked_and_dropped(client, anon, admin) -> None:
    pub = await publish(client, admin)
    r = await send(anon, pub["slug"], {"name": "bot"}, website="http://spam.example")
    assert r.status_code == 201 and await deals(client) == []


async def test_f1_challenge_and_token_are_checked(client, anon, admin) -> None:
    pub = await publish(client, admin)
    slug, url = pub["slug"], f"/api/v1/public/forms/{pub['slug']}"
    good = await proofs(anon, slug)
    bad_answer = good | {"answer": str(int(good["answer"]) + 1), "values": {"name": "x"}}
    token = good["form_token"]
    forged = good | {"form_token": token[:-2] + ("11" if token.endswith("00") else "00"), "values": {"name": "x"}}
    assert [e["path"] for e in (await anon.post(url, json=bad_answer, headers=ORIGIN)).json()["errors"]] == ["/answer"]
    assert [e["path"] for e in (await anon.post(url, json=forged, headers=ORIGIN)).json()["errors"]] == ["/form_token"]
    assert (await anon.post(url, json=good | {"values": {"name": "x"}}, headers=ORIGIN)).status_code == 201
    replay = await anon.post(url, json=good | {"values": {"name": "y"}}, headers=ORIGIN)
    assert replay.status_code == 422 and replay.json()["errors"][0]["path"] == "/challenge"
    assert (await anon.post(url, json=good | {"values": {"name": "x"}})).status_code == 403  # no Origin
    assert len(await deals(client)) == 1


async def test_f1_daily_cap(client, anon, admin) -> None:
    pub = await publish(client, admin, daily_cap=1)
    assert (await send(anon, pub["slug"], {"name": "a"})).status_code == 201
    r = await send(anon, pub["slug"], {"name": "b"})
    assert r.status_code == 429 and "today" in r.json()["detail"]


async def test_f1_disabled_form_is_not_found(client, anon, admin) -> None:
    pub = await publish(client, admin)
    good = await proofs(anon, pub["slug"])
    r = await client.put(f"{ADMIN}/{pub['id']}", json={"form": "deal_web", "owner": admin["id"], "enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert (await anon.get(f"/api/v1/public/forms/{pub['slug']}")).status_code == 404
    url = f"/api/v1/public/forms/{pub['slug']}"
    assert (await anon.post(url, json=good | {"values": {"name": "x"}}, headers=ORIGIN)).status_code == 404
    assert await deals(client) == []


async def test_f1_status_link_shows_only_the_visible_fields(client, anon, admin) -> None:
    pub = await publish(client, admin, status_fields=["status"])
    r = await send(anon, pub["slug"], {"name": "Ada", "amount": "12.50"})
    token = r.json()["status_url"].rsplit("/", 1)[1]
    status = (await anon.get(f"/api/v1/public/status/{token}")).json()
    assert [(f["key"], f["value"]) for f in status["fields"]] == [("status", "open")]
    assert "Ada" not in str(status) and "12.5" not in str(status)
    assert (await anon.get("/api/v1/public/status/" + "x" * 32)).status_code == 404


async def test_f1_publishing_is_checked_and_guarded(client, anon, admin) -> None:
    await publish(client, admin)
    bad = {"form": "nope", "assignment": "owner", "origins": ["javascript:alert(1)"], "daily_cap": 0, "extra": 1}
    r = await client.post(ADMIN, json=bad)
    assert r.status_code == 422
    assert {e["path"] for e in r.json()["errors"]} == {"/origins/0", "/daily_cap", "/extra"}
    r = await client.post(ADMIN, json={"form": "deal_web", "status_fields": ["nope"]})
    assert {e["path"] for e in r.json()["errors"]} == {"/owner", "/status_fields/0"}
    assert (await anon.get(ADMIN)).status_code == 401
    assert len((await client.get(ADMIN)).json()["items"]) == 1


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"{not json", None),
        (b'{"values": [1], "website": 3}', "/values"),
        (b'{"values": {}, "sneaky": 1}', "/sneaky"),
        (b'{"values": {"name": 5}}', "/form_token"),
    ],
)
async def test_f1_hostile_submissions(client, anon, admin, ctx: Context, body: bytes, path: str | None) -> None:
    pub = await publish(client, admin)
    headers = ORIGIN | {"Content-Type": "application/json"}
    r = await anon.post(f"/api/v1/public/forms/{pub['slug']}", content=body, headers=headers)
    assert 400 <= r.status_code < 500 and r.headers["content-type"] == "application/problem+json"
    if path is not None:
        assert path in {e["path"] for e in r.json()["errors"]}
    assert await deals(client) == []


async def test_f1_hostile_strings_and_oversize(client, anon, admin, ctx: Context) -> None:
    pub = await publish(client, admin)
    for slug in ("%00", "' OR 1=1 --", "<script>", "a" * 500, pub["slug"] + "%00"):
        assert (await anon.get(f"/api/v1/public/forms/{slug}")).status_code == 404
        assert (await anon.get(f"/api/v1/public/status/{slug}")).status_code == 404
    big = {"values": {"name": "x" * (ctx.settings.max_body_bytes + 1)}}
    r = await anon.post(f"/api/v1/public/forms/{pub['slug']}", json=big, headers=ORIGIN)
    assert r.status_code == 413
    r = await send(anon, pub["slug"], {"name": "<script>alert(1)</script>\u202e"})
    assert r.status_code == 201 and (await deals(client))[0]["name"].startswith("<script>")


async def test_f1_assignment_rules_choose_the_owner(client, anon, admin) -> None:
    pub = await publish(client, admin, assignment="rules", owner=None)
    rule = {"key": "route_web", "entity": "deal", "when": "before_save", "trigger": {"type": "created"},
            "actions": [{"type": "assign_owner", "strategy": "table", "table": [
                {"condition": {"field": "source", "op": "eq", "value": "web"}, "user": admin["id"]}]}]}  # fmt: skip
    assert (await client.post("/api/v1/meta/apps/sales/rules", json=rule)).status_code == 201, "rule"
    assert (await send(anon, pub["slug"], {"name": "routed", "source": "web"})).status_code == 201
    assert (await send(anon, pub["slug"], {"name": "left"})).status_code == 201
    owners = {d["name"]: d["owner"] for d in await deals(client)}
    assert owners == {"routed": admin["id"], "left": None}


async def test_f1_fixed_values_are_set_on_every_submission(client, anon, admin) -> None:
    pub = await publish(client, admin, fixed={"code": "WEB", "discount": "5"})
    assert (await send(anon, pub["slug"], {"name": "Ada"})).status_code == 201
    [deal] = await deals(client)
    assert (deal["code"], deal["discount"]) == ("WEB", 5)
    bad = {"form": "deal_web", "owner": admin["id"], "fixed": {"name": "x", "status": "bogus", "nope": 1, "discount": []}}
    r = await client.post(ADMIN, json=bad)
    assert r.status_code == 422
    assert {e["path"] for e in r.json()["errors"]} == {"/fixed/name", "/fixed/status", "/fixed/nope", "/fixed/discount"}


async def test_f1_only_those_who_manage_the_entity_publish(client, admin, ctx: Context) -> None:
    pub = await publish(client, admin)
    async with ctx.db.write() as conn:
        uid = await ctx.auth.create_user(conn, "rep@example.com", "Rep")
        await grant_role(conn, uid, "member")
        token, _ = await ctx.auth.create_token(conn, uid)
    rep = {"Authorization": f"Bearer {token}"}
    assert (await client.post(ADMIN, json={"form": "deal_web", "owner": uid}, headers=rep)).status_code == 403
    assert (await client.put(f"{ADMIN}/{pub['id']}", json={"form": "deal_web", "owner": uid}, headers=rep)).status_code == 403
    assert (await client.get(f"{ADMIN}/{pub['id']}", headers=rep)).status_code == 403
    assert (await client.get(ADMIN, headers=rep)).json()["items"] == []
