"""Reading a package from a folder or a zip into {relative path: parsed JSON}, refusing hostile archives.

Every problem names its file: absolute paths, `..`, symlinks, zip bombs, files over the size limit,
too many files, non-UTF-8 text, invalid JSON. Errors carry `file` and a JSON Pointer into the package
seen as a tree (`/rules/r1.json/entity`: folder, file, then the pointer inside the file).
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from engine.core.errors import ErrorCollector, ErrorDetail, ValidationFailed

MAX_FILE_BYTES = 2 * 1024 * 1024  # one definition or sample file
MAX_TOTAL_BYTES = 64 * 1024 * 1024  # the whole package, uncompressed
MAX_FILES = 2000
MAX_RATIO = 100  # uncompressed / compressed, above which a zip member is treated as a bomb
FOLDERS = ("entities", "forms", "roles", "processes", "rules", "charts", "dashboards", "sample")
ROOT_FILES = ("manifest.json", "demo.json")


@dataclass(frozen=True)
class PackageError(ErrorDetail):
    """A located problem in a package: `file` is its relative path, `path` the pointer from the package root."""

    file: str = ""

    def as_dict(self) -> dict[str, str]:
        return super().as_dict() | {"file": self.file}


def file_error(file: str, pointer: str, code: str, message: str) -> PackageError:
    return PackageError(("/" + file if file else "") + pointer, code, message, file)


def in_file(file: str, errors: list[ErrorDetail]) -> list[ErrorDetail]:
    """Errors a validator reported inside one document, located in the package."""
    return [file_error(file, e.path, e.code, e.message) for e in errors]


def refuse(errors: list[ErrorDetail], detail: str = "The package has errors") -> None:
    if errors:
        raise ValidationFailed(detail, errors=errors)


# -- reading ---------------------------------------------------------------------------------------
def read_folder(root: Path) -> dict[str, bytes]:
    """The package files under a folder; symlinks are refused, hidden files (.git, .DS_Store) skipped."""
    errors: list[ErrorDetail] = []
    sizes: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in sorted(n for n in (*dirnames, *filenames) if not n.startswith(".")):
            rel = (here / name).relative_to(root).as_posix()
            if (here / name).is_symlink():
                errors.append(file_error(rel, "", "symlink", f"{rel} is a symbolic link; a package holds plain files only"))
            elif name in filenames:
                sizes[rel] = (here / name).stat().st_size
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not (here / d).is_symlink())
    if len(sizes) > MAX_FILES:
        errors.append(file_error("", "", "too_many_files", f"a package holds at most {MAX_FILES} files, this one {len(sizes)}"))
    elif sum(sizes.values()) > MAX_TOTAL_BYTES:
        errors.append(file_error("", "", "too_large", f"the package is over {MAX_TOTAL_BYTES // 2**20} MiB"))
    for rel, size in sizes.items():
        _checked_size(rel, size, errors)
    refuse(errors)
    return {rel: (root / rel).read_bytes() for rel in sizes}


def read_zip(data: bytes) -> dict[str, bytes]:
    """The package files in a zip (optionally all under one top folder), after checking every member."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        not_zip = file_error("", "", "not_a_zip", "not a zip archive")
        raise ValidationFailed("The package is not a zip file", errors=[not_zip]) from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not _skipped(m.filename)]
        errors = _zip_problems(members)
        refuse(errors)
        found = {}
        for m in members:
            with archive.open(m) as handle:
                content = handle.read(MAX_FILE_BYTES + 1)  # a lying header cannot make us read more
            if _checked_size(m.filename, len(content), errors):
                found[m.filename] = content
        refuse(errors)
    return _strip_top_folder(found)


def _skipped(name: str) -> bool:
    return name.startswith("__MACOSX/") or any(p.startswith(".") and p not in (".", "..") for p in name.split("/"))


