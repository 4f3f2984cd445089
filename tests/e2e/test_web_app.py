"""The generated web app in a real browser (Debian's Chromium) against a real server with the CRM:
sign-in, lists in the viewer's scope, the record form's errors at their fields, conflicts, security."""

from __future__ import annotations

import re

from tests.e2e.conftest import sign_in

REP = "demo.rep1@example.com"
MANAGER = "demo.manager.east@example.com"
DIRECTOR = "demo.director@example.com"
XSS = '<img src=x onerror="window.__xss=1">'


def _total(page) -> int:
    text = page.locator(".tg-pager span").first.inner_text()
    return int(re.sub(r"[^\d]", "", text.split("·")[0]))


def test_a_rep_signs_in_in_chinese_and_sees_the_crm(browser, base_url):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{base_url}/apps/crm/lead")
    assert page.url.startswith(f"{base_url}/login")
    assert page.locator("h1").inner_text() == "登录"
    page.fill("#email", REP)
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    assert "邮箱或密码不正确" in page.locator("[role=alert]").inner_text()
    page.fill("#password", "tangram-demo-2024")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/apps/crm/lead")  # back where they were going
    assert page.locator("h1").inner_text() == "线索"
    assert page.locator("nav.tg-side a[aria-current=page]").inner_text().strip() == "线索"
    context.close()


def test_the_language_switch_is_remembered_for_the_user(browser, base_url):
    page = sign_in(browser, base_url, "demo.rep2@example.com", locale="zh-CN")
    page.goto(f"{base_url}/apps/crm/account")
    page.click(".tg-menu >> nth=-1")
    page.click("text=English")
    assert page.locator("h1").inner_text() == "Account"
    again = sign_in(browser, base_url, "demo.rep2@example.com", locale="zh-CN")  # a new browser, Chinese
    again.goto(f"{base_url}/apps/crm/account")
    assert again.locator("h1").inner_text() == "Account"
    page.context.close()
    again.context.close()


def test_the_manager_sees_only_the_team_in_the_list(browser, base_url):
    """SCENARIOS X2: the list goes through the one scoping function."""
    counts = {}
    for who in (REP, MANAGER, DIRECTOR):
        page = sign_in(browser, base_url, who)
        page.goto(f"{base_url}/apps/crm/opportunity")
        counts[who] = _total(page)
        api = page.request.get(f"{base_url}/api/v1/apps/crm/opportunity?count=true&limit=1").json()["total"]
        assert counts[who] == api
        page.context.close()
    assert 0 < counts[REP] < counts[MANAGER] < counts[DIRECTOR]


def test_search_sort_and_paging(browser, base_url):
    page = sign_in(browser, base_url, DIRECTOR)
    page.goto(f"{base_url}/apps/crm/account")
    total = _total(page)
    page.click("#tg-list >> text=下一页")
    page.wait_for_url(re.compile(r"pages="))
    assert "第 2 页" in page.locator(".tg-pager span").first.inner_text()
    first_name = page.locator(".tg-table tbody tr td.tg-first").first.inner_text().strip()
    page.fill("#tg-q", first_name)
    page.wait_for_url(re.compile(r"q="))
    assert 1 <= _total(page) < total
    assert first_name in page.locator(".tg-table tbody").inner_text()
    page.context.close()


def test_a_new_lead_shows_errors_at_their_fields_then_saves_and_the_scoring_rule_runs(browser, base_url):
    """SCENARIOS R5 (title scoring) through the generated form."""
    page = sign_in(browser, base_url, REP)
    page.goto(f"{base_url}/apps/crm/lead/new")
    page.wait_for_selector("#tg-record[data-ready]")
    page.fill("#f-budget", "lots")
    page.click("[data-action=save]")
    name_error = page.locator("[data-error-for=name]")
    name_error.wait_for(state="visible")
    assert name_error.inner_text() and page.locator("[data-error-for=budget]").inner_text()
    assert page.locator("#f-name").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "f-name"
    page.fill("#f-name", "测试客户 王总")
    page.fill("#f-title", "总经理")
    page.fill("#f-budget", "800000")
    page.fill("#f-email", "wang@e2e.example")
    page.set_input_files("[data-field=business_card] input[type=file]", files=[_card()])
    page.locator("[data-field=business_card] li[data-file-id]").wait_for()  # uploaded before the save
    page.click("[data-action=save]")
    page.wait_for_url(re.compile(r"/apps/crm/lead/\d+"))
    assert page.locator("h1").inner_text() == "测试客户 王总"
    score = page.locator("[data-field=score] [data-value]").text_content().strip()  # in a folded section
    assert int(score) >= 40  # r5_score_title: a decision-maker's title
    assert "已保存" in page.locator("#tg-toast").inner_text()
    thumb = page.locator("[data-field=business_card] img.tg-thumb[src]").first
    thumb.wait_for()
    assert page.request.get(base_url + thumb.get_attribute("src")).headers["content-type"] == "image/png"
    page.context.close()


