"""Publishing a public form in the builder (F1 for implementers), with no JSON typed: the CRM's lead form
published with an owner, a daily cap and a status field; its link opens for an anonymous visitor; closing it
makes the link a 404; a refusal (a malformed embedding site) is shown at its field."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.server import ADMIN

PAGE = "/build/apps/crm/public-forms"


def test_f1_an_implementer_publishes_changes_and_closes_a_public_form(browser, base_url):
    admin = sign_in(browser, base_url, ADMIN[0], "zh-CN", 1280, password=ADMIN[1])
    admin.goto(f"{base_url}{PAGE}")
    admin.wait_for_selector("#tg-public-forms[data-ready]")
    admin.select_option("#pf-form", "lead")
    admin.fill("#pf-owner", "demo.rep1")
    admin.locator("#pf-owner-list li", has_text="demo.rep1@").click()
    admin.fill("#pf-origins", "not a website")
    admin.click("[data-form-submit]")
    expect(admin.locator("[data-error-for=origins]")).not_to_be_empty()  # the engine's refusal, at the field
    admin.fill("#pf-origins", "https://www.example.com")
    admin.fill("#pf-cap", "50")
    admin.locator("[data-status-for=lead] input[value=status]").check()
    admin.click("[data-form-submit]")
    item = admin.locator("[data-public-form]").last
    expect(item).to_contain_text("每天最多 50 份")
    link = item.locator("input[data-copy-source]").first.input_value()
    assert link.startswith(f"{base_url}/f/")

    visitor = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 800}).new_page()
    response = visitor.goto(link)
    assert response.status == 200 and "frame-ancestors https://www.example.com" in response.headers["content-security-policy"]
    visitor.wait_for_selector("#tg-public-form[data-ready]")

    item.locator("[data-edit-public]").click()  # change it: the form comes back filled
    expect(admin.locator("#pf-cap")).to_have_value("50")
    expect(admin.locator("[data-status-for=lead] input[value=status]")).to_be_checked()
    admin.fill("#pf-cap", "80")
    admin.click("[data-form-submit]")
    expect(admin.locator("[data-public-form]").last).to_contain_text("每天最多 80 份")
    admin.locator("[data-public-form]").last.locator("[data-toggle-public]").click()
    expect(admin.locator("[data-public-form]").last).to_contain_text("已关闭")
    assert visitor.goto(link).status == 404  # a closed form is simply not found
    visitor.context.close()
    admin.context.close()


def test_the_public_forms_page_fits_a_phone_and_is_for_builders_only(browser, base_url):
    admin = sign_in(browser, base_url, ADMIN[0], "en", 375, password=ADMIN[1])
    admin.goto(f"{base_url}{PAGE}")
    admin.wait_for_selector("#tg-public-forms[data-ready]")
    assert admin.evaluate("document.documentElement.scrollWidth") <= 375
    admin.context.close()
    rep = sign_in(browser, base_url, "demo.rep1@example.com", "en")
    assert rep.goto(f"{base_url}{PAGE}").status == 403
    rep.context.close()
