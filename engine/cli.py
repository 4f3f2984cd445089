"""The `tangram` command (also `python -m engine`). Every command honours DATABASE_URL."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer

from engine.core.clock import Clock
from engine.core.settings import get_settings

app = typer.Typer(help="Tangram: a metadata-driven no-code app-builder engine.", no_args_is_help=True, add_completion=False)
DEMO_SEED = 20240607  # `tangram demo`'s default: the same seed gives the same data


def _context(clock: Clock | None = None):  # type: ignore[no-untyped-def]
    from engine.api.context import Context
    from engine.core.db import Database

    settings = get_settings()
    db = Database(settings.database_url)
    return Context(settings=settings, db=db) if clock is None else Context(settings=settings, db=db, clock=clock)


@app.command()
def migrate() -> None:
    """Create or upgrade the engine's system tables and add the built-in roles (user entities are
    managed at run time)."""
    from engine.setup import prepare_database

    typer.echo(prepare_database(get_settings().database_url).summary(), err=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default: HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: PORT or 8000)")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes (PostgreSQL only: one per core)")] = 1,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request")] = False,
) -> None:
    """Serve the web app and the API (uvloop and httptools when installed; no per-request log unless asked)."""
    import uvicorn

    settings = get_settings()
    if workers > 1 and settings.database_url.startswith("sqlite"):
        raise typer.BadParameter("several processes need PostgreSQL: SQLite allows one writer at a time", param_hint="--workers")
    # The web UI (builder_ui) wraps the engine's API app; a string import keeps the engine free of it.
    uvicorn.run(
        "builder_ui.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
        log_level="info", access_log=access_log, workers=workers,
    )  # fmt: skip


@app.command("run")
def run_all(
    apps: Annotated[list[str] | None, typer.Argument(metavar="[APP]...", help="Catalog apps to install (default: crm)")] = None,
    demo: Annotated[bool, typer.Option("--demo/--no-demo", help="Load the apps' demo data into an empty app")] = True,
    host: Annotated[str | None, typer.Option(help="Interface (default: HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: PORT or 8000)")] = None,
) -> None:
    """Set up whatever is missing (migrate, an administrator, the apps, their demo data), then serve: one
    process instead of a Python start-up per step, so a warm `make run` answers in seconds."""
    from engine.setup import prepare_database

    settings = get_settings()
    typer.echo(prepare_database(settings.database_url).summary(), err=True)

    async def set_up() -> None:
        c = _context()
        try:
            await _ensure_admin(c, None, None, if_missing=True)
            for key in apps or ["crm"]:
                await _install(c, key, skip_installed=True)
                if demo:
                    await _load_demo(c, key, None, DEMO_SEED, append=False, if_empty=True)
        finally:
            await c.db.dispose()

    asyncio.run(set_up())
    typer.echo(f"\n  Tangram is starting: open http://{host or settings.host}:{port or settings.port}/ in your browser\n")
    serve(host=host, port=port)


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Workers in this process (useful on PostgreSQL)")] = 1,
    once: Annotated[bool, typer.Option("--once", help="Run every due job, then exit")] = False,
    lease_seconds: Annotated[
        float, typer.Option(min=1, help="How long a claimed job is held before another worker may take it over")
    ] = 300,
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Jobs claimed at a time")] = 10,
    poll_seconds: Annotated[float, typer.Option(min=0.01, help="Pause between looks when nothing is due")] = 1.0,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"],
            help="With --once: run what is due at this moment (UTC unless it names its offset), as if it were now: "
            "a drill of deadlines, reminders and escalations",
        ),
    ] = None,
) -> None:
    """Run background jobs until SIGTERM or SIGINT (the job in hand finishes first). Several worker
    processes may run against one PostgreSQL database."""
    import logging
    import signal
    from datetime import UTC, timedelta

    from engine.core.clock import FrozenClock
    from engine.jobs.worker import Worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tangram").setLevel(logging.INFO)  # ours at INFO; libraries only when they warn

    if as_of is not None and not once:
        raise typer.BadParameter("--as-of runs the jobs due at that moment once: add --once", param_hint="--as-of")

    async def go() -> None:
        c = _context() if as_of is None else _context(FrozenClock(as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)))
        lease = timedelta(seconds=lease_seconds)
        workers = [
            Worker(c.db, c.clock, c.job_handlers, batch=batch, lease=lease, poll_seconds=poll_seconds) for _ in range(concurrency)
        ]
        try:
            if once:
                ran = sum(await asyncio.gather(*(w.run_until_idle() for w in workers)))
                typer.echo(f"{ran} job run(s)", err=True)
                return
            stop = asyncio.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                asyncio.get_running_loop().add_signal_handler(sig, stop.set)
            await asyncio.gather(*(w.run(stop) for w in workers))
        finally:
            await c.db.dispose()

    asyncio.run(go())


jobs_app = typer.Typer(help="Inspect and operate the background job queue.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def jobs_list(
    state: Annotated[str | None, typer.Option(help="pending, running, done or dead")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Jobs newest first, one JSON object a line."""
    from engine.api.jsonio import dumps
    from engine.jobs.admin import list_jobs
    from engine.jobs.tables import STATES

    if state is not None and state not in STATES:
        raise typer.BadParameter(f"choose one of {', '.join(STATES)}", param_hint="--state")

    async def go() -> None:
        c = _context()
        try:
            async with c.db.read() as conn:
                for job in await list_jobs(conn, state=state, limit=limit):
                    typer.echo(dumps(job).decode())
        finally:
            await c.db.dispose()

    asyncio.run(go())


