"""The notification inbox (rules' "notify users" action, R2/R7): each user lists and marks only their own."""

from datetime import timedelta

from engine.notify.inbox import notify
from tests.people import make_user

INBOX = "/api/v1/me/notifications"


async def send(ctx, user_ids, title, body="", **link):
    async with ctx.db.write() as conn:
        return await notify(conn, ctx.clock.now(), user_ids, title, body, **link)


async def test_a_user_lists_their_notifications_newest_first_with_the_unread_count(client, ctx, admin):
    await send(ctx, [admin["id"]], "Follow up ACME", "No activity for 3 days", app="crm", entity="lead", record_id=7)
    await send(ctx, [admin["id"]], "New lead assigned")
    r = await client.get(INBOX)
    assert r.status_code == 200
    page = r.json()
    assert [i["title"] for i in page["items"]] == ["New lead assigned", "Follow up ACME"]
    assert page["unread"] == 2 and page["next_cursor"] is None
    oldest = page["items"][1]
    assert (oldest["body"], oldest["app"], oldest["entity"], oldest["record_id"], oldest["read_at"]) == (
        "No activity for 3 days", "crm", "lead", 7, None,
    )  # fmt: skip
    assert "user_id" not in oldest and "dedup_key" not in oldest


async def test_marking_one_read_changes_the_unread_filter_and_count(client, ctx, admin):
    await send(ctx, [admin["id"]], "first")
    await send(ctx, [admin["id"]], "second")
    first = (await client.get(INBOX)).json()["items"][1]
    r = await client.post(f"{INBOX}/{first['id']}/read")
    assert r.status_code == 200 and r.json()["title"] == "first" and r.json()["read_at"] is not None
    again = await client.post(f"{INBOX}/{first['id']}/read")
    assert again.json()["read_at"] == r.json()["read_at"]  # the first read time is kept
    unread = (await client.get(INBOX, params={"unread": "true"})).json()
    assert [i["title"] for i in unread["items"]] == ["second"] and unread["unread"] == 1
    assert len((await client.get(INBOX)).json()["items"]) == 2


async def test_read_all_marks_only_the_callers_notifications(client, ctx, admin):
    other, other_headers = await make_user(ctx, "rep@example.com", "member")
    await send(ctx, [admin["id"], other], "shared news")
    await send(ctx, [admin["id"]], "just for admin")
    r = await client.post(f"{INBOX}/read-all")
    assert r.status_code == 200 and r.json() == {"marked": 2}
    assert (await client.get(INBOX)).json()["unread"] == 0
    theirs = (await client.get(INBOX, headers=other_headers)).json()
    assert theirs["unread"] == 1 and [i["title"] for i in theirs["items"]] == ["shared news"]


async def test_another_users_notification_is_not_found_for_reading_or_marking(client, ctx, admin):
    _, other_headers = await make_user(ctx, "rep@example.com", "member")
    await send(ctx, [admin["id"]], "admin only")
    admins = (await client.get(INBOX)).json()["items"][0]["id"]
    assert (await client.get(INBOX, headers=other_headers)).json() == {"items": [], "next_cursor": None, "unread": 0}
    r = await client.post(f"{INBOX}/{admins}/read", headers=other_headers)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert (await client.get(INBOX)).json()["unread"] == 1
    assert (await client.post(f"{INBOX}/999999/read")).status_code == 404


async def test_cursor_pagination_walks_every_notification_once(client, ctx, admin):
    for i in range(7):
        await send(ctx, [admin["id"]], f"n{i}")
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(INBOX, params=params)).json()
        seen += [i["title"] for i in page["items"]]
        assert page["unread"] == 7
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"n{i}" for i in reversed(range(7))]


async def test_bad_paging_parameters_are_422_with_their_paths(client):
    r = await client.get(INBOX, params={"limit": 0, "cursor": "abc"})
    assert r.status_code == 422
    assert sorted(e["path"] for e in r.json()["errors"]) == ["/query/cursor", "/query/limit"]
    assert (await client.post(f"{INBOX}/0/read")).status_code == 422


async def test_the_inbox_needs_a_signed_in_user(anon):
    assert (await anon.get(INBOX)).status_code == 401
    assert (await anon.post(f"{INBOX}/read-all")).status_code == 401


async def test_a_replayed_job_with_the_same_dedup_key_notifies_nobody_twice(client, ctx, admin):
    other, other_headers = await make_user(ctx, "rep@example.com", "member")
    assert await send(ctx, [admin["id"], other], "Order shipped", dedup_key="job:41:action:0") == 2
    assert await send(ctx, [admin["id"], other, admin["id"]], "Order shipped", dedup_key="job:41:action:0") == 0
    assert await send(ctx, [admin["id"]], "Order shipped", dedup_key="job:42:action:0") == 1
    assert await send(ctx, [admin["id"]], "no key") == 1 and await send(ctx, [admin["id"]], "no key") == 1
    assert (await client.get(INBOX)).json()["unread"] == 4
    assert (await client.get(INBOX, headers=other_headers)).json()["unread"] == 1


async def test_unknown_and_inactive_users_are_skipped_and_long_texts_clipped(client, ctx, admin):
    other, _ = await make_user(ctx, "gone@example.com", "member")
    r = await client.patch(f"/api/v1/admin/users/{other}", json={"active": False})
    assert r.status_code == 200, r.text
    assert await send(ctx, [admin["id"], other, 424242], "x" * 1000, "y" * 20_000) == 1
    item = (await client.get(INBOX)).json()["items"][0]
    assert len(item["title"]) == 300 and item["title"].endswith("…") and len(item["body"]) == 10_000


async def test_a_read_only_token_lists_but_cannot_mark(client, ctx, admin):
    await send(ctx, [admin["id"]], "hello")
    r = await client.post("/api/v1/auth/tokens", json={"name": "ro", "read_only": True})
    assert r.status_code == 201, r.text
    ro = {"Authorization": f"Bearer {r.json()['token']}"}
    page = (await client.get(INBOX, headers=ro)).json()
    assert page["unread"] == 1
    r = await client.post(f"{INBOX}/{page['items'][0]['id']}/read", headers=ro)
    assert r.status_code == 403
    assert (await client.post(f"{INBOX}/read-all", headers=ro)).status_code == 403


async def test_a_token_limited_to_some_apps_sees_only_their_notifications(client, ctx, admin):
    await send(ctx, [admin["id"]], "crm news", app="crm")
    await send(ctx, [admin["id"]], "hr news", app="hr")
    await send(ctx, [admin["id"]], "system news")
    r = await client.post("/api/v1/auth/tokens", json={"name": "crm", "apps": ["crm"]})
    assert r.status_code == 201, r.text
    crm = {"Authorization": f"Bearer {r.json()['token']}"}
    page = (await client.get(INBOX, headers=crm)).json()
    assert [i["title"] for i in page["items"]] == ["crm news"] and page["unread"] == 1
    assert (await client.post(f"{INBOX}/read-all", headers=crm)).json() == {"marked": 1}
    assert (await client.get(INBOX)).json()["unread"] == 2


async def test_created_at_comes_from_the_callers_clock(client, ctx, admin):
    at = ctx.clock.now() - timedelta(days=3)
    async with ctx.db.write() as conn:
        await notify(conn, at, [admin["id"]], "backdated", "")
    item = (await client.get(INBOX)).json()["items"][0]
    assert item["created_at"] == at.isoformat().replace("+00:00", "Z")