def _zip_problems(members: list[zipfile.ZipInfo]) -> list[ErrorDetail]:
    errors: list[ErrorDetail] = []
    if len(members) > MAX_FILES:
        return [file_error("", "", "too_many_files", f"a package holds at most {MAX_FILES} files, this one {len(members)}")]
    if sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
        errors.append(file_error("", "", "too_large", f"the package is over {MAX_TOTAL_BYTES // 2**20} MiB uncompressed"))
    seen: set[str] = set()
    for m in members:
        name = m.filename
        parts = PurePosixPath(name).parts
        if name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
            errors.append(file_error(name, "", "absolute_path", f"{name!r} is an absolute path"))
        elif ".." in parts:
            errors.append(file_error(name, "", "path_traversal", f"{name!r} climbs out of the package with '..'"))
        elif stat.S_ISLNK(m.external_attr >> 16):
            errors.append(file_error(name, "", "symlink", f"{name} is a symbolic link; a package holds plain files only"))
        elif m.flag_bits & 0x1:
            errors.append(file_error(name, "", "encrypted", f"{name} is encrypted"))
        elif name in seen:
            errors.append(file_error(name, "", "duplicate_file", f"{name} appears twice in the archive"))
        elif m.file_size > 1024 * 1024 and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            errors.append(file_error(name, "", "zip_bomb", f"{name} expands over {MAX_RATIO} times: refused as a zip bomb"))
        else:
            _checked_size(name, m.file_size, errors)
        seen.add(name)
    return errors


def _checked_size(name: str, size: int, errors: list[ErrorDetail]) -> bool:
    if size > MAX_FILE_BYTES:
        errors.append(file_error(name, "", "file_too_large", f"{name} is over {MAX_FILE_BYTES // 1024} KiB"))
        return False
    return True


def _strip_top_folder(found: dict[str, bytes]) -> dict[str, bytes]:
    """A zip of the package folder itself: everything under one top folder that holds the manifest."""
    tops = {name.split("/", 1)[0] for name in found}
    top = next(iter(tops), "")
    if "manifest.json" in found or len(tops) != 1 or f"{top}/manifest.json" not in found:
        return found
    return {name.split("/", 1)[1]: content for name, content in found.items()}


# -- parsing ---------------------------------------------------------------------------------------
def parse_files(raw: dict[str, bytes]) -> dict[str, Any]:
    """Each file parsed as JSON (numbers with a fraction as Decimal), after checking the layout."""
    errors = ErrorCollector()
    docs: dict[str, Any] = {}
    for name in sorted(raw):
        problem = _layout_problem(name)
        if problem:
            errors.errors.append(file_error(name, "", "unknown_file", problem))
            continue
        try:
            docs[name] = parse_json(raw[name])
        except ValueError as exc:
            code, _, message = str(exc).partition(":")
            errors.errors.append(file_error(name, "", code, f"{name}: {message.strip()}"))
    if "manifest.json" not in raw:
        errors.errors.append(file_error("manifest.json", "", "missing", "a package needs a manifest.json at its root"))
    refuse(errors.errors)
    return docs


def _layout_problem(name: str) -> str | None:
    parts = name.split("/")
    if len(parts) == 1:
        return None if name in ROOT_FILES else f"{name}: a package's root holds only {' and '.join(ROOT_FILES)}"
    if len(parts) != 2 or parts[0] not in FOLDERS:
        return f"{name}: definitions live one level deep in {', '.join(f + '/' for f in FOLDERS)}"
    if not parts[1].endswith(".json"):
        return f"{name}: package files are JSON documents named <key>.json"
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"json: {name} is not valid JSON")


def parse_json(content: bytes) -> Any:
    try:
        text = content.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ValueError(f"encoding: not valid UTF-8 (byte {exc.start})") from None
    try:
        doc = json.loads(text, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("json: the JSON nests too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"json: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    try:
        json.dumps(doc, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("encoding: an unpaired UTF-16 surrogate escape (\\ud800-\\udfff)") from None
    return doc
