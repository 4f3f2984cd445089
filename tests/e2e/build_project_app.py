# ruff: noqa: RUF001  (Chinese labels use full-width punctuation on purpose)
"""Builds the 项目管理 / Project delivery template (SCENARIOS F5) by driving the builder's pages in a browser,
as an administrator who writes no JSON, on a fresh server with the CRM; then exports the app to a package.

    .venv/bin/python -m tests.e2e.build_project_app [--out apps_catalog/project]

Every definition in apps_catalog/project/ comes from these clicks; what the builder could not express is
listed in docs/user-guide/project-template.md ("What was edited by hand": nothing but the manifest's words).
Not part of `make test` (it takes about two minutes of browser time); tests/scenarios/test_f5_project_delivery.py
checks that the committed package validates, installs and works."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.browser import FLAGS, chromium_path
from tests.e2e.server import ADMIN, ENVIRONMENTS, crm_server

APP = "project"
ROOT = Path(__file__).resolve().parents[2]


# -- helpers: the same moves a person makes ------------------------------------------------------------------
def _sign_in(browser, base: str, locale: str = "zh-CN") -> Page:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#email", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def _labels(page: Page, zh: str, en: str) -> None:
    page.fill("[data-prop=label-zh-CN]", zh)
    page.fill("[data-prop=label-en]", en)


def _add(page: Page, type_key: str, zh: str, en: str) -> str:
    """A palette type clicked onto the form, named in both languages, its key typed (the English name's)."""
    page.click(f"[data-palette] [data-type={type_key}]")
    expect(page.locator("[data-prop=type]")).to_have_value(type_key)
    _labels(page, zh, en)
    key = en.lower().replace(" ", "_")
    page.fill("[data-prop=key]", key)
    page.locator(f".tg-dz-field[data-key={key}]").wait_for()
    return key


def _relation(page: Page, zh: str, en: str, target: str) -> str:
    key = _add(page, "relation", zh, en)
    page.select_option("[data-prop=target]", target)
    return key


def _select(page: Page, zh: str, en: str, options: list[str]) -> str:
    key = _add(page, "select", zh, en)
    for i, label in enumerate(options):
        page.locator("[data-option-label]").nth(i).fill(label)
    return key


def _formula(page: Page, zh: str, en: str, expression: str) -> str:
    key = _add(page, "formula", zh, en)
    page.fill("[data-prop=expression]", expression)
    page.locator("[data-formula-result].is-ok").wait_for()
    return key


def _publish(page: Page) -> None:
    before = page.locator("[data-status]").get_attribute("data-published") or ""
    page.click("[data-action=publish]")
    done = page.locator(f"[data-status][data-published]:not([data-published='{before}'])")
    done.or_(page.locator("[data-banner]:not([hidden])")).first.wait_for(state="attached")
    if page.locator("[data-banner]:not([hidden])").count():
        raise RuntimeError(f"publish refused: {page.locator('[data-banner]').inner_text()}")
    page.wait_for_load_state("networkidle")  # the draft's last save settles before the page is left


def _new_entity(page: Page, base: str, zh: str, en: str, key: str) -> None:
    page.goto(f"{base}/build/apps/{APP}/entities/new")
    page.wait_for_selector("#tg-new-entity[data-ready]")
    page.fill("#new-label_zh", zh)
    page.fill("#new-label_en", en)
    expect(page.locator("#new-key")).not_to_have_value("")  # the server's proposal first, then the key typed over it
    page.fill("#new-key", key)
    page.click("#tg-new-entity button[type=submit]")
    page.wait_for_selector("#tg-designer[data-ready]")


def _open_entity(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/build/apps/{APP}/entities/{key}")
    page.wait_for_selector("#tg-designer[data-ready]")


# -- the app ---------------------------------------------------------------------------------------------------
def make_app(page: Page, base: str) -> None:
    page.goto(f"{base}/build")
    page.wait_for_selector("#tg-build-home[data-ready]")
    page.click("[data-app-new]")
    dialog = page.locator("#tg-app-new-dialog")
    dialog.locator("#new-label-zh").fill("项目管理")
    dialog.locator("#new-label-en").fill("Project delivery")
    expect(dialog.locator("#new-key")).not_to_have_value("")
    dialog.locator("#new-key").fill(APP)
    dialog.locator("label[title=clipboard-document-list]").click()
    dialog.locator("label.tg-color-choice").nth(4).click()
    dialog.locator("[data-app-create]").click()
    page.wait_for_url(f"{base}/build/apps/{APP}/settings")
    page.wait_for_selector("#tg-app-settings[data-ready]")
    page.fill("#edit-desc-zh", "项目交付模板：项目关联 CRM 合同，含里程碑、任务、工时、项目立项审批和项目毛利看板。")
    page.fill("#edit-desc-en", "A project delivery template: projects linked to CRM contracts, milestones, tasks, timesheets, "
              "a project kick-off approval and a margin dashboard.")  # fmt: skip
    page.locator("[data-app-edit] button[type=submit]").click()
    page.wait_for_selector("#tg-app-settings[data-ready] h1:has-text('项目管理')")
    page.wait_for_load_state("networkidle")


def make_entities(page: Page, base: str) -> None:
    _new_entity(page, base, "项目", "Project", "project")
    _relation(page, "合同", "Contract", "crm.contract")
    _add(page, "user", "项目经理", "Project manager")
    _select(page, "状态", "Status", ["立项中", "进行中", "已完成"])
    _add(page, "date", "开始日期", "Start date")
    _add(page, "date", "计划完成日期", "Due date")
    _add(page, "currency", "合同金额", "Contract amount")
    _add(page, "currency", "人工成本单价（元/小时）", "Cost rate")
    _publish(page)

    _new_entity(page, base, "里程碑", "Milestone", "milestone")
    _relation(page, "所属项目", "Project", "project")
    _add(page, "date", "计划完成日期", "Due date")
    _add(page, "boolean", "已达成", "Done")
    _publish(page)

    _new_entity(page, base, "任务", "Task", "task")
    _relation(page, "所属项目", "Project", "project")
    _relation(page, "里程碑", "Milestone", "milestone")
    _add(page, "user", "负责人", "Assignee")
    _select(page, "状态", "Status", ["待开始", "进行中", "已完成"])
    _add(page, "date", "截止日期", "Due date")
    _publish(page)

    _new_entity(page, base, "工时", "Timesheet", "timesheet")
    page.click(".tg-dz-field[data-key=name]")
    _labels(page, "工作内容", "Work done")
    _relation(page, "所属项目", "Project", "project")
    _relation(page, "任务", "Task", "task")
    _add(page, "user", "填报人", "Person")
    _add(page, "date", "工作日期", "Work date")
    _add(page, "decimal", "工时（小时）", "Hours")
    _publish(page)

    # the project's numbers, now that its timesheets exist: hours logged, their cost, the margin on the contract
    _open_entity(page, base, "project")
    _formula(page, "已登记工时", "Logged hours", "SUM(timesheet.hours)")
    _formula(page, "人工成本", "Labour cost", "logged_hours * cost_rate")
    _formula(page, "毛利", "Margin", "contract_amount - labour_cost")
    _formula(page, "毛利率（%）", "Margin rate", "IF(contract_amount > 0, margin / contract_amount * 100, 0)")
    _publish(page)


MONEY = ("contract_amount", "cost_rate", "labour_cost", "margin", "margin_rate")


def _role(page: Page, base: str, zh: str, en: str, key: str, grants: dict[str, dict], hidden: dict[str, tuple]) -> None:
    page.goto(f"{base}/build/roles")
    page.wait_for_selector("#tg-roles[data-ready]")
    page.click("[data-role-new]")
    page.fill("#tg-role-zh", zh)
    page.fill("#tg-role-en", en)
    expect(page.locator("#tg-role-key")).to_have_value(key)  # proposed from the English name
    page.click("#tg-role-new [type=submit]")
    page.wait_for_url(f"{base}/build/roles/{key}")
    page.wait_for_selector("#tg-role-editor[data-ready]")
    for entity, cells in grants.items():
        row = f'tr[data-entity="{APP}.{entity}"]'
        for action, value in cells.items():
            if value is True:
                page.locator(f"{row} td[data-action={action}] input").check()
            else:
                page.locator(f"{row} td[data-action={action}] select").select_option(value)
    for entity, fields in hidden.items():
        page.locator(f'tr[data-entity="{APP}.{entity}"] .tg-fields-toggle').click()
        for field in fields:
            page.locator(f'tr[data-fields-of="{APP}.{entity}"] li[data-field={field}] [data-prop=hidden_fields]').check()
    page.click("[data-role-save]")
    expect(page.locator("#tg-toast")).to_contain_text("权限")


def make_roles(page: Page, base: str) -> None:
    full = {"read": "all", "create": True, "update": "all", "delete": "all"}
    everything = dict.fromkeys(("project", "milestone", "task", "timesheet"), full)
    _role(page, base, "项目经理", "Project manager", "project_manager", everything, {})
    member = {
        "project": {"read": "all"},
        "milestone": {"read": "all"},
        "task": {"read": "all", "update": "all"},
        "timesheet": {"read": "own", "create": True, "update": "own", "delete": "own"},
    }
    _role(page, base, "项目成员", "Project member", "project_member", member, {"project": MONEY})


def make_kickoff(page: Page, base: str) -> None:
    page.goto(f"{base}/build/apps/{APP}/processes")
    page.wait_for_selector("#tg-processes[data-ready]")
    page.click("[data-new]")
    page.select_option("#pn-entity", "project")
    page.fill("#pn-label", "项目立项审批")
    expect(page.locator("#pn-key")).not_to_have_value("")
    page.fill("#pn-key", "kickoff")
    page.click("[data-create]")
    page.wait_for_url(f"**/build/apps/{APP}/processes/kickoff")
    page.wait_for_selector("#tg-process[data-ready]")
    edges = "document.getElementById('tg-process').designer.def.edges"
    index = page.evaluate(f"{edges}.findIndex((e) => e.from === 'start')")
    page.click(f"[data-plus='{index}']")
    page.click("[data-insert-menu] [data-insert=approval]")
    panel = page.locator("[data-panel]")
    panel.locator("[data-add-assignee=assignees]").select_option("role")
    panel.locator("[data-prop=role]").select_option("project_manager")
    panel.locator("[data-prop=label-zh]").fill("项目经理审批")
    panel.locator("[data-prop=label-en]").fill("Project manager approval")
    page.locator("[data-canvas]").click(position={"x": 5, "y": 5})  # the empty canvas: the process's own settings
    panel.locator("[data-prop=label-en]").fill("Project kick-off approval")
    page.once("dialog", lambda d: d.accept())
    page.click("[data-action=publish]")
    expect(page.locator("[data-state]")).to_contain_text("1")


def make_dashboard(page: Page, base: str) -> None:
    page.goto(f"{base}/build/apps/{APP}/charts")
    page.click("[data-new-chart]")
    page.wait_for_selector("#tg-chart-designer[data-ready]")
    page.select_option("[data-source]", "project")
    page.click("[data-add-dim=name]")
    for field in ("contract_amount", "labour_cost", "margin"):
        page.click(f"[data-add-measure={field}]")
    for i, label in enumerate(("合同金额", "人工成本", "毛利")):  # a formula field is counted unless told to add up
        page.locator(f"[data-measure='{i}'] [data-agg]").select_option("sum")
        name = page.locator(f"[data-measure='{i}'] [data-measure-label]")
        name.fill(label)
        name.dispatch_event("change")
    page.fill("[data-label='zh-CN']", "项目毛利")
    page.fill("[data-label=en]", "Project margin")
    page.fill("[data-key]", "project_margin")
    page.click("[data-save]")
    page.wait_for_selector("#tg-chart-designer[data-saved]")

    page.goto(f"{base}/build/apps/{APP}/charts")
    page.click("[data-new-dashboard]")
    page.wait_for_selector("#tg-dashboard-designer[data-ready]")
    page.fill("[data-label='zh-CN']", "项目毛利看板")
    page.fill("[data-label=en]", "Project margin")
    page.fill("[data-key]", "margin")
    page.select_option("[data-chart-choice]", "project_margin")
    page.click("[data-add-tile]")
    page.locator("[data-tile='0'] [data-width]").select_option("24")
    page.click("[data-save]")
    page.wait_for_selector("#tg-dashboard-designer[data-saved]")


ENGLISH_OPTIONS = {  # the designer names options in the language of the session: the English pass
    "project": ["Initiating", "In progress", "Done"],
    "task": ["To do", "In progress", "Done"],
}


def english_words(page: Page, base: str) -> None:
    """The words the designers write in the session's language only, given again in an English session."""
    for entity, labels in ENGLISH_OPTIONS.items():
        _open_entity(page, base, entity)
        page.click(".tg-dz-field[data-key=status]")
        for i, label in enumerate(labels):
            page.locator("[data-option-label]").nth(i).fill(label)
        _publish(page)
    page.goto(f"{base}/build/apps/{APP}/charts/project_margin")
    page.wait_for_selector("#tg-chart-designer[data-ready]")
    for i, label in enumerate(("Contract amount", "Labour cost", "Margin")):
        name = page.locator(f"[data-measure='{i}'] [data-measure-label]")
        name.fill(label)
        name.dispatch_event("change")
    page.click("[data-save]")
    page.wait_for_selector("#tg-chart-designer[data-saved]")


def _run(page: Page, base: str, steps: tuple) -> None:
    for step in steps:
        print(step.__name__, flush=True)
        try:
            step(page, base)
        except Exception:
            page.screenshot(path=str(Path(tempfile.gettempdir()) / "build_project_failed.png"), full_page=True)
            raise
    page.context.close()


def build(browser, base: str) -> None:
    _run(_sign_in(browser, base), base, (make_app, make_entities, make_roles, make_kickoff, make_dashboard))
    _run(_sign_in(browser, base, "en"), base, (english_words,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "apps_catalog" / APP))
    out = Path(parser.parse_args().out)
    with tempfile.TemporaryDirectory(prefix="tangram-build-project-") as workdir, crm_server(Path(workdir)) as base:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), args=FLAGS, headless=True)
            build(browser, base)
            browser.close()
        if out.exists():
            shutil.rmtree(out)
        command = [sys.executable, "-m", "engine", "export", APP, "--out", str(out)]
        subprocess.run(command, env=ENVIRONMENTS[base], check=True)
    print(json.dumps(sorted(str(f.relative_to(out)) for f in out.rglob("*.json")), indent=1))


if __name__ == "__main__":
    main()
