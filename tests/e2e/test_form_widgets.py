"""Line-item grids and attachment uploads in the record form, in a real browser against the CRM: a quote
saved with its lines in one save (F4), a bad line refused at its row with nothing saved, an image attached
to an opportunity (P5) and refusals shown at the field; both at 375 px."""

from __future__ import annotations

import io
import json
import re

from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

REP = "demo.rep1@example.com"
XSS = '<img src=x onerror="window.__xss=1">'


def _csrf(page) -> str:
    return page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")


def _first(page, base_url: str, entity: str) -> dict:
    return page.request.get(f"{base_url}/api/v1/apps/crm/{entity}?limit=1").json()["items"][0]


def _quotes_of(page, base_url: str, opportunity: int) -> int:
    flt = json.dumps({"field": "opportunity", "op": "eq", "value": opportunity})
    return page.request.get(f"{base_url}/api/v1/apps/crm/quote", params={"filter": flt, "count": "true"}).json()["total"]


def _pick(page, input_id: str, text: str) -> None:
    """Type into a relation picker and choose the record named `text`."""
    page.fill(f"#{input_id}", text)
    page.locator(f"#{input_id}-list").get_by_role("option", name=text, exact=True).first.click()


def _line(page, row: str, product: str, quantity: str, price: str) -> None:
    _pick(page, f"l-lines-{row}-product", product)
    page.fill(f"#l-lines-{row}-quantity", quantity)
    page.fill(f"#l-lines-{row}-unit_price", price)


