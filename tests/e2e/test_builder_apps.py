"""Apps in the builder, in a real browser: an administrator creates "HR" / 人事 (key ren_shi proposed, edited
to hr), picks icon and colour, opens it to the member role, renames it, exports it, re-installs it from the
zip with the plan shown first, deletes it and restores it; a non-admin app builder sees only their apps; an
XSS payload in an app's label never runs. Screenshots go to $TANGRAM_SHOTS when it is set."""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

from tests.e2e.conftest import sign_in
from tests.e2e.server import ADMIN

MEMBER = "demo.warehouse@example.com"  # no role in the demo: given the built-in member role below
BUILDER = "demo.rep2@example.com"  # a sales rep, given the built-in builder role below
LEAVE = {"key": "leave", "label": {"en": "Leave request", "zh-CN": "请假申请"},
         "fields": [{"key": "reason", "type": "text", "label": {"en": "Reason", "zh-CN": "事由"}}]}  # fmt: skip


def _shot(page, name: str) -> None:
    folder = os.environ.get("TANGRAM_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # from the top: the sticky top bar would land mid-page otherwise
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _csrf(page) -> dict[str, str]:
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
    return {"X-CSRF-Token": token, "Origin": page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2]}


def _send(page, method: str, url: str, body: object):
    """A JSON call to the API from the signed-in page (its cookie, CSRF token and Origin)."""
    headers = _csrf(page) | {"Content-Type": "application/json"}
    return page.request.fetch(url, method=method, data=json.dumps(body), headers=headers)


def _admin(browser, base_url: str, locale: str = "zh-CN", width: int = 1280):
    return sign_in(browser, base_url, ADMIN[0], locale, width, password=ADMIN[1])


def _set_roles(page, base_url: str, email: str, roles: list[str]) -> None:
    users = page.request.get(f"{base_url}/api/v1/admin/users?limit=1000").json()["items"]
    uid = next(u["id"] for u in users if u["email"] == email)
    r = _send(page, "PUT", f"{base_url}/api/v1/admin/users/{uid}/roles", {"roles": roles})
    assert r.status == 200, r.text()


def _build(page, base_url: str) -> None:
    page.goto(f"{base_url}/build")
    page.wait_for_selector("#tg-build-home[data-ready]")


def _settings(page, base_url: str, app: str) -> None:
    page.goto(f"{base_url}/build/apps/{app}/settings")
    page.wait_for_selector("#tg-app-settings[data-ready]")


def _launcher_apps(page, base_url: str) -> list[str]:
    page.goto(f"{base_url}/")
    return page.locator(".tg-app h2").all_inner_texts()


