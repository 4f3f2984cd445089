"""Sharing a record from its page (SCENARIOS X2) and merging duplicates on the merge page (R13), in a real
browser against a real server with the CRM; every write goes through the REST API, checked there."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

REP1 = "demo.rep1@example.com"
REP2 = "demo.rep2@example.com"
MANAGER = "demo.manager.east@example.com"
LEADS = "/api/v1/apps/crm/lead"
XSS = '<img src=x onerror="window.__xss=1">'


def _csrf(page) -> dict[str, str]:
    return {"X-CSRF-Token": page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")}


def _create(page, base_url: str, path: str, body: dict) -> dict:
    r = page.request.post(f"{base_url}{path}", data=body, headers=_csrf(page))
    assert r.status == 201, r.text()
    return r.json()


def _listed(page, base_url: str, name: str) -> bool:
    page.goto(f"{base_url}/apps/crm/lead?q={name}")
    return name in page.locator("#tg-list").inner_text()


def test_a_rep_shares_a_lead_with_another_rep_who_sees_it_until_the_share_is_removed(browser, base_url):
    """X2: a share widens the other rep's scope (list and API alike); a view share does not let them share."""
    owner = sign_in(browser, base_url, REP1)
    other = sign_in(browser, base_url, REP2)
    lead = _create(owner, base_url, LEADS, {"name": "共享线索 E2E", "company": "共享测试公司"})
    assert other.request.get(f"{base_url}{LEADS}/{lead['id']}").status == 404
    assert not _listed(other, base_url, "共享线索 E2E")

    owner.goto(f"{base_url}/apps/crm/lead/{lead['id']}")
    owner.click("[data-share-open]")
    dialog = owner.locator("#tg-share")
    assert dialog.get_attribute("open") is not None
    dialog.locator("[data-share-list]").get_by_text("尚未共享给任何人").wait_for()
    owner.fill("#tg-share-user", "demo.rep2")
    expect(owner.locator("#tg-share-user-list li")).to_have_count(1)  # the search answered
    owner.keyboard.press("ArrowDown")  # the keyboard picks the person
    owner.keyboard.press("Enter")
    dialog.get_by_role("button", name="添加").click()
    dialog.locator("[data-share-list] li", has_text=REP2).wait_for()
    assert "已共享给" in dialog.locator("[data-share-status]").inner_text()

    assert _listed(other, base_url, "共享线索 E2E")
    assert other.request.get(f"{base_url}{LEADS}/{lead['id']}").json()["name"] == "共享线索 E2E"
    shares = other.request.get(f"{base_url}{LEADS}/{lead['id']}/shares").json()["items"]
    assert [(s["user_email"], s["can_edit"]) for s in shares] == [(REP2, False)]
    other.goto(f"{base_url}/apps/crm/lead/{lead['id']}")
    assert other.locator("h1").inner_text() == "共享线索 E2E"
    assert other.locator("[data-share-open]").count() == 0  # may view, may not share: no button

    owner.keyboard.press("Escape")
    assert dialog.get_attribute("open") is None
    assert owner.evaluate("document.activeElement.hasAttribute('data-share-open')")  # focus back on Share
    owner.click("[data-share-open]")
    row = dialog.locator("[data-share-list] li", has_text=REP2)
    row.get_by_role("button").click()
    dialog.locator("[data-share-list]").get_by_text("尚未共享给任何人").wait_for()
    assert owner.request.get(f"{base_url}{LEADS}/{lead['id']}/shares").json()["items"] == []
    assert other.request.get(f"{base_url}{LEADS}/{lead['id']}").status == 404
    assert not _listed(other, base_url, "共享线索 E2E")
    owner.context.close()
    other.context.close()


def test_a_share_refused_by_the_api_is_explained_in_the_dialog(browser, base_url):
    page = sign_in(browser, base_url, REP1, locale="en")
    lead = _create(page, base_url, LEADS, {"name": "Refused share"})
    page.goto(f"{base_url}/apps/crm/lead/{lead['id']}")
    page.click("[data-share-open]")
    page.locator("#tg-share").get_by_role("button", name="Add").click()
    assert page.locator("[data-share-error]").inner_text() == "Choose a person from the list."
    page.evaluate("document.querySelector('#tg-share input[name=user_id]').value = '999999'")  # a stale choice
    page.locator("#tg-share").get_by_role("button", name="Add").click()
    page.locator("[data-share-error]", has_text="there is no user 999999").wait_for()
    assert page.request.get(f"{base_url}{LEADS}/{lead['id']}/shares").json()["items"] == []
    page.context.close()