@jobs_app.command("retry")
def jobs_retry(job_id: int) -> None:
    """Send a dead job back to pending, due now, with its attempts reset."""
    from engine.audit.journal import AuditJournal
    from engine.core.actor import SYSTEM
    from engine.jobs.admin import retry

    async def go() -> None:
        c = _context()
        try:
            async with c.db.write() as conn:
                job = await retry(conn, job_id, c.clock.now())
                await AuditJournal(c.clock).note(conn, "job.retried", SYSTEM, subject=str(job_id), detail={"kind": job["kind"]})
        finally:
            await c.db.dispose()
        typer.echo(f"job {job_id} ({job['kind']}) is pending again", err=True)

    asyncio.run(go())


@jobs_app.command("enqueue")
def jobs_enqueue(
    kind: str,
    payload: Annotated[str, typer.Argument(help="The payload: a JSON object")] = "{}",
    dedup_key: Annotated[str | None, typer.Option(help="Do nothing if a job with this key exists")] = None,
    max_attempts: Annotated[int, typer.Option(min=1, max=1000)] = 10,
) -> None:
    """Add a job of a registered kind; prints its id (nothing when the dedup key is taken)."""
    import json

    from engine.core.errors import BadRequest
    from engine.jobs.queue import enqueue

    try:
        body = json.loads(payload)
    except ValueError as exc:
        raise BadRequest(f"the payload is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("the payload must be a JSON object")

    async def go() -> int | None:
        c = _context()
        try:
            if kind not in c.job_handlers:
                raise BadRequest(f"no handler is registered for job kind {kind!r}; known: {', '.join(c.job_handlers.keys())}")
            async with c.db.write() as conn:
                return await enqueue(conn, c.clock.now(), kind, body, dedup_key=dedup_key, max_attempts=max_attempts)
        finally:
            await c.db.dispose()

    job_id = asyncio.run(go())
    if job_id is None:
        typer.echo(f"a job with dedup key {dedup_key!r} already exists; nothing added", err=True)
    else:
        typer.echo(job_id)


@app.command("create-admin")
def create_admin(
    email: Annotated[str | None, typer.Option(help="Default: TANGRAM_ADMIN_EMAIL or admin@example.com")] = None,
    password: Annotated[
        str | None, typer.Option(help="Default: TANGRAM_ADMIN_PASSWORD, else one is generated and printed once")
    ] = None,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="Do nothing when an admin already exists")] = False,
) -> None:
    """Ensure an administrator exists."""

    async def go() -> None:
        c = _context()
        try:
            await _ensure_admin(c, email, password, if_missing=if_missing)
        finally:
            await c.db.dispose()

    asyncio.run(go())


async def _ensure_admin(c, email: str | None, password: str | None, *, if_missing: bool) -> None:  # type: ignore[no-untyped-def]
    settings = c.settings
    email = email or settings.tangram_admin_email or "admin@example.com"
    password = password or settings.tangram_admin_password
    async with c.db.write() as conn:
        if if_missing and await c.auth.any_admin(conn):
            typer.echo("an administrator already exists", err=True)
            return
        _, generated = await c.auth.ensure_admin(conn, email, password)
    if generated:
        typer.echo(f"administrator {email} created with password: {generated}  (shown once; change it)")
    else:
        typer.echo(f"administrator {email} is ready", err=True)