def test_an_admin_creates_opens_renames_exports_reinstalls_deletes_and_restores_an_app(browser, base_url, tmp_path):
    page = _admin(browser, base_url)
    _build(page, base_url)
    page.click("[data-app-new]")
    dialog = page.locator("#tg-app-new-dialog")
    dialog.locator("#new-label-zh").fill("人事")
    key = dialog.locator("#new-key")
    expect_value(key, "ren_shi")  # proposed from the name as it is typed (pinyin)
    dialog.locator("#new-label-en").fill("HR")
    assert key.input_value() == "ren_shi"  # from the Chinese name; typing English does not change it
    # A taken key is refused by the engine, shown at the key field; nothing is created.
    key.fill("crm")
    dialog.locator("label[title=user-group]").click()
    dialog.locator("label[title=青色]").click()
    _shot(page, "builder-apps-new-zh-1280")
    dialog.locator("[data-app-create]").click()
    error = dialog.locator("[data-path='/key'] .tg-error")
    expect_text(error, "crm")
    assert dialog.locator("[data-path='/key']").get_attribute("class").count("has-error") == 1
    key.fill("hr")
    assert error.inner_text() == ""  # typing clears the field's error
    dialog.locator("[data-app-create]").click()
    page.wait_for_url(f"{base_url}/build/apps/hr/settings")
    page.wait_for_selector("#tg-app-settings[data-ready]")
    app = page.request.get(f"{base_url}/api/v1/meta/apps/hr").json()
    assert (app["label"], app["icon"], app["color"]) == ({"zh-CN": "人事", "en": "HR"}, "user-group", "#13a8a8")
    assert page.locator(".tg-page-head .tg-app-icon").get_attribute("data-app-color") == "#13a8a8"

    # A form in the app (the entity designer is another page): through the meta API.
    r = _send(page, "POST", f"{base_url}/api/v1/meta/apps/hr/entities", LEAVE)
    assert r.status == 201, r.text()
    _set_roles(page, base_url, MEMBER, ["member"])

    # Who may use the app: close it to members, then open it to them again, in words.
    _settings(page, base_url, "hr")
    assert page.locator("#tg-app-settings [data-key-source]").count() == 2
    assert page.locator("#edit-key").get_attribute("readonly") is not None  # a published form fixes the key
    member_row = page.locator("#tg-access tr[data-role=member]")
    assert member_row.locator("select").input_value() == "own"
    assert "来自该角色对所有应用的权限" in member_row.inner_text()
    member_row.locator("select").select_option("none")
    expect_text(member_row.locator("[data-access-words]"), "不能打开此应用")
    member = sign_in(browser, base_url, MEMBER)
    assert "人事" not in _launcher_apps(member, base_url)
    member_row.locator("select").select_option("own")
    expect_text(member_row.locator("[data-access-words]"), "自己负责的数据")
    grants = page.request.get(f"{base_url}/api/v1/admin/roles/member").json()["definition"]["grants"]
    [hr] = [g for g in grants if g["entity"] == "hr.*"]
    assert (hr["read"], hr["create"], hr["update"], hr["manage"]) == ("own", True, "own", False)
    assert "人事" in _launcher_apps(member, base_url)
    assert member.locator(".tg-app", has_text="人事").locator(".tg-app-icon").get_attribute("data-app-color") == "#13a8a8"
    # A team: the sales department (and so its sub-teams, e.g. rep1's Sales East) may view all of it.
    rep = sign_in(browser, base_url, "demo.rep1@example.com")
    assert "人事" not in _launcher_apps(rep, base_url)
    add = page.locator("[data-team-add]")
    add.locator("select[name=team]").select_option("crm_sales")
    add.locator("select[name=preset]").select_option("read")
    add.locator("button").click()
    team_row = page.locator("#tg-team-access tr[data-team=crm_sales]")
    expect_text(team_row, "销售部")
    assert team_row.locator("select").input_value() == "read"
    assert "人事" in _launcher_apps(rep, base_url)
    rep.context.close()
    page.wait_for_selector("#tg-app-settings[data-ready]")
    _shot(page, "builder-apps-settings-zh-1280")

    # Rename: labels, description and colour; the page, /build and the launcher show the new name.
    page.fill("#edit-label-zh", "人力资源")
    page.fill("#edit-label-en", "People")
    page.fill("#edit-desc-zh", "请假、入职与员工档案")
    page.locator("#tg-app-settings label[title=紫色]").click()
    page.locator("[data-app-edit] button[type=submit]").click()
    page.wait_for_selector("#tg-app-settings[data-ready] h1:has-text('人力资源')")
    assert page.locator(".tg-page-head .tg-app-icon").get_attribute("data-app-color") == "#531dab"
    assert "人力资源" in _launcher_apps(member, base_url)

    # Export as a zip.
    _settings(page, base_url, "hr")
    with page.expect_download() as download:
        page.click("[data-app-export]")
    path = tmp_path / "hr.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert sorted(z.namelist()) == ["entities/leave.json", "manifest.json"]
    assert (manifest["key"], manifest["name"]["zh-CN"], manifest["color"]) == ("hr", "人力资源", "#531dab")

    # Re-install from the zip: refused as it is (the app was built here), then the plan, then Install.
    _build(page, base_url)
    page.click("[data-package-open]")
    package = page.locator("#tg-package")
    package.locator("input[type=file]").set_input_files(str(path))
    expect_text(package.locator("[data-package-status]"), "not installed from a package")
    assert package.locator("[data-package-go]").is_disabled()
    package.locator("[data-package-force] input").check()
    expect_text(package.locator("[data-package-status]"), "不会写入任何内容")  # nothing is written before the button
    rows = package.locator(".tg-plan-table tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-action") == "unchanged"
    assert "entities/leave.json" in rows.first.inner_text()
    _shot(page, "builder-apps-install-plan-zh-1280")
    package.locator("[data-package-go]").click()
    page.wait_for_url(f"{base_url}/build/apps/hr/settings")
    expect_text(page.locator("#tg-package-sec-title + p"), "0.1.0")

    # Delete to the recycle bin, after typing the app's name; then restore.
    page.wait_for_selector("#tg-app-settings[data-ready]")
    page.click("[data-app-delete]")
    confirm = page.locator("#tg-app-delete-dialog")
    confirm.locator("input").fill("人事")
    assert confirm.locator("[data-delete-go]").is_disabled()
    confirm.locator("input").fill("人力资源")
    confirm.locator("[data-delete-go]").click()
    page.wait_for_url(f"{base_url}/build")
    page.wait_for_selector("#tg-build-home[data-ready]")
    assert page.locator("#tg-build-apps [data-app=hr]").count() == 0
    assert "人力资源" in page.locator("#tg-app-bin").inner_text()
    assert "人力资源" not in _launcher_apps(member, base_url)
    assert page.request.get(f"{base_url}/api/v1/apps/hr/leave").status == 404
    _build(page, base_url)
    _shot(page, "builder-apps-bin-zh-1280")
    page.click("[data-app-restore=hr]")
    page.wait_for_selector("#tg-build-apps [data-app=hr]")
    assert page.locator("#tg-app-bin").count() == 0
    assert "人力资源" in _launcher_apps(member, base_url)
    page.context.close()
    member.context.close()


