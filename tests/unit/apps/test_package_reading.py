"""Reading a package from a folder or zip: hostile archives and bad files are refused before anything
touches the database, each error naming its file and the JSON path inside it."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest

from engine.apps import package as pkg_mod
from engine.apps.manifest import Version
from engine.apps.service import load
from engine.core.errors import ValidationFailed
from tests.unit.apps.shop_package import MANIFEST, ROLE, RULE, shop_files, write_package, zip_package


def _errors(source: Path | bytes) -> list[dict[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        load(source)
    return [e.as_dict() for e in caught.value.errors]


def _zip(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, content in members:
            archive.writestr(info, content)
    return out.getvalue()


def test_a_folder_and_the_same_zip_under_a_top_folder_read_the_same(tmp_path: Path) -> None:
    files = shop_files()
    from_folder = load(write_package(tmp_path / "shop", files))
    from_zip = load(zip_package(files, top="shop-1.0.0/"))
    assert from_folder.definitions == from_zip.definitions
    assert from_folder.manifest.version == "1.0.0" and from_folder.app == "shop"
    assert from_folder.counts() == {"role": 1, "entity": 2, "form": 1, "rule": 1, "process": 1, "chart": 1, "dashboard": 1}
    assert from_folder.samples["order"][1][0]["customer"] == {"lookup": {"name": "Acme"}}


def test_traversal_absolute_paths_and_symlinks_in_a_zip_are_refused_naming_the_member() -> None:
    link = zipfile.ZipInfo("entities/link.json")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = _zip([("manifest.json", b"{}"), ("../evil.json", b"{}"), ("/etc/passwd.json", b"{}"), (link, b"/etc/passwd")])
    errors = _errors(data)
    assert {(e["file"], e["code"]) for e in errors} == {
        ("../evil.json", "path_traversal"), ("/etc/passwd.json", "absolute_path"), ("entities/link.json", "symlink"),
    }  # fmt: skip
    assert next(e for e in errors if e["code"] == "path_traversal")["path"] == "/../evil.json"


def test_a_zip_bomb_a_large_file_and_too_many_files_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = _zip([("manifest.json", b"{}"), ("sample/lead.json", b" " * (3 * 1024 * 1024))])
    assert [(e["file"], e["code"]) for e in _errors(bomb)] == [("sample/lead.json", "zip_bomb")]
    big = _zip([("manifest.json", b"{}"), ("sample/lead.json", os.urandom(pkg_mod.MAX_FILE_BYTES + 1))])
    assert [(e["file"], e["code"]) for e in _errors(big)] == [("sample/lead.json", "file_too_large")]
    monkeypatch.setattr(pkg_mod, "MAX_FILES", 3)
    many = _zip([(f"rules/r{i}.json", b"{}") for i in range(4)])
    assert [(e["path"], e["code"]) for e in _errors(many)] == [("", "too_many_files")]


def test_not_a_zip_is_a_422() -> None:
    assert _errors(b"PK\x03\x04 not really") == [{"path": "", "code": "not_a_zip", "message": "not a zip archive", "file": ""}]


def test_folder_symlinks_and_oversized_files_are_named(tmp_path: Path) -> None:
    root = write_package(tmp_path / "p", shop_files())
    (root / "rules" / "stolen.json").symlink_to("/etc/hostname")
    (root / "sample" / "huge.json").write_bytes(b" " * (pkg_mod.MAX_FILE_BYTES + 1))
    expected = {("rules/stolen.json", "symlink"), ("sample/huge.json", "file_too_large")}
    assert {(e["file"], e["code"]) for e in _errors(root)} == expected


def test_encoding_json_and_layout_errors_name_each_file(tmp_path: Path) -> None:
    files: dict[str, Any] = shop_files()
    files["rules/latin1.json"] = '{"key": "caf\xe9"}'.encode("latin-1")
    files["charts/broken.json"] = b'{"key": "broken",'
    files["charts/nan.json"] = b'{"key": NaN}'
    files["README.md"] = b"# notes"
    files["entities/deep/x.json"] = b"{}"
    errors = {e["file"]: e for e in _errors(write_package(tmp_path / "p", files))}
    assert set(errors) == {"rules/latin1.json", "charts/broken.json", "charts/nan.json", "README.md", "entities/deep/x.json"}
    assert errors["rules/latin1.json"]["code"] == "encoding" and "byte 12" in errors["rules/latin1.json"]["message"]
    assert errors["charts/broken.json"]["code"] == "json" and "line 1 column 18" in errors["charts/broken.json"]["message"]
    assert errors["charts/nan.json"]["code"] == "json"
    assert errors["README.md"]["code"] == errors["entities/deep/x.json"]["code"] == "unknown_file"


def test_a_missing_manifest_is_named() -> None:
    errors = _errors(zip_package({"entities/a.json": {}}))
    assert [(e["file"], e["path"], e["code"]) for e in errors] == [("manifest.json", "/manifest.json", "missing")]


def test_definition_errors_carry_file_and_json_path(tmp_path: Path) -> None:
    """Unknown fields, a key that is not the file name, a role granting on another app, a bad version."""
    files = shop_files(
        manifest_json=MANIFEST | {"version": "1.0", "min_engine_version": "99.0.0"},
        rules__r4_paid_completes_json=RULE | {"colour": "red"},
        roles__shop_clerk_json=ROLE | {"grants": [{"entity": "hr.salary", "read": "all"}]},
        forms__customer_main_json={"key": "main", "entity": "customer", "sections": [{"fields": ["name"]}]},
    )
    errors = {(e["file"], e["path"], e["code"]) for e in _errors(write_package(tmp_path / "p", files))}
    assert errors == {
        ("manifest.json", "/manifest.json/version", "string_pattern_mismatch"),
        ("rules/r4_paid_completes.json", "/rules/r4_paid_completes.json/colour", "extra_forbidden"),
        ("roles/shop_clerk.json", "/roles/shop_clerk.json/grants/0/entity", "foreign_grant"),
        ("forms/customer_main.json", "/forms/customer_main.json/key", "key_mismatch"),
    }


def test_an_engine_too_old_for_the_package_is_refused(tmp_path: Path) -> None:
    files = shop_files(manifest_json=MANIFEST | {"min_engine_version": "99.0.0"})
    assert [(e["path"], e["code"]) for e in _errors(write_package(tmp_path / "p", files))] == [
        ("/manifest.json/min_engine_version", "engine_too_old")
    ]


def test_semver_precedence() -> None:
    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
             "1.0.0", "1.0.1", "1.10.0", "2.0.0"]  # fmt: skip
    assert sorted(chain, key=Version) == chain
    assert Version("1.0.0+build.5") == Version("1.0.0")
    with pytest.raises(ValueError, match="not a semantic version"):
        Version("1.0")