@app.command("create-token")
def create_token(email: str, name: Annotated[str, typer.Option(help="A name to recognise the token by")] = "cli") -> None:
    """Create an API token for a user; prints only the token, so scripts can capture it."""

    async def go() -> str:
        c = _context()
        try:
            async with c.db.write() as conn:
                uid = await c.auth.user_id_by_email(conn, email)
                token, _ = await c.auth.create_token(conn, uid, name)
                return token
        finally:
            await c.db.dispose()

    typer.echo(asyncio.run(go()))


@app.command()
def schemas(out: Annotated[str, typer.Option(help="Folder to write the JSON Schemas to")] = "docs/schemas") -> None:
    """Write the JSON Schemas of the definition formats (docs/schemas/*.schema.json)."""
    from engine.definition_schemas import all_schemas
    from engine.schema.jsonschema import write_schemas

    for path in write_schemas(out, all_schemas()):
        typer.echo(path, err=True)


def main() -> None:
    from engine.core.errors import TangramError

    try:
        app()
    except TangramError as exc:
        typer.echo(f"tangram: {exc.detail}", err=True)
        raise SystemExit(1) from None


# -- backups (engine/backup.py) -----------------------------------------------------------------------
@app.command("backup")
def backup_command(out: Annotated[str, typer.Argument(help="The archive to write, e.g. backups/2026-12-07.tar.gz")]) -> None:
    """A consistent copy of the database and the attachments while the server runs (one .tar.gz)."""
    from pathlib import Path

    from engine.backup import backup

    made = backup(get_settings(), Path(out))
    typer.echo(f"{out}: {made.dialect} database at revision {made.revision} and {made.files} files", err=True)


@app.command("restore")
def restore_command(
    archive: Annotated[str, typer.Argument(help="An archive written by tangram backup")],
    force: Annotated[bool, typer.Option("--force", help="Replace a database and files that are not empty")] = False,
) -> None:
    """Put a backup in place of an empty database and file directory; then run tangram migrate and serve."""
    from pathlib import Path

    from engine.backup import restore

    made = restore(get_settings(), Path(archive), force=force)
    typer.echo(f"restored the backup of {made.created_at} (revision {made.revision}, {made.files} files)", err=True)


# -- tangram demo (sample data generator) -------------------------------------------------------------
@app.command()
def demo(
    app_key: Annotated[str, typer.Argument(metavar="APP", help="An installed app whose package has a demo.json (e.g. crm)")],
    accounts: Annotated[int | None, typer.Option(help="How many accounts (the spec's scale; default from the spec)")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data")] = DEMO_SEED,
    append: Annotated[bool, typer.Option("--append", help="Add to an app that already has records")] = False,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing when the app already has records (make run)")] = False,
) -> None:
    """Load realistic, consistent demo data (users, teams, records) into an installed app."""

    async def go() -> None:
        c = _context()
        try:
            await _load_demo(c, app_key, accounts, seed, append=append, if_empty=if_empty)
        finally:
            await c.db.dispose()

    asyncio.run(go())


async def _load_demo(c, app_key: str, accounts: int | None, seed: int, *, append: bool, if_empty: bool) -> None:  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.apps.demo import generate

    with Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        tasks: dict[str, object] = {}

        def show(entity: str, done: int, total: int | None) -> None:
            if entity not in tasks:
                tasks[entity] = bar.add_task(entity, total=total)
            bar.update(tasks[entity], completed=done, total=total or done)  # type: ignore[arg-type]

        summary = await generate(c, app_key, accounts, seed, append=append, if_empty=if_empty, progress=show)
    if summary.skipped:
        typer.echo(f"{summary.skipped}: no demo data added", err=True)
        return
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}", err=True)
    total = sum(summary.counts.values())
    typer.echo(f"{total} records in {summary.seconds:.1f} s ({summary.records_per_second:.0f} records/s): "
               + ", ".join(f"{k} {n}" for k, n in summary.counts.items()))  # fmt: skip
    if summary.in_flight:
        typer.echo(f"{summary.in_flight} processes left waiting (approvals, tickets): the demo users' inboxes have work")
    typer.echo(f"demo users (password {summary.password}): {', '.join(summary.users)}")


