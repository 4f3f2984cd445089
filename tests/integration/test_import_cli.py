"""X4 from the command line: `tangram import` in a real process, a progress bar, a summary, and the
error report written next to the file."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from openpyxl import Workbook

from tests.api.test_imports_api import ACCOUNT, BAD_ERRORS, BAD_ROWS, GOOD, HEADER, LEAD, leads
from tests.factories import make_app


def _tangram(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=env, timeout=120)


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


async def test_x4_cli_imports_a_workbook_and_writes_the_error_report_beside_it(ctx, client, database_url, tmp_path):
    await make_app(client, "crm", ACCOUNT, LEAD)
    await client.post("/api/v1/apps/crm/account/bulk", json={"op": "create", "items": [
        {"name": "华为技术有限公司", "code": "C-001"}, {"name": "Acme", "code": "C-002"},
        {"name": "Twin", "code": "C-003"}, {"name": "Twin", "code": "C-004"}]})  # fmt: skip
    bad = _xlsx(tmp_path / "leads.xlsx", BAD_ROWS)

    refused = _tangram(database_url, "import", "crm", "lead", str(bad))
    assert refused.returncode == 1
    assert "import 1 failed: 5 rows, 0 created, 0 updated, 3 failed (nothing was written" in refused.stderr
    report = tmp_path / "leads.errors.csv"
    lines = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert [line[:2] for line in lines] == [["row", "column"], *[[str(e["row"]), e["column"]] for e in BAD_ERRORS]]
    assert await leads(client) == []

    skipped = _tangram(database_url, "import", "crm", "lead", str(bad), "--skip-bad-rows", "--no-automation")
    assert skipped.returncode == 0 and "import 2 done: 5 rows, 2 created, 0 updated, 3 failed" in skipped.stderr
    assert [x["name"] for x in await leads(client)] == ["华东机械询价", "Acme tooling"]

    good = _xlsx(tmp_path / "update.xlsx", [HEADER, [*GOOD[0][:2], "¥9,999", *GOOD[0][3:]]])
    mapped = _tangram(database_url, "import", "crm", "lead", str(good), "--map", "Email=email", "--map", "预算=budget",
                      "--upsert-on", "email", "--dry-run")  # fmt: skip
    assert mapped.returncode == 0 and "0 created, 1 updated, 0 failed (dry run: nothing was written)" in mapped.stderr
    unknown = _tangram(database_url, "import", "crm", "lead", str(good), "--map", "预算=nope")
    assert unknown.returncode == 1 and "/mapping/预算: 'nope' is not a field of 'lead'" in unknown.stderr
