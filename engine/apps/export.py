"""Exporting an app as a package: every definition in canonical form, one file each, written the same
way every time (sorted files, 2-space JSON, fixed zip timestamps) so two exports diff clean."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from engine import __version__
from engine.apps.definitions import Definitions
from engine.apps.install import installed
from engine.apps.kinds import KINDS
from engine.apps.manifest import FORMAT
from engine.core.errors import BadRequest
from engine.core.jsonvalues import json_default

ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no clock in the bytes


def dump(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False, default=json_default) + "\n").encode()


async def export_files(conn: AsyncConnection, defs: Definitions) -> dict[str, bytes]:
    """relative path -> file content, for the app's manifest and every definition."""
    app = await defs.engines.schema.get_app(conn, defs.app)
    record = await installed(conn, defs.app)
    if record is not None:  # the package's manifest, with the look the app has now
        manifest = record.manifest | {k: app[k] for k in ("icon", "color") if app[k] is not None}
    else:
        manifest = {"format": FORMAT, "key": app["key"], "name": app["label"], "version": "0.1.0"}
        manifest["min_engine_version"] = __version__
        for attr in ("description", "icon", "color"):
            if app[attr] is not None:
                manifest[attr] = app[attr]
    files = {"manifest.json": dump(manifest)}
    for kind in KINDS:
        for key, doc in (await defs.current(conn, kind.name)).items():
            files[f"{kind.folder}/{key}.json"] = dump(doc)
    return dict(sorted(files.items()))


def to_zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return out.getvalue()


def write_folder(files: dict[str, bytes], out: Path) -> None:
    """Write into an empty (or new) folder, or over an earlier export or package source: its definition
    files are replaced; anything else (sample/, demo.json, README, .git) is left alone."""
    if out.exists() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise BadRequest(f"{out} is not empty and holds no package: choose an empty folder")
    for old in (p for kind in KINDS for p in (out / kind.folder).glob("*.json")):
        if old.is_file() and not old.is_symlink():
            old.unlink()
    for name, content in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
