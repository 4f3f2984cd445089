"""The process designer in a real browser, as an administrator who writes no JSON (issue 16): draw a discount
approval on the CRM's quotes purely by clicking (the direct manager approves; above 20 % a condition branch adds
the director; a deadline reminds, then escalates), see a missing approver pinned on its step, undo, a branch
deletion that asks first, publish version 1. The shipped processes P1-P6 open and save back unchanged; at 375 px
the flow reads and the panel sits below."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.server import ADMIN

APP = "crm"
CRM_PROCESSES = (
    "lead_to_cash",
    "quote_discount",
    "order_processing",
    "contract_kickoff",
    "opportunity_stage_gate",
    "ticket_lifecycle",
)
SERVER_FIELDS = ("version", "updated_at")


def _admin(browser, base_url, locale="zh-CN", width=1280):
    return sign_in(browser, base_url, ADMIN[0], locale, width, password=ADMIN[1])


def _get(page, base_url, key):
    r = page.request.get(f"{base_url}/api/v1/meta/apps/{APP}/processes/{key}")
    assert r.ok, r.text()
    return {k: v for k, v in r.json().items() if k not in SERVER_FIELDS}


def _open(page, url):
    page.goto(url)
    page.wait_for_selector("#tg-process[data-ready]")


def _insert(page, edge_from: str, kind: str) -> None:
    """Click the "+" on the connection leaving `edge_from` and pick a step kind."""
    edges = "document.getElementById('tg-process').designer.def.edges"
    index = page.evaluate(f"{edges}.findIndex((e) => e.from === {json.dumps(edge_from)})")
    page.click(f"[data-plus='{index}']")
    page.click(f"[data-insert-menu] [data-insert={kind}]")


def test_draw_publish_a_discount_approval_by_clicking(browser, base_url):
    """P2-like flow drawn in zh-CN: manager, condition branch > 20 % to the director role, deadline, publish v1."""
    page = _admin(browser, base_url)
    page.goto(f"{base_url}/build/apps/{APP}/processes")
    page.wait_for_selector("#tg-processes[data-ready]")
    page.click("[data-new]")
    page.select_option("#pn-entity", "quote")
    page.fill("#pn-label", "大额折扣审批")
    expect(page.locator("#pn-key")).not_to_have_value("")
    page.fill("#pn-key", "big_discount")
    page.click("[data-create]")
    page.wait_for_url(f"**/build/apps/{APP}/processes/big_discount")
    page.wait_for_selector("#tg-process[data-ready]")

    _insert(page, "start", "approval")  # start -> approval_1 -> end
    panel = page.locator("[data-panel]")
    panel.locator("[data-add-assignee=assignees]").select_option("manager")
    expect(page.locator(".tg-pd-node[data-node=approval_1] .tg-pd-node-sum")).to_contain_text("直属上级")
    panel.locator("[data-deadline=remind] input").fill("4")
    panel.locator("[data-deadline=remind] input").dispatch_event("change")
    panel.locator("[data-deadline=escalate] input").fill("2")
    panel.locator("[data-deadline=escalate] select").select_option("days")
    panel.locator("[data-deadline=escalate] input").dispatch_event("change")

    _insert(page, "approval_1", "exclusive")  # a condition branch: approval_2 on the first branch, "otherwise" beside it
    panel.locator("[data-add-assignee=assignees]").select_option("role")
    panel.locator("[data-prop=role]").select_option("crm_director")
    branch = page.evaluate("document.getElementById('tg-process').designer.def.edges.findIndex((e) => e.to === 'approval_2')")
    page.click(f"[data-edge='{branch}']")
    row = panel.locator(".tg-filter-row").first
    row.locator("select").first.select_option("discount")
    row.locator("select").nth(1).select_option("gt")
    row.locator("input").first.fill("20")
    panel.locator("[data-apply-condition]").click()
    expect(page.locator(f"[data-edge='{branch}']")).to_contain_text("20")

    # A step without an approver is refused with the problem pinned on it; undo takes it away again.
    _insert(page, "start", "approval")
    page.click("[data-action=validate]")
    expect(page.locator(".tg-pd-node.error[data-node=approval_3]")).to_be_visible()
    expect(page.locator("[data-problems]")).to_be_visible()
    page.locator("body").press("Control+z")
    expect(page.locator("[data-node=approval_3]")).to_have_count(0)

    # Deleting a branch with a step in it asks first; dismissing keeps it.
    page.click(f"[data-edge='{branch}']")
    page.once("dialog", lambda d: d.dismiss())
    panel.locator(f"[data-delete-branch='{branch}']").click()
    expect(page.locator("[data-node=approval_2]")).to_be_visible()

    page.once("dialog", lambda d: d.accept())
    page.click("[data-action=publish]")
    expect(page.locator("[data-state]")).to_contain_text("1")
    expect(page.locator("[data-status]")).to_contain_text("1")
    saved = _get(page, base_url, "big_discount")
    assert saved["published_version"] == 1
    nodes = {n["id"]: n for n in saved["nodes"]}
    assert nodes["approval_1"]["assignees"] == [{"type": "manager"}]
    assert nodes["approval_1"]["deadline"]["remind"] == {"amount": 4, "unit": "hours"}
    assert nodes["approval_1"]["deadline"]["escalate"] == {"amount": 2, "unit": "days"}
    assert nodes["approval_2"]["assignees"] == [{"type": "role", "role": "crm_director"}]
    cond = next(e for e in saved["edges"] if e["to"] == "approval_2")["condition"]
    assert json.dumps(cond).count("discount") == 1 and "gt" in json.dumps(cond)
    page.click("[data-action=versions]")
    expect(page.locator("[data-versions] [data-version='1']")).to_be_visible()


def test_shipped_processes_save_back_unchanged(browser, base_url):
    """P1-P6 open in the designer; Save draft without a change leaves each stored definition as it was."""
    page = _admin(browser, base_url)
    for key in CRM_PROCESSES:
        before = _get(page, base_url, key)
        _open(page, f"{base_url}/build/apps/{APP}/processes/{key}")
        expect(page.locator(".tg-pd-node[data-node=start]")).to_be_visible()
        with page.expect_response(lambda r: r.request.method == "PUT" and r.url.endswith(f"/processes/{key}")) as put:
            page.click("[data-action=save]")
        assert put.value.ok, put.value.text()
        assert _get(page, base_url, key) == before, key


def test_phone_reads_the_flow(browser, base_url):
    """375 px: the flow's steps are readable and the panel opens below the flow."""
    page = _admin(browser, base_url, "en", 375)
    _open(page, f"{base_url}/build/apps/{APP}/processes/quote_discount")
    card = page.locator(".tg-pd-node[data-node=manager]")
    card.scroll_into_view_if_needed()
    card.click()
    panel = page.locator("[data-panel]")
    expect(panel.locator("[data-assignees=assignees]")).to_be_visible()
    assert panel.bounding_box()["y"] > page.locator("[data-scroll]").bounding_box()["y"]


