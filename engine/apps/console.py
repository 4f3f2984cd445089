"""How `tangram install` and `tangram export` show their results: rich tables for people, or JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from engine.core.errors import TangramError
from engine.core.jsonvalues import json_default


def show_json(doc: Any) -> None:
    print(json.dumps(doc, indent=2, ensure_ascii=False, default=json_default))


def show_report(report: dict[str, Any]) -> None:
    console = Console()
    verb = "would be" if report["dry_run"] else "was"
    done = "upgraded" if report["mode"] == "upgrade" else "installed"
    since = f" from {report['from_version']}" if report["from_version"] else ""
    console.print(f"[bold]{report['app']}[/bold] {report['version']} {verb} {done}{since}.")
    steps = Table("kind", "key", "action", title="Definitions")
    for s in report["steps"]:
        if s["action"] != "unchanged":
            steps.add_row(s["kind"], s["key"], s["action"])
    if steps.row_count:
        console.print(steps)
    lists = (("Conflicts (kept as changed here)", report["conflicts"]), ("Kept (no longer in the package)", report["kept"]))
    for title, items in lists:
        if items:
            table = Table("kind", "key", "field", "reason", "message", title=title)
            for c in items:
                table.add_row(c["kind"], c["key"], str(c.get("field") or c.get("attribute") or ""), c["reason"], c["message"])
            console.print(table)
    if report["sample"]:
        console.print("Sample records: " + ", ".join(f"{k} {n}" for k, n in report["sample"].items()))


def show_error(exc: TangramError, as_json: bool) -> None:
    if as_json:
        show_json({"status": exc.status, "detail": exc.detail, "errors": [e.as_dict() for e in exc.errors], **exc.extra})
        return
    console = Console(stderr=True, soft_wrap=True)  # one line per error, whole, so it can be grepped
    console.print(f"[red]tangram: {escape(exc.detail)}[/red]", highlight=False)
    for e in exc.errors:
        console.print(f"  {escape(e.path or '(package)')}  [bold]{escape(e.code)}[/bold]  {escape(e.message)}", highlight=False)
