"""The `tangram` command (also `python -m engine`). Every command honours DATABASE_URL."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from engine.core.settings import get_settings

app = typer.Typer(help="Tangram: a metadata-driven no-code app-builder engine.", no_args_is_help=True, add_completion=False)


def _context():  # type: ignore[no-untyped-def]
    from engine.api.context import Context
    from engine.core.db import Database

    settings = get_settings()
    return Context(settings=settings, db=Database(settings.database_url))


@app.command()
def migrate() -> None:
    """Create or upgrade the engine's system tables and add the built-in roles (user entities are
    managed at run time)."""
    from engine.setup import prepare_database

    prepare_database(get_settings().database_url)
    typer.echo("database is at the newest revision", err=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default: HOST or 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: PORT or 8000)")] = None,
) -> None:
    """Serve the web app and the API."""
    import uvicorn

    from engine.api.app import create_app

    settings = get_settings()
    uvicorn.run(create_app(settings), host=host or settings.host, port=port or settings.port, log_level="info")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Workers in this process (useful on PostgreSQL)")] = 1,
    once: Annotated[bool, typer.Option("--once", help="Run every due job, then exit")] = False,
    lease_seconds: Annotated[
        float, typer.Option(min=1, help="How long a claimed job is held before another worker may take it over")
    ] = 300,
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Jobs claimed at a time")] = 10,
    poll_seconds: Annotated[float, typer.Option(min=0.01, help="Pause between looks when nothing is due")] = 1.0,
) -> None:
    """Run background jobs until SIGTERM or SIGINT (the job in hand finishes first). Several worker
    processes may run against one PostgreSQL database."""
    import logging
    import signal
    from datetime import timedelta

    from engine.jobs.worker import Worker

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tangram").setLevel(logging.INFO)  # ours at INFO; libraries only when they warn

    async def go() -> None:
        c = _context()
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
    settings = get_settings()
    email = email or settings.tangram_admin_email or "admin@example.com"
    password = password or settings.tangram_admin_password

    async def go() -> None:
        c = _context()
        try:
            async with c.db.write() as conn:
                if if_missing and await c.auth.any_admin(conn):
                    typer.echo("an administrator already exists", err=True)
                    return
                _, generated = await c.auth.ensure_admin(conn, email, password)
            if generated:
                typer.echo(f"administrator {email} created with password: {generated}  (shown once; change it)")
            else:
                typer.echo(f"administrator {email} is ready", err=True)
        finally:
            await c.db.dispose()

    asyncio.run(go())


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