def test_free_canvas_keeps_positions_across_modes(browser, base_url):
    """Free mode (AntV X6) on the same JSON: a dragged step keeps its place in `position`, the tree view still
    shows the change, undo takes it back in one press, and the saved draft holds the position."""
    page = _admin(browser, base_url)
    _open(page, f"{base_url}/build/apps/{APP}/processes/opportunity_stage_gate")
    page.click("[data-mode=free]")
    node = page.locator(".tg-pd-free-stage .x6-node[data-cell-id=needs_report]")
    box = node.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(box["x"] + 130, box["y"] + 90, steps=6)
    page.mouse.up()
    moved = "document.getElementById('tg-process').designer.def.nodes.find((n) => n.id === 'needs_report').position"
    first = page.evaluate(moved)
    assert first is not None
    page.click("[data-mode=tree]")
    expect(page.locator(".tg-pd-node[data-node=needs_report]")).to_be_visible()
    page.locator("body").press("Control+z")
    assert page.evaluate(moved) != first
    page.locator("body").press("Control+Shift+z")
    assert page.evaluate(moved) == first
    with page.expect_response(lambda r: r.request.method == "PUT") as put:
        page.click("[data-action=save]")
    assert put.value.ok
    saved = {n["id"]: n for n in _get(page, base_url, "opportunity_stage_gate")["nodes"]}
    assert saved["needs_report"]["position"] == first


def test_import_opens_in_the_designer(browser, base_url):
    """BPMN import from the list: translate-bpmn turns the file into an unsaved draft that opens in the designer
    (a Tangram export comes back whole, with no issue); the first save creates it. A draft handed over with
    issues opens with them pinned on their nodes."""
    page = _admin(browser, base_url)
    api = f"{base_url}/api/v1/meta/apps/{APP}/processes"
    xml = page.request.get(f"{api}/opportunity_stage_gate/bpmn").text().replace("opportunity_stage_gate", "stage_gate_copy")
    page.goto(f"{base_url}/build/apps/{APP}/processes")
    page.wait_for_selector("#tg-processes[data-ready]")
    page.set_input_files("[data-import]", {"name": "copy.bpmn", "mimeType": "application/xml", "buffer": xml.encode()})
    page.wait_for_url("**/processes/new?from=import")
    page.wait_for_selector("#tg-process[data-ready]")
    expect(page.locator(".tg-pd-node[data-node=needs_report]")).to_be_visible()
    expect(page.locator(".tg-pd-node.error")).to_have_count(0)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url == api) as created:
        page.click("[data-action=save]")
    assert created.value.status == 201
    page.wait_for_url("**/processes/stage_gate_copy")

    draft = _get(page, base_url, "quote_discount")
    draft = {k: v for k, v in draft.items() if k not in ("id", "app", "published_version")} | {"key": "quote_copy"}
    handed = {"app": APP, "definition": draft, "issues": [{"node": "manager", "message": "Check who approves"}]}
    page.evaluate("(h) => sessionStorage.setItem('tangram.process-draft', JSON.stringify(h))", handed)
    _open(page, f"{base_url}/build/apps/{APP}/processes/new?from=import")
    expect(page.locator(".tg-pd-node.error[data-node=manager]")).to_be_visible()
    expect(page.locator("[data-problems]")).to_contain_text("Check who approves")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url == api) as post:
        page.click("[data-action=save]")
    assert post.value.status == 201
    page.wait_for_url("**/processes/quote_copy")
    assert _get(page, base_url, "quote_copy")["nodes"] == draft["nodes"]
