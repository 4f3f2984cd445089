"""`python -m tests.benchmarks.designer`: the form designer on an entity with 150 fields, in Chromium against
a real server (the CRM installed, plus a 150-field entity): opening the designer until its canvas is drawn,
dragging a field to another place (until the canvas is redrawn in the new order), moving one with the
keyboard, and publishing a label change with the layout changes made before
(until both were answered). Prints the median and worst of
BENCH_DESIGNER_REPS (default 5) runs of each, in milliseconds. No assertion: figures for the issue note."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.e2e.browser import FLAGS, chromium_path
from tests.e2e.server import ADMIN, crm_server
from tests.e2e.test_builder_form import drag

FIELDS = 150
TYPES = ["text", "integer", "date", "decimal", "long_text", "boolean", "email", "phone"]


def _entity() -> dict:
    fields = [{"key": f"f{i:03d}", "type": TYPES[i % len(TYPES)], "label": {"zh-CN": f"字段 {i}", "en": f"Field {i}"}}
              for i in range(FIELDS)]  # fmt: skip
    return {"key": "big", "label": {"zh-CN": "大表单", "en": "Big form"}, "display_field": "f000", "fields": fields}


def _form() -> dict:
    keys = [f"f{i:03d}" for i in range(FIELDS)]
    sections = [{"key": f"s{n}", "label": f"Section {n}", "columns": 2, "fields": keys[n * 15 : (n + 1) * 15]} for n in range(10)]
    return {"key": "big", "entity": "big", "sections": sections}


# In the page: the time from the drop (SortableJS's end of drag) to the canvas showing the new order.
DROP_TIMER = """() => {
  const d = document.querySelector('#tg-designer').designer;
  const read = d.readOrder.bind(d);
  d.readOrder = () => { const t = performance.now(); read(); window.tgDropMs = performance.now() - t; d.readOrder = read; };
}"""


MOVE_TIMER = """() => {
  const d = document.querySelector('#tg-designer').designer;
  const move = d.moveField.bind(d);
  d.moveField = (...a) => {
    const t = performance.now(); move(...a); window.tgMoveMs = performance.now() - t; d.moveField = move;
  };
}"""
SETTLE = """e => new Promise((done) => {
  e.scrollIntoView({block: 'center'});
  requestAnimationFrame(() => requestAnimationFrame(() => { e.scrollIntoView({block: 'center'}); requestAnimationFrame(done); }));
})"""


def _renders(page) -> int:
    return int(page.locator("#tg-designer").get_attribute("data-renders") or 0)


def _wait_render(page, before: int) -> None:
    expect(page.locator("#tg-designer")).not_to_have_attribute("data-renders", str(before))


def main() -> None:
    reps = int(os.environ.get("BENCH_DESIGNER_REPS", "5"))
    with tempfile.TemporaryDirectory() as tmp, crm_server(Path(tmp)) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=FLAGS, headless=True)
        page = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN").new_page()
        page.goto(f"{base}/login")
        page.fill("#email", ADMIN[0])
        page.fill("#password", ADMIN[1])
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        csrf = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']")
        headers = {"Content-Type": "application/json", "X-CSRF-Token": csrf}
        assert page.request.post(f"{base}/api/v1/meta/apps/crm/entities", data=json.dumps(_entity()), headers=headers).ok
        assert page.request.post(f"{base}/api/v1/meta/apps/crm/forms", data=json.dumps(_form()), headers=headers).ok
        url = f"{base}/build/apps/crm/entities/big"
        opened, served, dragged, gestures, moved, moved_in_page, published = [], [], [], [], [], [], []
        for rep in range(reps):
            t = time.perf_counter()
            page.goto(url)
            page.locator("#tg-designer[data-renders='1']").wait_for()
            opened.append((time.perf_counter() - t) * 1000)
            served.append(page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd"))
            assert page.locator(".tg-dz-field").count() == FIELDS
            # drag the first field of section 2 onto the first field of section 3 (always a change of layout)
            source = page.locator("[data-drop='1'] .tg-dz-field").first
            target = page.locator("[data-drop='2'] .tg-dz-field").first
            source.evaluate(SETTLE)  # sections coming into view are laid out (content-visibility): then measure
            before = _renders(page)
            page.evaluate(DROP_TIMER)
            gesture = time.perf_counter()
            drag(page, source, target)
            _wait_render(page, before)
            gestures.append((time.perf_counter() - gesture) * 1000)
            dragged.append(page.evaluate("window.tgDropMs"))
            # keyboard: Alt+Down on a focused field
            before = _renders(page)
            page.locator(".tg-dz-field[data-key=f100]").focus()
            page.evaluate(MOVE_TIMER)
            t = time.perf_counter()
            page.keyboard.press("Alt+ArrowDown")
            _wait_render(page, before)
            moved.append((time.perf_counter() - t) * 1000)
            moved_in_page.append(page.evaluate("window.tgMoveMs"))
            # publish a label change
            page.click(".tg-dz-field[data-key=f050]")
            page.fill("[data-prop=label-en]", f"Field 50 (rev {rep})")
            status = page.locator("[data-status]")
            version = status.get_attribute("data-published")
            t = time.perf_counter()
            page.click("[data-action=publish]")
            page.locator(f"[data-status][data-published]:not([data-published='{version or ''}'])").wait_for()
            published.append((time.perf_counter() - t) * 1000)
        browser.close()
    print(f"form designer, entity of {FIELDS} fields in 10 sections, Chromium, {reps} runs (median / worst, ms):")
    rows = (
        ("open until drawn", opened), ("  of which the page's response", served), ("drop a dragged field, until shown", dragged),
        ("whole drag gesture (Playwright)", gestures), ("Alt+Down move, until shown", moved),
        ("  of which the designer's script", moved_in_page),
        ("publish (label + layout changed)", published),
    )  # fmt: skip
    for name, values in rows:
        print(f"  {name:32} {statistics.median(values):7.0f} / {max(values):7.0f}")


if __name__ == "__main__":
    main()
