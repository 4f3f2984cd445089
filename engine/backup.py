"""`tangram backup` and `tangram restore`: one archive holds the database and the attachments.

A backup is consistent while the server keeps writing: SQLite through its online backup API (one snapshot
of every page), PostgreSQL through `pg_dump` (one repeatable-read snapshot). The database is copied first
and the attachment directory after it, so every file a backed-up record names is in the archive (a file is
stored before the record that names it commits, and bytes are only deleted by the purge, long after). Files
uploaded during the copy may come along unreferenced; the file sweeper removes them after a restore.

    backup.tar.gz
      manifest.json      {"format": 1, "version", "dialect", "revision", "created_at", "files"}
      database.sqlite    (SQLite)  or  database.pgdump  (PostgreSQL, pg_dump's custom format)
      files/...          the local file storage; S3 storage is not copied (use the bucket's versioning)

A restore goes into an empty database and an empty file directory (or `force`), refuses an archive from a
newer version of the schema, and leaves upgrading an older one to `tangram migrate`. The session key is not
in the archive: a restored instance without it signs everybody out, nothing more.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from engine import __version__
from engine.core.errors import BadRequest, Conflict
from engine.core.migrate import current_revision, head_revision
from engine.core.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE, PG_FILE = "database.sqlite", "database.pgdump"


@dataclass(frozen=True)
class Manifest:
    format: int
    version: str
    dialect: str
    revision: str | None
    created_at: str
    files: int


def backup(settings: Settings, out: Path) -> Manifest:
    """Write the archive `out` (.tar.gz); returns what it holds."""
    url = make_url(settings.database_url)
    revision = current_revision(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="tangram-backup-") as tmp:
        work = Path(tmp)
        if url.get_backend_name() == "sqlite":
            _copy_sqlite(_sqlite_path(url), work / SQLITE_FILE)
        else:
            _run("pg_dump", "--format=custom", "--no-owner", f"--file={work / PG_FILE}", _libpq(url), password=url.password)
        files = _files_dir(settings)
        count = _copy_tree(files, work / "files") if files else 0
        manifest = Manifest(FORMAT, __version__, url.get_backend_name(), revision, datetime.now(UTC).isoformat(), count)
        (work / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2))
        out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(out, "w:gz") as archive:
            for path in sorted(work.iterdir()):
                archive.add(path, arcname=path.name)
    return manifest


def restore(settings: Settings, archive: Path, *, force: bool = False) -> Manifest:
    """Put the archive's database and files in place of the configured (empty) ones."""
    url = make_url(settings.database_url)
    with tempfile.TemporaryDirectory(prefix="tangram-restore-") as tmp:
        work = Path(tmp)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(work, filter="data")  # no absolute paths, links out or devices
        manifest = _manifest(work)
        if manifest.dialect != url.get_backend_name():
            raise BadRequest(f"this backup is of a {manifest.dialect} database; DATABASE_URL names {url.get_backend_name()}")
        if url.get_backend_name() == "sqlite":
            _restore_sqlite(work / SQLITE_FILE, _sqlite_path(url), force=force)
        else:
            _restore_postgres(work / PG_FILE, url, force=force)
        files = _files_dir(settings)
        if files and (work / "files").exists():
            if files.exists() and any(files.iterdir()) and not force:
                raise Conflict(f"the file directory {files} is not empty; restore into an empty one, or pass --force")
            _copy_tree(work / "files", files)
    return manifest


def _manifest(work: Path) -> Manifest:
    try:
        manifest = Manifest(**json.loads((work / MANIFEST).read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise BadRequest(f"this is not a Tangram backup ({MANIFEST} is missing or unreadable: {exc})") from None
    if manifest.format != FORMAT:
        raise BadRequest(f"backup format {manifest.format} is not known to this version (it reads format {FORMAT})")
    if manifest.revision and manifest.revision > (head_revision() or ""):
        raise BadRequest(
            f"the backup's schema ({manifest.revision}) is newer than this version's ({head_revision()}): upgrade first"
        )
    return manifest


def _copy_sqlite(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)  # all pages in one step: a snapshot, while writers go on in WAL mode
    finally:
        dst.close()
        src.close()


def _restore_sqlite(source: Path, target: Path, *, force: bool) -> None:
    if target.exists() and target.stat().st_size > 0 and not force:
        raise Conflict(f"{target} exists; restore into a new database file, or pass --force")
    for stale in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        stale.unlink(missing_ok=True)  # a WAL left beside the target would be replayed over the restored pages
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy_sqlite(source, target)


def _restore_postgres(dump: Path, url: URL, *, force: bool) -> None:
    count = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
    tables = _run("psql", "--no-psqlrc", "--tuples-only", "--no-align", _libpq(url), "--command", count, password=url.password)
    if int(tables.strip() or 0) and not force:
        raise Conflict(f"database {url.database} has tables; restore into an empty database, or pass --force")
    clean = ["--clean", "--if-exists"] if force else []
    restoring = ("pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", *clean, f"--dbname={_libpq(url)}")
    _run(*restoring, str(dump), password=url.password)


def _run(*command: str, password: str | None = None) -> str:
    if shutil.which(command[0]) is None:
        raise BadRequest(f"{command[0]} is not installed: PostgreSQL backups need its client programs (postgresql-client)")
    env = os.environ | ({"PGPASSWORD": password} if password else {})  # not on the command line, where ps shows it
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)  # noqa: S603 (our programs, no shell)
    if done.returncode != 0:
        raise BadRequest(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _libpq(url: URL) -> str:
    """The URL as libpq reads it: no +asyncpg driver, no password (_run passes it in PGPASSWORD)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BadRequest("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _files_dir(settings: Settings) -> Path | None:
    """The local file storage's directory (as engine.files.storage finds it); None for S3."""
    if settings.tangram_file_storage != "local":
        return None
    return Path(settings.tangram_files_dir or Path(settings.var_dir) / "files")


def _copy_tree(source: Path, target: Path) -> int:
    if not source.exists():
        return 0
    shutil.copytree(source, target, dirs_exist_ok=True)
    return sum(1 for p in target.rglob("*") if p.is_file())
