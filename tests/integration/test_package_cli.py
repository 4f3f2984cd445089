"""`tangram install` and `tangram export` as an implementer runs them: real processes, DATABASE_URL honoured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.unit.apps.shop_package import MANIFEST, RULE, shop_files, write_package


def _tangram(database_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = os.environ | {"DATABASE_URL": database_url} | (env or {})
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=full_env, timeout=120)


def test_install_from_the_catalog_by_key_then_upgrade_with_a_dry_run(database_url: str, tmp_path: Path) -> None:
    write_package(tmp_path / "catalog" / "shop", shop_files())
    catalog = {"TANGRAM_CATALOG_DIR": str(tmp_path / "catalog")}
    first = _tangram(database_url, "install", "shop", "--no-sample", env=catalog)
    assert first.returncode == 0, first.stderr
    assert "shop 1.0.0 was installed." in first.stdout and "r4_paid_completes" in first.stdout
    newer = write_package(tmp_path / "v2", shop_files(manifest_json=MANIFEST | {"version": "1.1.0"},
                                                      rules__r4_paid_completes_json=RULE | {"order": 2}))  # fmt: skip
    plan = _tangram(database_url, "install", str(newer), "--dry-run", "--json")
    assert plan.returncode == 0, plan.stderr
    report: dict[str, Any] = json.loads(plan.stdout)
    assert (report["mode"], report["from_version"], report["dry_run"]) == ("upgrade", "1.0.0", True)
    assert [s["key"] for s in report["steps"] if s["action"] == "replace"] == ["r4_paid_completes"]
    same = _tangram(database_url, "install", "shop", env=catalog)
    assert same.returncode == 1 and "shop 1.0.0 is installed; the package is 1.0.0" in same.stderr


def test_a_bad_package_prints_every_error_with_its_file(database_url: str, tmp_path: Path) -> None:
    bad = write_package(tmp_path / "bad", shop_files(rules__r4_paid_completes_json=RULE | {"entity": "ghost"}))
    shown = _tangram(database_url, "install", str(bad), "--json")
    assert shown.returncode == 1
    assert json.loads(shown.stdout)["errors"] == [{
        "path": "/rules/r4_paid_completes.json/entity", "code": "unknown_entity", "message": "app 'shop' has no entity 'ghost'",
        "file": "rules/r4_paid_completes.json",
    }]  # fmt: skip
    table = _tangram(database_url, "install", str(bad))
    assert table.returncode == 1 and "rules/r4_paid_completes.json" in table.stderr and "unknown_entity" in table.stderr
    missing = _tangram(database_url, "install", str(tmp_path / "nowhere.zip"))
    assert missing.returncode == 1 and "neither a package folder, a zip file nor a catalog key" in missing.stderr


def test_export_to_a_folder_and_a_zip_is_deterministic(database_url: str, tmp_path: Path) -> None:
    assert _tangram(database_url, "install", str(write_package(tmp_path / "src", shop_files()))).returncode == 0
    out = _tangram(database_url, "export", "shop", "--out", str(tmp_path / "out"), "--json")
    assert out.returncode == 0, out.stderr
    files = json.loads(out.stdout)["files"]
    assert files == sorted(files) and "entities/order.json" in files
    order = (tmp_path / "out" / "entities" / "order.json").read_text()
    assert order.startswith('{\n  "key": "order",\n  "label": {\n    "en": "Order",\n    "zh-CN": "订单"\n  },')
    for name in ("a.zip", "b.zip"):
        assert _tangram(database_url, "export", "shop", "--out", str(tmp_path / name)).returncode == 0
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