def test_a_builder_sees_and_manages_only_their_own_apps(browser, base_url):
    admin = _admin(browser, base_url, "en")
    _set_roles(admin, base_url, BUILDER, ["crm_sales_rep", "builder"])
    admin.context.close()
    page = sign_in(browser, base_url, BUILDER, "en")
    _build(page, base_url)
    assert page.locator("#tg-build-apps").count() == 0  # the CRM is not theirs to build
    assert page.locator("[data-package-open]").count() == 0  # installing packages: administrators
    page.click("[data-app-new]")
    page.fill("#new-label-en", "Travel")
    expect_value(page.locator("#new-key"), "travel")
    page.locator("#tg-app-new-dialog label[title=truck]").click()
    page.locator("#tg-app-new-dialog [data-app-create]").click()
    page.wait_for_url(f"{base_url}/build/apps/travel/settings")
    _build(page, base_url)
    assert page.locator("#tg-build-apps [data-app]").evaluate_all("els => els.map(e => e.dataset.app)") == ["travel"]
    r = page.request.get(f"{base_url}/build/apps/crm/settings")
    assert r.status == 403
    denied = _send(page, "PATCH", f"{base_url}/api/v1/meta/apps/crm", {"icon": "truck"})
    assert denied.status == 403
    _settings(page, base_url, "travel")
    roles = page.locator("#tg-access tbody tr").evaluate_all("els => els.map(e => e.dataset.role)")
    assert "travel_managers" in roles and "member" in roles
    assert page.locator("#tg-access tr[data-role=travel_managers] select").input_value() == "manage"
    page.context.close()


def test_pages_at_phone_width_and_in_english(browser, base_url):
    page = _admin(browser, base_url, "en", 375)
    _build(page, base_url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(page, "builder-apps-home-en-375")
    page.click("[data-app-new]")
    page.fill("#new-label-en", "Purchasing")
    expect_value(page.locator("#new-key"), "purchasing")
    _shot(page, "builder-apps-new-en-375")
    page.keyboard.press("Escape")
    _settings(page, base_url, "crm")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("#tg-access tr[data-role=member] select").is_visible()
    _shot(page, "builder-apps-settings-en-375")
    page.context.close()
    page = _admin(browser, base_url, "en", 1280)
    _build(page, base_url)
    _shot(page, "builder-apps-home-en-1280")
    _settings(page, base_url, "crm")
    _shot(page, "builder-apps-settings-en-1280")
    page.context.close()
    page = _admin(browser, base_url, "zh-CN", 375)
    _build(page, base_url)
    _shot(page, "builder-apps-home-zh-375")
    page.context.close()


def test_an_xss_payload_in_an_app_label_never_runs(browser, base_url):
    page = _admin(browser, base_url, "en")
    _build(page, base_url)
    evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    body = {"key": "evil", "label": {"en": evil, "zh-CN": evil}, "description": {"en": evil}, "icon": "bug-ant"}
    bad = _send(page, "POST", f"{base_url}/api/v1/meta/apps", body)
    assert bad.status == 422 and bad.json()["errors"][0]["path"] == "/icon"
    body["icon"] = "star"
    r = _send(page, "POST", f"{base_url}/api/v1/meta/apps", body)
    assert r.status == 201, r.text()
    r = _send(page, "POST", f"{base_url}/api/v1/meta/apps/evil/entities", LEAVE)
    assert r.status == 201
    for url in ("/build", "/build/apps/evil/settings", "/"):
        page.goto(f"{base_url}{url}")
        page.wait_for_load_state("load")
        assert evil in page.content().replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"').replace("&quot;", '"')
        assert page.evaluate("window.__xss") is None
    page.goto(f"{base_url}/build/apps/evil/settings")
    page.wait_for_selector("#tg-app-settings[data-ready]")
    page.click("[data-app-delete]")
    assert page.locator("#tg-app-delete-title").inner_text().startswith("Delete “<img")
    assert page.evaluate("window.__xss") is None
    page.context.close()


def expect_value(locator, value: str) -> None:
    """Wait (Playwright's own retrying assertion) until an input holds `value`."""
    from playwright.sync_api import expect

    expect(locator).to_have_value(value)


def expect_text(locator, text: str) -> None:
    from playwright.sync_api import expect

    expect(locator).to_contain_text(re.compile(text))


def test_the_apps_pages_have_no_serious_accessibility_violation(browser, base_url):
    from tests.e2e.test_accessibility import axe_results, severe

    found = {}
    for width in (1280, 375):
        page = sign_in(browser, base_url, ADMIN[0], "zh-CN", width, password=ADMIN[1], bypass_csp=True)
        _build(page, base_url)
        found[f"build-{width}"] = severe(axe_results(page))
        page.click("[data-app-new]")
        found[f"new-app-{width}"] = severe(axe_results(page))
        _settings(page, base_url, "crm")
        found[f"settings-{width}"] = severe(axe_results(page))
        page.context.close()
    assert found == {name: [] for name in found}
