"""X6: knowledge-base search that works for Chinese and English, ranked, scoped, never matching on a
hidden field; the list endpoint's `q` uses the same condition."""

from typing import Any

import pytest

from tests.factories import make_app
from tests.people import errors, make_user

KB = "/api/v1/apps/kb/knowledge_article"
ARTICLE: dict[str, Any] = {
    "key": "knowledge_article",
    "label": {"en": "Knowledge article", "zh-CN": "知识库文章"},
    "display_field": "title",
    "fields": [
        {"key": "title", "type": "text", "required": True},
        {"key": "body", "type": "long_text"},
        {"key": "tags", "type": "text"},
        {"key": "internal_notes", "type": "long_text"},
        {"key": "views", "type": "integer"},
    ],
}
REP_ROLE = {
    "key": "kb_rep",
    "label": {"en": "KB reader (own)"},
    "grants": [{"entity": "kb.knowledge_article", "read": "own", "hidden_fields": ["internal_notes"]}],
}
ARTICLES = [
    {"title": "如何开具增值税发票", "body": "在财务系统中选择发票类型。填写抬头后提交。", "tags": "财务"},
    {"title": "打印机驱动安装", "body": "下载打印机驱动。安装后重启打印机。", "tags": "硬件"},
    {"title": "打印机卡纸处理", "body": "打开后盖取出纸张。", "tags": "硬件"},
    {"title": "驱动程序更新", "body": "系统驱动定期更新。", "tags": "软件"},
    {"title": "Connect to the office WIFI", "body": "Pick the network and enter the password.", "tags": "network"},
    {"title": "Discount policy", "body": "Never more than 100% off. Code axb applies.", "tags": "sales"},
    {"title": "Naming rules", "body": "Files are named a_b.txt; at most 100 files.", "tags": "docs"},
    {"title": "Password reset", "body": "Reset your wifi password from the portal. Wifi issues: call IT.", "tags": "network",
     "internal_notes": "机密 vendor contract"},
]  # fmt: skip


@pytest.fixture
async def kb(client, ctx):
    await make_app(client, "kb", ARTICLE)
    assert (await client.post("/api/v1/admin/roles", json=REP_ROLE)).status_code == 201
    rep, rep_headers = await make_user(ctx, "rep@example.com", "kb_rep")
    items = [a | {"owner": rep} if i % 2 else a for i, a in enumerate(ARTICLES)]  # the rep owns every second one
    r = await client.post(f"{KB}/bulk", json={"op": "create", "items": items})
    assert r.status_code == 200, r.text
    return {"ids": {a["title"]: a["id"] for a in r.json()["items"]}, "rep": rep_headers}


async def titles(client, q, **kw):
    r = await client.get(f"{KB}/search", params={"q": q}, **kw)
    assert r.status_code == 200, r.text
    return [i["record"]["title"] for i in r.json()["items"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("发票", ["如何开具增值税发票"]),  # a two-character Chinese word, inside longer text
        # AND: 打印机卡纸处理 has no 驱动, 驱动程序更新 no 打印机
        ("打印机 驱动", ["打印机驱动安装"]),
        ("驱动", ["驱动程序更新", "打印机驱动安装"]),  # both in title and body once: the newest first
        ("WiFi", ["Connect to the office WIFI", "Password reset"]),  # case-insensitive; title match first
        ("100%", ["Discount policy"]),  # literal: "100 files" does not match
        ("a_b", ["Naming rules"]),  # "_" is not a wildcard: "axb" does not match
        ('"reset your wifi"', ["Password reset"]),  # a phrase
        ('"wifi reset"', []),
        ("打印机 不存在", []),
    ],
)
async def test_x6_search_finds_chinese_and_english(client, kb, q, expected):
    assert await titles(client, q) == expected


async def test_x6_search_answer_has_snippet_total_and_terms(client, kb):
    r = await client.get(f"{KB}/search", params={"q": "重启 打印机", "limit": 1})
    body = r.json()
    assert body["total"] == 1 and body["terms"] == ["重启", "打印机"]
    item = body["items"][0]
    assert item["record"]["id"] == kb["ids"]["打印机驱动安装"]
    assert item["snippet"] == {"field": "body", "text": "下载打印机驱动。安装后重启打印机。", "matches": [[2, 5], [11, 16]]}


async def test_x6_ranking_puts_title_matches_first_then_occurrences(client, kb):
    # "password" is in two bodies, and in the title of the one that ranks first
    assert await titles(client, "password") == ["Password reset", "Connect to the office WIFI"]
    r = await client.get(f"{KB}/search", params={"q": "password", "limit": 1, "offset": 1})
    assert [i["record"]["title"] for i in r.json()["items"]] == ["Connect to the office WIFI"] and r.json()["total"] == 2


async def test_x6_a_rep_searches_only_their_scope_and_not_hidden_fields(client, kb):
    rep = {"headers": kb["rep"]}
    assert await titles(client, "打印机", **rep) == ["打印机驱动安装"]  # 打印机卡纸处理 is not theirs
    assert await titles(client, "wifi", **rep) == ["Password reset"]
    assert await titles(client, "机密", **rep) == []  # only in internal_notes, hidden from the rep
    assert await titles(client, "机密") == ["Password reset"]  # the admin may search it
    r = await client.get(f"{KB}/search", params={"q": "wifi"}, **rep)
    assert "internal_notes" not in r.json()["items"][0]["record"]
    r = await client.get(f"{KB}/search", params={"q": "机密", "in": "title,internal_notes"}, **rep)
    assert r.status_code == 422 and errors(r) == [("/in/1", "unknown_field")]


async def test_x6_list_q_uses_the_same_condition_with_the_list_sort_and_filter(client, kb):
    r = await client.get(KB, params={"q": "打印机", "count": "true"})  # in the list's order (id), not ranked
    assert [i["title"] for i in r.json()["items"]] == ["打印机驱动安装", "打印机卡纸处理"] and r.json()["total"] == 2
    r = await client.get(KB, params={"q": "wifi", "filter": '{"field": "tags", "op": "eq", "value": "network"}', "limit": 1})
    assert [i["title"] for i in r.json()["items"]] == ["Connect to the office WIFI"] and r.json()["next_cursor"]
    r = await client.get(KB, params={"q": "wifi", "limit": 1, "cursor": r.json()["next_cursor"]})
    assert [i["title"] for i in r.json()["items"]] == ["Password reset"]
    r = await client.get(KB, params={"q": "机密"}, headers=kb["rep"])
    assert r.json()["items"] == []
    r = await client.get(KB, params={"q": "  "})  # an empty search box lists everything
    assert len(r.json()["items"]) == len(ARTICLES)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": ""}, [("/q", "empty")]),
        ({"q": " ".join(f"t{i}" for i in range(11))}, [("/q", "too_many")]),
        ({"q": "x" * 201}, [("/q", "too_long")]),
        ({"q": "x", "in": "views"}, [("/in/0", "not_searchable")]),
        ({"q": "x", "in": "nope"}, [("/in/0", "unknown_field")]),
    ],
)
async def test_x6_bad_searches_are_422_at_their_path(client, kb, params, expected):
    r = await client.get(f"{KB}/search", params=params)
    assert r.status_code == 422 and errors(r) == expected


async def test_x6_search_needs_read_rights(client, kb, ctx):
    _, nobody = await make_user(ctx, "nobody@example.com")
    r = await client.get(f"{KB}/search", params={"q": "x"}, headers=nobody)
    assert r.status_code == 403