def test_two_duplicate_leads_are_merged_with_values_from_both_then_the_merge_is_undone(browser, base_url):
    """R13: the save warns, the banner links the merge page; the merge re-points the task; undo puts it back."""
    page = sign_in(browser, base_url, MANAGER)
    first = _create(
        page, base_url, LEADS, {"name": "合并甲", "company": "甲公司", "email": "merge.e2e@example.cn", "phone": "13900139000"}
    )
    page.goto(f"{base_url}/apps/crm/lead/new")
    page.fill("#f-name", "合并乙 Wang")
    page.fill("#f-company", "甲公司有限公司")
    page.fill("#f-title", "采购总监")
    page.fill("#f-email", "Merge.E2E@example.cn")
    page.click("[data-action=save]")
    page.wait_for_url(re.compile(r"/apps/crm/lead/\d+\?duplicates="))
    second_id = int(re.search(r"/lead/(\d+)", page.url).group(1))
    task = _create(page, base_url, "/api/v1/apps/crm/task", {"title": "跟进合并乙", "lead": second_id})

    page.click("text=合并…")
    page.wait_for_url(re.compile(rf"/apps/crm/lead/merge\?ids={first['id']},{second_id}$"))
    assert page.locator("input[name=survivor]:checked").get_attribute("value") == str(first["id"])
    name_row = page.locator("[data-merge-field=name]")
    assert name_row.locator("[data-merge-result]").inner_text() == "合并甲"  # the engine's default: the survivor's
    name_row.locator(f"[data-record='{second_id}']").click()
    page.locator(f"[data-merge-field=title] [data-record='{second_id}']").click()
    assert name_row.locator("[data-merge-result]").inner_text() == "合并乙 Wang"  # the preview follows
    page.click("[data-action=merge]")
    done = page.locator("[data-merge-done]")
    done.wait_for(state="visible")
    moved = re.search(r"(\d+) 条关联记录", done.inner_text())
    assert moved and int(moved.group(1)) >= 1  # the task, and whatever rules linked to the lead

    kept = page.request.get(f"{base_url}{LEADS}/{first['id']}").json()
    assert (kept["name"], kept["title"], kept["company"], kept["phone"]) == ("合并乙 Wang", "采购总监", "甲公司", "13900139000")
    assert page.request.get(f"{base_url}{LEADS}/{second_id}").status == 404
    assert page.request.get(f"{base_url}/api/v1/apps/crm/task/{task['id']}").json()["lead"] == first["id"]
    assert done.locator("[data-merge-survivor]").get_attribute("href") == f"/apps/crm/lead/{first['id']}"

    done.get_by_role("button", name="撤销").click()
    done.get_by_text("已撤销合并").wait_for()
    assert page.request.get(f"{base_url}{LEADS}/{first['id']}").json()["name"] == "合并甲"
    assert page.request.get(f"{base_url}{LEADS}/{second_id}").json()["name"] == "合并乙 Wang"
    assert page.request.get(f"{base_url}/api/v1/apps/crm/task/{task['id']}").json()["lead"] == second_id
    page.context.close()


def test_a_merge_the_api_refuses_shows_its_reason_and_changes_nothing(browser, base_url):
    """A rep may not delete leads, so may not merge them: the 403's detail lands in the page."""
    page = sign_in(browser, base_url, REP1, locale="en")
    a = _create(page, base_url, LEADS, {"name": XSS, "email": "refused.merge@example.cn"})
    b = _create(page, base_url, LEADS, {"name": "Refused merge", "email": "refused.merge@example.cn"})
    page.goto(f"{base_url}/apps/crm/lead/merge?ids={a['id']},{b['id']}")
    assert XSS in page.locator(".tg-merge-records").inner_text()  # shown as text, also in the preview
    assert page.locator(".tg-merge img").count() == 0
    page.click("[data-action=merge]")
    error = page.locator("[data-merge-error]")
    error.wait_for(state="visible")
    assert "you may not delete lead record(s)" in error.inner_text()
    assert page.evaluate("window.__xss") is None
    for rid, name in ((a["id"], XSS), (b["id"], "Refused merge")):
        assert page.request.get(f"{base_url}{LEADS}/{rid}").json()["name"] == name
    page.context.close()


def test_the_merge_page_refuses_bad_ids(browser, base_url):
    page = sign_in(browser, base_url, REP1, locale="en")
    mine = _create(page, base_url, LEADS, {"name": "Mine to merge"})["id"]
    director = sign_in(browser, base_url, "demo.director@example.com")
    theirs = _create(director, base_url, LEADS, {"name": "Not the rep's"})["id"]
    director.context.close()
    for ids, status in (
        ("", 400), ("abc", 400), (str(mine), 400), (f"{mine},{mine}", 400), ("1,-2", 400), (f"{mine},{2**63}", 400),
        (",".join(str(i) for i in range(1, 60)), 400), (f"{mine},{theirs}", 404), ("1" * 1200, 422),
        (f"{mine},<script>window.__xss=1</script>", 400),
    ):  # fmt: skip
        response = page.goto(f"{base_url}/apps/crm/lead/merge?ids={ids}")
        assert response.status == status, (ids, response.status)
        assert page.evaluate("window.__xss") is None
    assert page.request.get(f"{base_url}{LEADS}/{mine}").json()["name"] == "Mine to merge"
    page.context.close()


def test_the_share_dialog_and_the_merge_page_fit_a_phone(browser, base_url):
    page = sign_in(browser, base_url, MANAGER, width=375)
    a = _create(page, base_url, LEADS, {"name": "手机合并甲 " + "很长的名字" * 8, "email": "phone.merge@example.cn"})
    b = _create(page, base_url, LEADS, {"name": "手机合并乙", "email": "phone.merge@example.cn", "company": "某某" * 30})
    page.goto(f"{base_url}/apps/crm/lead/{a['id']}")
    page.click("[data-share-open]")
    page.locator("#tg-share [data-share-list] li").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    box = page.locator("#tg-share").bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375
    page.goto(f"{base_url}/apps/crm/lead/merge?ids={a['id']},{b['id']}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    merge = page.locator("[data-action=merge]").bounding_box()
    assert merge and merge["y"] + merge["height"] <= 900 + 1  # the merge button stays on screen
    page.context.close()
