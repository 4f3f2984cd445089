"""The ten-minute app (issue 16), as one story shared by the browser test (tests/e2e/test_ten_minute_app.py) and
the benchmark (tests/benchmarks/ten_minute_app.py): in the builder, an administrator who types no JSON and calls
no API makes an HR app (人事) with a leave request form (请假申请: leave type 年假/病假/事假, start and end
dates, the days as a formula, the reason, a status), an HR team with one person in it, the app opened to the
sales department, a leave approval (the direct manager; then HR when the days are above 3; a 24 h deadline that
reminds, then escalates; the status set to approved at the end), a rule that notifies HR when a request is
approved, and a chart of leave days by type on an HR dashboard. Then an employee submits a request, the manager
and HR approve from their inboxes, HR is notified, and the dashboard shows the days.

Every UI action (click, fill, select, key press, navigation) is counted by `Story.act`; the API is used only to
read what the assertions check. With TANGRAM_TUTORIAL_SHOTS set to a folder, the story saves the tutorial's
screenshots there (docs/user-guide/img/tutorial-<step>-<locale>.png, 1280 px)."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.e2e.server import ADMIN, PASSWORD

APP = "hr"
ENTITY = "leave"
EMPLOYEE = "demo.rep1@example.com"  # 张伟, Sales East: his direct manager is 李娜
MANAGER = "demo.manager.east@example.com"  # 李娜, manages Sales East
HR_PERSON = "demo.finance@example.com"  # 孙丽: put into the new HR team below
HR_TEAM = "hr_team"
LEAVE_TYPES = ("年假", "病假", "事假")
STATUSES = ("审批中", "已批准", "已驳回")
WAIT = 30_000  # ms: the job queue and the server share two cores with other tests
UNREAD = "Number(document.querySelector('#tg-bell [data-unread]')?.dataset.unread ?? -1)"

# The words the story types, in each language the tutorial is shown in.
WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {"app": "人事", "form": "请假申请", "team": "人事部", "process": "请假审批", "rule": "请假批准通知人事",
              "notice": "请假已批准", "chart": "各类请假天数", "board": "人事看板", "reason": "家中有事"},
    "en": {"app": "HR", "form": "Leave request", "team": "HR", "process": "Leave approval", "rule": "Approved leave to HR",
           "notice": "Leave approved", "chart": "Leave days by type", "board": "HR dashboard", "reason": "Family matters"},
}  # fmt: skip


@dataclass
class Story:
    """One run of the story against `base` (a crm_server); `actions` counts the UI actions taken."""

    browser: Any
    base: str
    locale: str = "zh-CN"
    shots: Path | None = None
    actions: int = 0
    steps: list[tuple[str, int, float]] = field(default_factory=list)  # (step, actions so far, seconds so far)
    started: float = field(default_factory=time.monotonic)
    facts: dict[str, Any] = field(default_factory=dict)  # what the assertions read afterwards

    # -- counting ------------------------------------------------------------------------------------------
    def act(self, n: int = 1) -> None:
        self.actions += n

    def click(self, target: Locator) -> None:
        target.click()
        self.act()

    def fill(self, target: Locator, text: str) -> None:
        target.fill(text)
        self.act()

    def pick(self, target: Locator, value: str | None = None, label: str | None = None) -> None:
        if label is not None:
            target.select_option(label=label)
        else:
            target.select_option(value)
        self.act()

    def go(self, page: Page, path: str, ready: str | None = None) -> None:
        """A click in the builder's navigation (counted as one action)."""
        page.goto(f"{self.base}{path}")
        if ready:
            page.wait_for_selector(ready)
        self.act()

    def step(self, name: str) -> None:
        self.steps.append((name, self.actions, time.monotonic() - self.started))

    def shot(self, page: Page, name: str, focus: Locator | None = None) -> None:
        """The tutorial's picture of this step: the window (1280 x 900), scrolled to `focus` or to the top."""
        if self.shots is None:
            return
        self.shots.mkdir(parents=True, exist_ok=True)
        if focus is None:
            page.evaluate("window.scrollTo(0, 0)")
        else:
            focus.scroll_into_view_if_needed()
        path = self.shots / f"tutorial-{name}-{self.locale}.png"
        page.screenshot(path=str(path))
        small(path)

    @property
    def words(self) -> dict[str, str]:
        return WORDS[self.locale]

    def sign_in(self, email: str, password: str = PASSWORD) -> Page:
        context = self.browser.new_context(locale=self.locale, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{self.base}/login")
        self.fill(page.locator("#email"), email)
        self.fill(page.locator("#password"), password)
        self.click(page.locator("button[type=submit]"))
        page.wait_for_url(f"{self.base}/")
        return page

    # -- the story -----------------------------------------------------------------------------------------
    def run(self) -> Story:
        try:
            return self._run()
        except Exception:
            self.evidence()
            raise

    def evidence(self) -> None:
        """On a failure: every open page as a PNG in $TMPDIR/tangram-tenmin-failure-*.png (what went wrong where)."""
        folder = Path(os.environ.get("TMPDIR", "/tmp"))
        for i, context in enumerate(self.browser.contexts):
            for j, page in enumerate(context.pages):
                page.screenshot(path=str(folder / f"tangram-tenmin-failure-{i}-{j}.png"), full_page=True)

    def _run(self) -> Story:
        admin = self.sign_in(ADMIN[0], ADMIN[1])
        self.make_app(admin)
        self.make_form(admin)
        self.make_hr_team(admin)
        self.open_app(admin)
        self.make_process(admin)
        self.make_rule(admin)
        self.make_chart_and_dashboard(admin)
        self.facts["built"] = (self.actions, time.monotonic() - self.started)
        self.submit_and_approve(admin)
        admin.context.close()
        return self

    def make_app(self, page: Page) -> None:
        self.go(page, "/build", "#tg-build-home[data-ready]")
        self.click(page.locator("[data-app-new]"))
        dialog = page.locator("#tg-app-new-dialog")
        self.fill(dialog.locator("#new-label-zh"), WORDS["zh-CN"]["app"])
        self.fill(dialog.locator("#new-label-en"), WORDS["en"]["app"])
        expect(dialog.locator("#new-key")).not_to_have_value("")
        self.fill(dialog.locator("#new-key"), APP)
        self.click(dialog.locator("label[title=user-group]"))
        self.shot(page, "1-app")
        self.click(dialog.locator("[data-app-create]"))
        page.wait_for_url(f"{self.base}/build/apps/{APP}/settings")
        page.wait_for_selector("#tg-app-settings[data-ready]")
        self.step("app")

    def _field(self, page: Page, type_key: str, zh: str, en: str) -> str:
        """Click a palette type, name it in both languages; the key follows the English label."""
        self.click(page.locator(f"[data-palette] [data-type={type_key}]"))
        expect(page.locator("[data-prop=type]")).to_have_value(type_key)
        self.fill(page.locator("[data-prop=label-zh-CN]"), zh)
        self.fill(page.locator("[data-prop=label-en]"), en)
        key = en.lower().replace(" ", "_")
        page.locator(f".tg-dz-field[data-key={key}]").wait_for()
        return key

    def _options(self, page: Page, labels: tuple[str, ...]) -> None:
        for i, label in enumerate(labels):
            if page.locator("[data-option-label]").count() <= i:
                self.click(page.locator("[data-add-option]"))
            self.fill(page.locator("[data-option-label]").nth(i), label)

    def make_form(self, page: Page) -> None:
        self.go(page, f"/build/apps/{APP}/entities/new", "#tg-new-entity[data-ready]")
        self.fill(page.locator("#new-label_zh"), WORDS["zh-CN"]["form"])
        self.fill(page.locator("#new-label_en"), WORDS["en"]["form"])
        expect(page.locator("#new-key")).not_to_have_value("")
        self.fill(page.locator("#new-key"), ENTITY)
        self.click(page.locator("#tg-new-entity button[type=submit]"))
        page.wait_for_selector("#tg-designer[data-ready]")
        kind = self._field(page, "select", "请假类型", "Leave type")
        self._options(page, LEAVE_TYPES)
        start = self._field(page, "date", "开始日期", "Start date")
        end = self._field(page, "date", "结束日期", "End date")
        days = self._field(page, "formula", "天数", "Days")
        self.fill(page.locator("[data-prop=expression]"), f"DAYS_BETWEEN({start}, {end}) + 1")
        page.locator("[data-formula-result].is-ok").wait_for()
        self._field(page, "long_text", "请假事由", "Reason")
        status = self._field(page, "select", "审批状态", "Status")
        self._options(page, STATUSES)
        self.pick(page.locator("[data-prop=default]"), label=STATUSES[0])  # a new request is 审批中
        self.click(page.locator("#p-read_only"))  # only the approval writes it (a process may; people may not)
        expect(page.locator("#p-read_only")).to_be_checked()
        self.shot(page, "2-form")
        self.click(page.locator("[data-action=publish]"))
        page.locator("[data-status][data-published]:not([data-published=''])").wait_for(state="attached")
        self.facts["fields"] = {"kind": kind, "start": start, "end": end, "days": days, "status": status}
        self.step("form")

    def make_hr_team(self, page: Page) -> None:
        """A team 人事部 made on the People page, and 孙丽 put into it (HR approves, and is notified)."""
        self.go(page, "/build/people", "#tg-people[data-ready]")
        self.click(page.locator("[data-team-new]"))
        self.fill(page.locator("#tg-team-zh"), WORDS["zh-CN"]["team"])
        expect(page.locator("#tg-team-key")).not_to_have_value("")
        self.fill(page.locator("#tg-team-key"), HR_TEAM)
        self.click(page.locator("#tg-team [type=submit]"))
        page.locator(f'[data-team-row="{HR_TEAM}"]').wait_for()
        self.fill(page.locator("#tg-user-q"), HR_PERSON.split("@")[0])
        expect(page.locator("[data-users] tr")).to_have_count(1)
        self.click(page.locator("[data-user-open]"))
        dialog = page.locator("#tg-user")
        self.pick(dialog.locator("[data-user-add-team]"), HR_TEAM)
        expect(dialog.locator("[data-user-teams]")).to_contain_text(WORDS["zh-CN"]["team"])
        self.shot(page, "3-team")
        self.click(dialog.locator("[data-close]").last)
        self.step("team")

    def open_app(self, page: Page) -> None:
        """Who uses the app: the sales department adds and sees its own requests; HR sees them all."""
        self.go(page, f"/build/apps/{APP}/settings", "#tg-app-settings[data-ready]")
        add = page.locator("[data-team-add]")
        for team, preset in (("crm_sales", "own"), (HR_TEAM, "read")):
            self.pick(add.locator("select[name=team]"), team)
            self.pick(add.locator("select[name=preset]"), preset)
            self.click(add.locator("button"))
            page.locator(f"#tg-team-access tr[data-team={team}]").wait_for()
        self.shot(page, "4-access", page.locator("#tg-team-access"))
        self.step("access")

    def _insert(self, page: Page, after: str, kind: str) -> None:
        """Click the "+" on the connection leaving `after` and pick a step kind."""
        edges = "document.getElementById('tg-process').designer.def.edges"
        index = page.evaluate(f"{edges}.findIndex((e) => e.from === {after!r} && e.outcome !== 'rejected')")
        self.click(page.locator(f"[data-plus='{index}']"))
        self.click(page.locator(f"[data-insert-menu] [data-insert={kind}]"))

    def make_process(self, page: Page) -> None:
        f = self.facts["fields"]
        self.go(page, f"/build/apps/{APP}/processes", "#tg-processes[data-ready]")
        self.click(page.locator("[data-new]"))
        self.pick(page.locator("#pn-entity"), ENTITY)
        self.fill(page.locator("#pn-label"), self.words["process"])
        expect(page.locator("#pn-key")).not_to_have_value("")
        self.fill(page.locator("#pn-key"), "leave_approval")
        self.click(page.locator("[data-create]"))
        page.wait_for_url("**/processes/leave_approval")
        page.wait_for_selector("#tg-process[data-ready]")
        panel = page.locator("[data-panel]")

        # the direct manager, reminded after 24 hours and escalated to their manager after 48
        self._insert(page, "start", "approval")
        self.pick(panel.locator("[data-add-assignee=assignees]"), "manager")
        expect(page.locator(".tg-pd-node[data-node=approval_1] .tg-pd-node-sum")).not_to_be_empty()
        for name, hours in (("remind", "24"), ("escalate", "48")):
            box = panel.locator(f"[data-deadline={name}] input")
            self.fill(box, hours)
            box.dispatch_event("change")

        # a condition branch: HR approves when the days are above 3, otherwise nobody more
        self._insert(page, "approval_1", "exclusive")
        self.pick(panel.locator("[data-add-assignee=assignees]"), "team")
        self.pick(panel.locator("[data-prop=team]"), HR_TEAM)
        branch = page.evaluate("document.getElementById('tg-process').designer.def.edges.findIndex((e) => e.to === 'approval_2')")
        self.click(page.locator(f"[data-edge='{branch}']"))
        row = panel.locator(".tg-filter-row").first
        self.pick(row.locator("select").first, f["days"])
        self.pick(row.locator("select").nth(1), "gt")
        self.fill(row.locator("input").first, "3")
        self.click(panel.locator("[data-apply-condition]"))
        expect(page.locator(f"[data-edge='{branch}']")).to_contain_text("3")

        # the approved end writes the status (the rule below listens to it)
        nodes = "document.getElementById('tg-process').designer.def.nodes"
        end = page.evaluate(f"{nodes}.find((n) => n.type === 'end' && n.outcome !== 'rejected').id")
        self.click(page.locator(f".tg-pd-node[data-node={end}]"))
        self.pick(panel.locator("[data-outcome], select").first, "approved")
        self.pick(panel.locator(f"[data-add-set={end}]"), f["status"])
        self.pick(panel.locator(f"[data-set-value={f['status']}]"), label=STATUSES[1])
        self.shot(page, "5-process")
        page.once("dialog", lambda d: d.accept())
        self.click(page.locator("[data-action=publish]"))
        expect(page.locator("[data-status]")).to_contain_text("1")
        self.step("process")

    def make_rule(self, page: Page) -> None:
        f = self.facts["fields"]
        self.go(page, f"/build/apps/{APP}/rules/new?entity={ENTITY}", "#tg-rule[data-ready]")
        self.fill(page.locator("#rd-label-zh"), WORDS["zh-CN"]["rule"])
        expect(page.locator("#rd-key")).not_to_have_value("")
        self.pick(page.locator("#rd-trigger"), "field_changed")
        self.click(page.locator(f"[data-changed-fields] label:has(input[value={f['status']}])"))
        # 当 the status changes, 如果 it is approved, 就 notify the HR team
        self.click(page.locator("[data-set-condition]"))
        row = page.locator("[data-condition] .tg-filter-row").first
        self.pick(row.locator("select").nth(0), f["status"])
        self.pick(row.locator("select").nth(1), "eq")
        self.pick(page.locator("[data-condition] .tg-filter-row").first.locator("select").nth(2), label=STATUSES[1])
        self.pick(page.locator("[data-new-action]"), "notify")
        self.click(page.locator("[data-add-action]"))
        notify = page.locator("[data-action-index='0']")
        self.click(notify.locator("[data-recipient=owner] button"))  # not the owner: HR
        self.pick(notify.locator("[data-recipient-kind]"), "team")
        self.pick(notify.locator("[data-recipient-team]"), HR_TEAM)
        self.fill(notify.locator("[data-prop=title]"), f"{self.words['notice']} - ")
        self.pick(notify.locator("[data-insert=title]"), "name")
        self.shot(page, "6-rule", notify)
        self.click(page.locator("[data-save]").last)
        expect(page.locator("[data-status]")).not_to_be_empty()
        page.wait_for_url(re.compile(r"/rules/[a-z0-9_]+$"))
        self.step("rule")

    def make_chart_and_dashboard(self, page: Page) -> None:
        f = self.facts["fields"]
        self.go(page, f"/build/apps/{APP}/charts")
        self.click(page.locator("[data-new-chart]"))
        page.wait_for_selector("#tg-chart-designer[data-ready]")
        source = page.locator("[data-source]")
        if source.input_value() != ENTITY:
            self.pick(source, ENTITY)
        self.click(page.locator(f"[data-add-dim={f['kind']}]"))
        self.click(page.locator(f"[data-add-measure={f['days']}]"))
        self.pick(page.locator("[data-measure='0'] [data-agg]"), "sum")
        page.wait_for_selector("[data-preview][data-state=ok] [data-echart][data-ready]")  # the live preview drawn
        self.fill(page.locator("[data-label='zh-CN']"), WORDS["zh-CN"]["chart"])
        self.fill(page.locator("[data-label=en]"), WORDS["en"]["chart"])
        expect(page.locator("[data-key]")).not_to_have_value("")  # proposed from the name first (pinyin)
        self.fill(page.locator("[data-key]"), "leave_days_by_type")
        self.shot(page, "7-chart")
        self.click(page.locator("[data-save]"))
        page.wait_for_selector("#tg-chart-designer[data-saved]")

        self.go(page, f"/build/apps/{APP}/charts")
        self.click(page.locator("[data-new-dashboard]"))
        page.wait_for_selector("#tg-dashboard-designer[data-ready]")
        self.fill(page.locator("[data-label='zh-CN']"), WORDS["zh-CN"]["board"])
        self.fill(page.locator("[data-label=en]"), WORDS["en"]["board"])
        expect(page.locator("[data-key]")).not_to_have_value("")  # proposed from the name first (pinyin)
        self.fill(page.locator("[data-key]"), "hr_board")
        self.pick(page.locator("[data-chart-choice]"), "leave_days_by_type")
        self.click(page.locator("[data-add-tile]"))
        self.shot(page, "8-dashboard")
        self.click(page.locator("[data-save]"))
        page.wait_for_selector("#tg-dashboard-designer[data-saved]")
        self.step("dashboard")

    def request(self, employee: Page, name: str, kind: str, start: str, end: str) -> int:
        """The employee fills a leave request, saves it and submits it for approval; its record id."""
        f = self.facts["fields"]
        self.go(employee, f"/apps/{APP}/{ENTITY}/new", "#tg-record[data-ready]")
        self.fill(employee.locator("#f-name"), name)
        self.pick(employee.locator(f"#f-{f['kind']}"), label=kind)
        self.fill(employee.locator(f"#f-{f['start']}"), start)
        self.fill(employee.locator(f"#f-{f['end']}"), end)
        self.fill(employee.locator("#f-reason"), self.words["reason"])
        self.click(employee.locator("[data-action=save]"))
        employee.wait_for_url(re.compile(rf"/apps/{APP}/{ENTITY}/\d+$"))
        employee.wait_for_selector("#tg-approval-panel[data-ready]", timeout=WAIT)
        self.click(employee.locator("[data-submit-process]"))
        employee.wait_for_selector("#tg-approval-panel[data-ready] [data-approval-state]", timeout=WAIT)
        return int(employee.url.rsplit("/", 1)[1])

    def submit_and_approve(self, admin: Page) -> None:
        """张伟 asks for 5 days of annual leave; 李娜 (his manager) approves, then HR (5 > 3); HR is notified."""
        employee = self.sign_in(EMPLOYEE)
        self.facts["record"] = self.request(employee, f"{self.words['form']} 张伟", LEAVE_TYPES[0], "2026-12-21", "2026-12-25")
        self.shot(employee, "9-submitted")
        self.step("submitted")

        self.facts["asked"] = []
        for email in (MANAGER, HR_PERSON):
            person = self.sign_in(email)
            person.wait_for_function(f"() => {UNREAD} >= 0", timeout=WAIT)
            unread = person.evaluate(UNREAD)
            self.go(person, "/inbox")
            title = person.locator(".tg-inbox-title").first
            deadline = time.monotonic() + WAIT / 1000
            while not title.count() and time.monotonic() < deadline:
                person.reload()  # the job queue starts the process (and moves it on) a moment after the save
            expect(title).to_be_visible(timeout=WAIT)
            self.facts["asked"].append((email, title.inner_text()))
            self.click(title)
            person.wait_for_selector("#tg-task[data-ready]", timeout=WAIT)
            approve = person.locator("[data-act=approve]")
            self.click(approve)  # the first tap arms, the second approves
            self.click(approve)
            person.wait_for_selector("[data-task-state]", timeout=WAIT)
            if email == HR_PERSON:
                # the rule runs after the save, in the job queue: the bell rises without a reload (coming back
                # to the tab refreshes it, as the 30 s poll does), then HR opens it
                rises = f"() => {{ document.dispatchEvent(new Event('visibilitychange')); return {UNREAD} > {unread}; }}"
                person.wait_for_function(rises, polling=500, timeout=WAIT)
                self.click(person.locator("#tg-bell"))
                person.wait_for_url(f"{self.base}/notifications")
                notice = person.locator(".tg-notice", has_text=self.words["notice"]).first
                expect(notice).to_be_visible(timeout=WAIT)
                self.facts["notice"] = notice.inner_text()
                self.shot(person, "10-notified")
            person.context.close()
        self.step("approved")

        self.go(admin, f"/apps/{APP}/dashboards/hr_board")
        chart = admin.locator(".tg-tile[data-chart=leave_days_by_type] [data-echart][data-ready]")
        expect(chart).to_be_visible(timeout=WAIT)
        self.facts["chart"] = chart.get_attribute("data-result")
        self.shot(admin, "11-dashboard")
        self.step("dashboard shown")
        employee.context.close()

    def short_request(self) -> int:
        """张伟 asks for 2 days of sick leave: only 李娜 is asked (2 is not above 3); returns the record id."""
        employee = self.sign_in(EMPLOYEE)
        record = self.request(employee, f"{self.words['form']} 张伟 2", LEAVE_TYPES[1], "2027-01-04", "2027-01-05")
        manager = self.sign_in(MANAGER)
        self.go(manager, "/inbox")
        self.click(manager.locator(".tg-inbox-title", has_text=f"{self.words['form']} 张伟 2").first)
        manager.wait_for_selector("#tg-task[data-ready]", timeout=WAIT)
        approve = manager.locator("[data-act=approve]")
        self.click(approve)
        self.click(approve)
        manager.wait_for_selector("[data-task-state]", timeout=WAIT)
        employee.context.close()
        manager.context.close()
        return record

    # -- the report ----------------------------------------------------------------------------------------
    @property
    def scripted(self) -> float:
        return time.monotonic() - self.started


def small(path: Path) -> None:
    """A 256-colour PNG: under half the size, and the pages are flat colours (Pillow: a dependency already)."""
    from PIL import Image

    with Image.open(path) as image:
        quantized = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    quantized.save(path, optimize=True)


def tutorial_folder() -> Path | None:
    folder = os.environ.get("TANGRAM_TUTORIAL_SHOTS")
    return Path(folder) if folder else None


def main() -> None:
    """`python -m tests.e2e.ten_minute_app`: the tutorial's screenshots in both languages (a fresh CRM server for
    each), into TANGRAM_TUTORIAL_SHOTS or docs/user-guide/img."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import FLAGS, chromium_path
    from tests.e2e.server import crm_server

    folder = tutorial_folder() or Path(__file__).resolve().parents[2] / "docs" / "user-guide" / "img"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=FLAGS, headless=True)
        for locale in WORDS:
            with tempfile.TemporaryDirectory(prefix="tangram-tenmin-") as work, crm_server(Path(work)) as base:
                story = Story(browser, base, locale=locale, shots=folder).run()
                print(f"{locale}: {story.actions} actions, {story.scripted:.1f} s; screenshots in {folder}")
        browser.close()


if __name__ == "__main__":
    main()