def _card() -> dict:
    """A real PNG: the business card's photo."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (320, 200), (22, 119, 255)).save(out, format="PNG")
    return {"name": "名片.png", "mimeType": "image/png", "buffer": out.getvalue()}


def test_two_people_editing_one_record_the_second_sees_the_conflict(browser, base_url):
    """SCENARIOS X3: no silent overwrite."""
    first = sign_in(browser, base_url, DIRECTOR)
    rid = first.request.get(f"{base_url}/api/v1/apps/crm/account?limit=1").json()["items"][0]["id"]
    second = sign_in(browser, base_url, DIRECTOR)
    for page in (first, second):
        page.goto(f"{base_url}/apps/crm/account/{rid}?edit=1")
        page.wait_for_selector("#tg-record[data-ready]")
    first.fill("#f-name", "Changed by the first")
    first.click("[data-action=save]")
    first.wait_for_url(re.compile(rf"/apps/crm/account/{rid}$"))
    second.fill("#f-name", "Changed by the second")
    second.click("[data-action=save]")
    banner = second.locator("[data-conflict]")
    banner.wait_for(state="visible")
    assert "Changed by the first" in banner.inner_text()
    second.click("[data-action=keep-mine]")
    second.wait_for_url(re.compile(rf"/apps/crm/account/{rid}$"))
    assert second.locator("h1").inner_text() == "Changed by the second"
    first.context.close()
    second.context.close()


def test_hostile_values_are_shown_as_text_and_never_run(browser, base_url):
    page = sign_in(browser, base_url, REP)
    r = page.request.post(f"{base_url}/api/v1/apps/crm/lead", data={"name": XSS, "company": XSS},
                          headers={"X-CSRF-Token": _csrf(page)})  # fmt: skip
    assert r.status == 201, r.text()
    rid = r.json()["id"]
    for path in (f"/apps/crm/lead/{rid}", f"/apps/crm/lead/{rid}?edit=1", f"/apps/crm/lead?q={XSS[:4]}"):
        page.goto(base_url + path)
        assert page.evaluate("window.__xss") is None
    page.goto(f"{base_url}/apps/crm/lead/{rid}")
    assert page.locator("h1").inner_text() == XSS
    page.context.close()


def _csrf(page) -> str:
    return page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")


def test_a_cross_origin_post_with_the_cookie_is_refused(browser, base_url):
    page = sign_in(browser, base_url, REP)
    page.goto(f"{base_url}/apps/crm/lead")
    forged = page.request.post(
        f"{base_url}/api/v1/apps/crm/lead", data='{"name": "forged"}',
        headers={"Origin": "http://evil.example", "Content-Type": "text/plain", "X-CSRF-Token": _csrf(page)},
    )  # fmt: skip
    assert forged.status == 403
    no_token = page.request.post(f"{base_url}/api/v1/apps/crm/lead", data={"name": "no token"})
    assert no_token.status == 403
    page.context.close()


def test_pages_load_nothing_from_outside_and_send_a_strict_csp(browser, base_url):
    page = sign_in(browser, base_url, REP)
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    for path in ("/", "/apps/crm/lead", "/apps/crm/lead/new", "/me", "/api/docs", "/api/redoc"):
        response = page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
        csp = response.headers["content-security-policy"]
        assert "unsafe-inline" not in csp.split("style-src")[0] and "frame-ancestors 'none'" in csp
    outside = [u for u in seen if not u.startswith(base_url) and not u.startswith("data:")]
    assert seen and outside == []
    assert page.locator(".swagger-ui, redoc, [role=search]").count() >= 0  # loaded above without a CDN
    page.goto(f"{base_url}/api/docs")
    page.wait_for_selector(".swagger-ui .info")  # Swagger UI rendered from the vendored files
    page.context.close()


def test_every_page_fits_a_phone(browser, base_url):
    page = sign_in(browser, base_url, REP, width=375)
    rid = page.request.get(f"{base_url}/api/v1/apps/crm/opportunity?limit=1").json()["items"][0]["id"]
    for path in ("/", "/apps/crm/opportunity", f"/apps/crm/opportunity/{rid}", f"/apps/crm/opportunity/{rid}?edit=1",
                 "/apps/crm/lead/new", "/apps/crm/lead/trash", "/me"):  # fmt: skip
        page.goto(base_url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    page.goto(f"{base_url}/apps/crm/opportunity")
    assert not page.locator(".tg-table thead").is_visible()  # rows are cards
    page.goto(f"{base_url}/apps/crm/opportunity/{rid}?edit=1")
    bar = page.locator(".tg-actionbar").bounding_box()
    assert bar and bar["y"] + bar["height"] <= 900 + 1  # the save bar stays on screen
    page.context.close()


def test_form_rules_show_hide_and_require_fields_live_and_the_server_agrees(browser, base_url):
    """The CRM lead form's rules (SCENARIOS F3): the conversion section appears when the status is
    converted and then needs its account; an event lead needs a budget. The browser shows it as the user
    types; the server refuses the same record at the same fields."""
    page = sign_in(browser, base_url, REP)
    page.goto(f"{base_url}/apps/crm/lead/new")
    page.wait_for_selector("#tg-record[data-ready]")
    conversion = page.locator("[data-field=converted_account]")
    assert not conversion.is_visible()
    page.select_option("#f-status", "converted")
    conversion.wait_for(state="visible")
    assert conversion.locator(".tg-required").is_visible()
    budget_mark = page.locator("[data-field=budget] .tg-required")
    assert not budget_mark.is_visible()
    page.select_option("#f-source", "event")
    budget_mark.wait_for(state="visible")
    page.fill("#f-name", "活动线索")
    page.click("[data-action=save]")
    page.locator("[data-error-for=budget]").filter(has_text=re.compile(".+")).wait_for()
    assert page.locator("[data-error-for=converted_account]").inner_text()
    page.select_option("#f-status", "new")
    conversion.wait_for(state="hidden")
    page.fill("#f-budget", "120000")
    page.click("[data-action=save]")
    page.wait_for_url(re.compile(r"/apps/crm/lead/\d+$"))
    assert page.locator("[data-field=budget] [data-value]").inner_text().replace(",", "").find("120000") >= 0
    page.context.close()


def test_hostile_labels_options_and_help_never_run(browser, base_url):
    """User-authored definitions are data too: an app, entity, field, option and help text carrying
    markup are shown as text on every page that draws them, the filter builder's options included."""
    from tests.e2e.server import ADMIN

    page = sign_in(browser, base_url, ADMIN[0], password=ADMIN[1])
    headers = {"X-CSRF-Token": _csrf(page)}
    label = {"zh-CN": XSS, "en": XSS}
    assert page.request.post(f"{base_url}/api/v1/meta/apps", data={"key": "xss", "label": label}, headers=headers).ok
    entity = {
        "key": "thing", "label": label, "display_field": "name",
        "fields": [
            {"key": "name", "type": "text", "label": label, "help_text": label},
            {"key": "kind", "type": "select", "label": label, "options": [{"key": "a", "label": label, "color": "#ff0000"}]},
        ],
    }  # fmt: skip
    assert page.request.post(f"{base_url}/api/v1/meta/apps/xss/entities", data=entity, headers=headers).ok
    r = page.request.post(f"{base_url}/api/v1/apps/xss/thing", data={"name": XSS, "kind": "a"}, headers=headers)
    rid = r.json()["id"]
    for path in ("/", "/apps/xss/thing", f"/apps/xss/thing/{rid}", f"/apps/xss/thing/{rid}?edit=1", "/apps/xss/thing/new",
                 "/apps/xss/thing#filter"):  # fmt: skip
        page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__xss") is None, path
    assert XSS in page.locator("#tg-filter-dialog").inner_text() or XSS in page.locator("body").inner_text()
    page.goto(f"{base_url}/apps/xss/thing/{rid}")
    assert page.locator("h1").inner_text() == XSS
    assert page.locator("[data-field=kind] .tg-tag").inner_text().strip() == XSS
    page.context.close()
