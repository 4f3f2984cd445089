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
def worker() -> None:
    """STUB until the job-queue issue lands: background jobs do not exist yet, so this only exits."""
    typer.echo("tangram worker: there is no job queue yet (it arrives with the rules/jobs issue); nothing to do.", err=True)


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
