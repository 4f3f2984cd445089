"""App packages as one service: the catalog, loading, installing (or upgrading, or a dry run of
either), exporting. The API and the CLI call this and nothing else in engine.apps."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.apps.contents import Package, read_contents
from engine.apps.definitions import Definitions, Engines
from engine.apps.export import export_files, to_zip, write_folder
from engine.apps.install import Install, installed
from engine.apps.manifest import Manifest, Version
from engine.apps.package import parse_files, parse_json, read_folder, read_zip
from engine.auth.policy import Access
from engine.core.db import Database
from engine.core.errors import NotFound
from engine.schema.definition import KEY_PATTERN


def load(source: Path | bytes) -> Package:
    """A package from a folder, a .zip file or zip bytes; a 422 listing every problem, file by file."""
    if isinstance(source, bytes):
        raw = read_zip(source)
    elif source.is_dir():
        raw = read_folder(source)
    else:
        raw = read_zip(source.read_bytes())
    return read_contents(parse_files(raw))


@dataclass
class PackageService:
    engines: Engines
    db: Database
    catalog_dir: Path

    def catalog(self) -> list[dict[str, Any]]:
        """The packages shipped in the catalog folder, each with its manifest (or why it cannot be read)."""
        found = []
        for folder in sorted(p for p in self.catalog_dir.iterdir() if p.is_dir()) if self.catalog_dir.is_dir() else []:
            item: dict[str, Any] = {"key": folder.name}
            try:
                item["manifest"] = Manifest.model_validate(parse_json((folder / "manifest.json").read_bytes())).to_json()
            except (OSError, ValueError) as exc:
                item["error"] = str(exc).splitlines()[0]
            found.append(item)
        return found

    def catalog_package(self, key: str) -> Path:
        folder = self.catalog_dir / key
        if not re.match(KEY_PATTERN, key) or not (folder / "manifest.json").is_file():
            raise NotFound(f"the catalog has no package {key!r}")
        return folder

    def resolve(self, source: str) -> Path:
        """A path to a folder or zip, else a catalog key (`tangram install crm`)."""
        path = Path(source)
        if path.exists():
            return path
        if re.match(KEY_PATTERN, source):
            return self.catalog_package(source)
        raise NotFound(f"{source} is neither a package folder, a zip file nor a catalog key")

    async def install(
        self, package: Package, actor: Access, *, dry_run: bool = False, force: bool = False, sample: bool = True
    ) -> dict[str, Any]:
        """Install or upgrade in one transaction; a dry run does all of it, reports, and rolls back."""
        try:
            async with self.db.rehearse() if dry_run else self.db.write() as conn:
                report = await Install(self.engines, conn, package, actor, force=force, sample=sample).run()
        except BaseException:
            self._forget(package)
            raise
        if dry_run:
            self._forget(package)
        return report | {"dry_run": dry_run}

    async def is_current(self, package: Package) -> bool:
        """Is this package's version (or a newer one) already installed? (`tangram install --skip-installed`)"""
        async with self.db.read() as conn:
            record = await installed(conn, package.app)
        return record is not None and Version(record.version) >= Version(package.manifest.version)

    async def export(self, app: str, actor: Access) -> dict[str, bytes]:
        async with self.db.read() as conn:
            return await export_files(conn, Definitions(self.engines, app, actor))

    async def export_zip(self, app: str, actor: Access) -> bytes:
        return to_zip(await self.export(app, actor))

    async def export_to(self, app: str, actor: Access, out: Path) -> dict[str, bytes]:
        files = await self.export(app, actor)
        if out.suffix == ".zip":
            out.write_bytes(to_zip(files))
        else:
            write_folder(files, out)
        return files

    def _forget(self, package: Package) -> None:
        """Caches may hold what the rolled-back transaction wrote (ids are reused on SQLite after a rollback)."""
        e = self.engines
        e.store.forget()
        for key in package.definitions["entity"]:
            e.rule_service.engine.forget(package.app, key)
            e.process_service.engine.forget(package.app, key)