def _png(name: str, size: int = 64) -> dict:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (22, 119, 255)).save(out, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


def test_a_quote_is_saved_with_three_lines_in_one_save_and_shows_its_recomputed_total(browser, base_url):
    """SCENARIOS F4: a quote with a discount and line items, from the generated form."""
    page = sign_in(browser, base_url, REP)
    opportunity = _first(page, base_url, "opportunity")["id"]
    product = _first(page, base_url, "product")["name"]
    page.goto(f"{base_url}/apps/crm/quote/new?opportunity={opportunity}")
    page.wait_for_selector("#tg-record[data-ready]")  # the grid and widgets are wired
    _line(page, "n0", product, "2", "100")  # the new form opens with one empty line
    page.click("[data-action=add-line]")
    _line(page, "n1", product, "1", "50")
    page.click("[data-action=add-line]")
    page.click("[data-action=add-line]")  # a third row left blank is no line
    _line(page, "n2", product, "3", "10")
    page.fill("#f-discount", "5")
    page.click("[data-action=save]")
    page.wait_for_url(re.compile(r"/apps/crm/quote/\d+$"))
    rid = int(page.url.rsplit("/", 1)[1])
    rows = page.locator("[data-lines=lines] tbody tr")
    assert rows.count() == 3
    assert product in rows.first.inner_text()  # the relation shown by name
    assert "266.00" in page.locator("[data-field=total] [data-value]").inner_text()  # (200 + 50 + 30) * 95%
    assert "280.00" in page.locator("[data-field=subtotal] [data-value]").inner_text()
    saved = page.request.get(f"{base_url}/api/v1/apps/crm/quote/{rid}?lines=true").json()
    assert [(x["quantity"], x["unit_price"]) for x in saved["lines"]] == [(2, 100), (1, 50), (3, 10)]
    assert float(saved["total"]) == 266
    page.context.close()


def test_a_bad_line_is_shown_at_its_row_and_nothing_is_saved(browser, base_url):
    page = sign_in(browser, base_url, REP)
    opportunity = _first(page, base_url, "opportunity")["id"]
    product = _first(page, base_url, "product")["name"]
    before = _quotes_of(page, base_url, opportunity)
    page.goto(f"{base_url}/apps/crm/quote/new?opportunity={opportunity}")
    page.wait_for_selector("#tg-record[data-ready]")  # the grid and widgets are wired
    _line(page, "n0", product, "1", "100")
    page.click("[data-action=add-line]")
    _line(page, "n1", product, "-2", "100")
    page.click("[data-action=save]")
    slot = page.locator("#l-lines-n1-quantity-err")
    slot.wait_for(state="visible")
    assert slot.inner_text()
    assert page.locator("#l-lines-n0-quantity-err").inner_text() == ""  # the good row is not marked
    assert page.locator("#l-lines-n1-quantity").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "l-lines-n1-quantity"
    assert "第 2 行" in page.locator("[data-form-error]").inner_text()
    assert _quotes_of(page, base_url, opportunity) == before  # nothing saved, the quote included
    page.fill("#l-lines-n1-quantity", "2")
    page.click("[data-action=save]")
    page.wait_for_url(re.compile(r"/apps/crm/quote/\d+$"))
    assert _quotes_of(page, base_url, opportunity) == before + 1
    page.context.close()


def test_an_edit_removes_one_line_and_changes_another(browser, base_url):
    page = sign_in(browser, base_url, REP, locale="en")
    opportunity = _first(page, base_url, "opportunity")["id"]
    product = _first(page, base_url, "product")["id"]
    lines = [{"product": product, "quantity": q, "unit_price": "10"} for q in (1, 2, 3)]
    r = page.request.post(f"{base_url}/api/v1/apps/crm/quote", data={"opportunity": opportunity, "lines": lines},
                          headers={"X-CSRF-Token": _csrf(page)})  # fmt: skip
    assert r.status == 201, r.text()
    rid, ids = r.json()["id"], [x["id"] for x in r.json()["lines"]]
    page.goto(f"{base_url}/apps/crm/quote/{rid}?edit=1")
    page.wait_for_selector("#tg-record[data-ready]")  # the grid and widgets are wired
    rows = page.locator("[data-lines-grid] [data-line]")
    assert rows.count() == 3
    rows.nth(1).locator("[data-action=remove-line]").click()
    assert rows.count() == 2 and page.locator("[data-line-count]").inner_text() == "2"
    page.fill("#l-lines-0-quantity", "5")
    page.click("[data-action=save]")
    page.wait_for_url(re.compile(rf"/apps/crm/quote/{rid}$"))
    saved = page.request.get(f"{base_url}/api/v1/apps/crm/quote/{rid}?lines=true").json()
    assert [(x["id"], x["quantity"]) for x in saved["lines"]] == [(ids[0], 5), (ids[2], 3)]
    assert "80.00" in page.locator("[data-field=total] [data-value]").inner_text()  # (50 + 30), recomputed
    assert page.locator("[data-lines=lines] tbody tr").count() == 2
    page.context.close()


def test_an_image_is_attached_to_an_opportunity_and_its_thumbnail_shown(browser, base_url):
    """SCENARIOS P5: the needs-analysis field holds files; a hostile file name stays text."""
    page = sign_in(browser, base_url, REP)
    rid = _first(page, base_url, "opportunity")["id"]
    page.goto(f"{base_url}/apps/crm/opportunity/{rid}?edit=1")
    page.wait_for_selector("#tg-record[data-ready]")  # the grid and widgets are wired
    field = page.locator("[data-field=needs_analysis]")
    assert "20 MB" in page.locator("#f-needs_analysis-limits").inner_text()  # the field's limits as help
    page.set_input_files("#f-needs_analysis", _png(f"名片{XSS}.png"))
    item = field.locator("[data-file-id]")
    item.wait_for()
    assert "thumbnail=1" in item.locator("img").get_attribute("src")
    assert "<img src=x onerror=" in item.locator(".tg-file-name").inner_text()  # text (the browser sends " as %22)
    page.click("[data-action=save]")
    page.wait_for_url(re.compile(rf"/apps/crm/opportunity/{rid}$"))
    thumb = page.locator("[data-field=needs_analysis] img.tg-thumb")
    thumb.wait_for()
    assert thumb.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0  # the thumbnail loaded
    assert page.evaluate("window.__xss") is None
    files = page.request.get(f"{base_url}/api/v1/apps/crm/opportunity/{rid}").json()["needs_analysis"]
    assert len(files) == 1 and files[0]["is_image"] and files[0]["content_type"] == "image/png"
    page.context.close()


def test_an_oversized_or_wrong_type_file_is_refused_at_the_field(browser, base_url):
    page = sign_in(browser, base_url, REP, locale="en")
    rid = _first(page, base_url, "opportunity")["id"]
    page.goto(f"{base_url}/apps/crm/opportunity/{rid}?edit=1")
    page.wait_for_selector("#tg-record[data-ready]")  # the grid and widgets are wired
    field = page.locator("[data-field=needs_analysis]")
    slot = field.locator("[data-error-for=needs_analysis]")
    kept = field.locator(".tg-file").count()  # files already on the record (an earlier test attached one)
    big = {"name": "huge.txt", "mimeType": "text/plain", "buffer": b"a" * (21 * 1024 * 1024)}
    page.set_input_files("#f-needs_analysis", big)
    expect(slot).to_contain_text("huge.txt")
    assert "20 MB" in slot.inner_text()
    program = {"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00" + bytes(4096)}
    page.set_input_files("#f-needs_analysis", program)
    expect(slot).to_contain_text("setup.exe")
    assert "not accepted" in slot.inner_text()
    assert field.locator(".tg-file").count() == kept  # the refused files are not listed
    assert "has-error" in (field.get_attribute("class") or "")
    page.context.close()


def test_line_grids_and_attachments_fit_a_phone(browser, base_url):
    page = sign_in(browser, base_url, REP, width=375)
    opportunity = _first(page, base_url, "opportunity")["id"]
    page.goto(f"{base_url}/apps/crm/quote/new?opportunity={opportunity}")
    page.wait_for_selector("#tg-record[data-ready]")  # the grid and widgets are wired
    page.locator("[data-line]").first.wait_for()
    page.click("[data-action=add-line]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert not page.locator("[data-lines-grid] thead").is_visible()  # each line is a card
    quote = page.request.get(f"{base_url}/api/v1/apps/crm/quote?limit=1").json()["items"]
    for path in ([f"/apps/crm/quote/{quote[0]['id']}"] if quote else []) + [f"/apps/crm/opportunity/{opportunity}?edit=1"]:
        page.goto(base_url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    page.set_input_files("#f-needs_analysis", _png("card.png"))
    page.locator("[data-field=needs_analysis] [data-file-id]").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.context.close()
