"""Screenshots of the main pages for docs/ (`make screenshots`), in both languages at 1280 px and 375 px,
driving the same Chromium as the browser tests against a running server (BASE, default :8000)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.e2e.browser import FLAGS, chromium_path

BASE = os.environ.get("BASE", "http://127.0.0.1:8000")
OUT = Path(os.environ.get("OUT", Path(__file__).resolve().parents[2] / "docs" / "user-guide" / "img"))
USER = os.environ.get("SHOT_USER", "demo.rep1@example.com")
PASSWORD = os.environ.get("SHOT_PASSWORD", "tangram-demo-2024")
PAGES = {  # name: path (first record ids of the demo data)
    "login": "/login",
    "launcher": "/",
    "lead-list": "/apps/crm/lead",
    "lead-new": "/apps/crm/lead/new",
    "account-record": "/apps/crm/account/{account}",
    "opportunity-edit": "/apps/crm/opportunity/{opportunity}?edit=1",
    "quote-new": "/apps/crm/quote/new?opportunity={opportunity}",  # the line-item grid
    "opportunity-filter": "/apps/crm/opportunity#filter",
    "lead-share": "/apps/crm/lead/{lead}#share",
    "lead-merge": "/apps/crm/lead/merge?ids={leads}",
    "opportunity-board": "/apps/crm/opportunity/board",
    "dashboard": "/apps/crm/dashboards/sales_manager",  # the rep's own numbers: tiles load in parallel
    "lead-import": "/apps/crm/lead/import",  # the wizard's steps with a file: see docs/user-guide/web-app.md
    "lead-import-history": "/apps/crm/lead/imports",
    "inbox": "/inbox",  # approvals: SHOT_USER=demo.manager.east@example.com shows the pending box with requests
    "delegations": "/me/delegations",
}
if os.environ.get("SHOT_TASK"):  # an approval task of SHOT_USER (docs/user-guide/web-app.md, Approvals)
    PAGES["task"] = "/tasks/" + os.environ["SHOT_TASK"]
if os.environ.get("SHOT_PUBLIC_FORM"):  # a published public form's slug (docs/user-guide/public-forms.md)
    PAGES["public-form"] = "/f/" + os.environ["SHOT_PUBLIC_FORM"]
if os.environ.get("SHOT_BUILDER"):  # SHOT_USER an administrator: the process trial run (docs/user-guide/processes.md)
    PAGES["builder-simulate-empty"] = "/build/apps/crm/processes/quote_discount/simulate"
WIDTHS = {"desktop": 1280, "phone": 375}


def first_id(page, entity: str) -> int:
    return page.request.get(f"{BASE}/api/v1/apps/crm/{entity}?limit=1").json()["items"][0]["id"]


def main(only: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=FLAGS)
        for locale in ("zh-CN", "en"):
            for device, width in WIDTHS.items():
                ctx = browser.new_context(locale=locale, viewport={"width": width, "height": 900}, device_scale_factor=1)
                page = ctx.new_page()
                page.goto(f"{BASE}/login")
                page.screenshot(path=str(OUT / f"login-{locale}-{device}.png")) if not only or "login" in only else None
                page.fill("#email", USER)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(f"{BASE}/")
                ids = {"account": first_id(page, "account"), "opportunity": first_id(page, "opportunity")}
                leads = page.request.get(f"{BASE}/api/v1/apps/crm/lead?limit=2").json()["items"]
                ids |= {"lead": leads[0]["id"], "leads": ",".join(str(r["id"]) for r in leads)}
                for name, path in PAGES.items():
                    if name == "login" or (only and name not in only):
                        continue
                    page.goto(BASE + path.format(**ids))
                    page.wait_for_load_state("networkidle")
                    whole = device == "phone" and "#" not in path  # a dialog (#filter, #share) is shot as seen
                    page.screenshot(path=str(OUT / f"{name}-{locale}-{device}.png"), full_page=whole)
                ctx.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1:])