# -- app packages (engine/apps) ---------------------------------------------------------------------
@app.command()
def install(
    source: Annotated[str, typer.Argument(help="A catalog key (crm), a package folder or a .zip")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything and print the plan; write nothing")] = False,
    force: Annotated[bool, typer.Option("--force", help="Reinstall the same or an older version")] = False,
    no_sample: Annotated[bool, typer.Option("--no-sample", help="Do not load the package's sample records")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report (or the errors) as JSON")] = False,
    skip_installed: Annotated[
        bool, typer.Option("--skip-installed", help="Do nothing when this version or a newer one is installed (make run)")
    ] = False,
) -> None:
    """Install an app package, or upgrade the installed app to it (customers' changes are kept)."""

    async def go() -> None:
        c = _context()
        try:
            await _install(c, source, dry_run=dry_run, force=force, sample=not no_sample, as_json=as_json,
                           skip_installed=skip_installed)  # fmt: skip
        finally:
            await c.db.dispose()

    asyncio.run(go())


async def _install(  # type: ignore[no-untyped-def]
    c, source: str, *, dry_run: bool = False, force: bool = False, sample: bool = True, as_json: bool = False,
    skip_installed: bool = False,
) -> None:  # fmt: skip
    """Install or upgrade, and show the report; a refused package ends the command with its errors (exit 1)."""
    from engine.apps.console import show_error, show_json, show_report
    from engine.apps.service import load
    from engine.auth.policy import Access
    from engine.core.errors import TangramError

    try:
        package = load(c.packages.resolve(source))
        if skip_installed and await c.packages.is_current(package):
            typer.echo(f"{source}: this version is already installed; nothing to do", err=True)
            return
        report = await c.packages.install(package, Access.system(source="cli"), dry_run=dry_run, force=force, sample=sample)
    except TangramError as exc:
        show_error(exc, as_json)
        raise SystemExit(1) from None
    show_json(report) if as_json else show_report(report)


@app.command()
def export(
    app_key: Annotated[str, typer.Argument(metavar="APP", help="The app to export")],
    out: Annotated[str, typer.Option("--out", help="A folder, or a file ending in .zip")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the written files as JSON")] = False,
) -> None:
    """Export an app (installed or built in the builder) as a package folder or zip."""
    from pathlib import Path

    from engine.apps.console import show_json
    from engine.auth.policy import Access

    async def go() -> list[str]:
        c = _context()
        try:
            return list(await c.packages.export_to(app_key, Access.system(source="cli"), Path(out)))
        finally:
            await c.db.dispose()

    files = asyncio.run(go())
    if as_json:
        show_json({"app": app_key, "out": out, "files": files})
    else:
        typer.echo(f"{app_key}: {len(files)} files written to {out}", err=True)


# -- tangram import (CSV/XLSX into an entity) ---------------------------------------------------------
@app.command("import")
def import_file(
    app_key: Annotated[str, typer.Argument(metavar="APP", help="The app, e.g. crm")],
    entity: Annotated[str, typer.Argument(metavar="ENTITY", help="The entity, e.g. lead")],
    file: Annotated[str, typer.Argument(metavar="FILE", help="A .csv (UTF-8 or GB18030) or .xlsx file")],
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="COLUMN=FIELD, repeatable; omitted: suggested from the header")
    ] = None,
    upsert_on: Annotated[str | None, typer.Option("--upsert-on", help="A unique field: matching rows update")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check everything, write nothing")] = False,
    skip_bad_rows: Annotated[bool, typer.Option("--skip-bad-rows", help="Write the good rows, report the bad")] = False,
    no_automation: Annotated[bool, typer.Option("--no-automation", help="Run no rules or processes (history loads)")] = False,
    as_email: Annotated[str | None, typer.Option("--as", help="Import as this user (default: the first admin)")] = None,
) -> None:
    """Import a file into an entity with a progress bar; the error report is written next to the file."""
    from pathlib import Path

    from engine.imports.cli import run_import

    code = asyncio.run(
        run_import(
            _context(), app_key, entity, Path(file), mapping or [], upsert_on=upsert_on, dry_run=dry_run,
            skip_bad_rows=skip_bad_rows, automation=not no_automation, as_email=as_email,
        )
    )  # fmt: skip
    raise SystemExit(code)
