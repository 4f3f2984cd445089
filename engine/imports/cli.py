"""`tangram import`: the same checks and run as the API's, in-process, with a rich progress bar, a
summary, and the error report written next to the file (leads.xlsx -> leads.errors.csv)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from engine.auth.policy import Access
from engine.auth.tables import users
from engine.core.errors import BadRequest, TangramError
from engine.imports.options import ImportOptions
from engine.imports.report import error_report
from engine.imports.runner import Counts


def parse_map(pairs: list[str]) -> dict[str, str] | None:
    mapping = {}
    for pair in pairs:
        column, sep, key = pair.rpartition("=")
        if not sep or not column or not key:
            raise BadRequest(f"--map takes COLUMN=FIELD, not {pair!r}")
        mapping[column] = key
    return mapping or None


async def _access(c: Any, conn: Any, email: str | None) -> Access:
    query = select(users.c.id).where(users.c.active.is_(True))
    query = query.where(users.c.email == email.lower()) if email else query.where(users.c.is_admin.is_(True))
    uid = (await conn.execute(query.order_by(users.c.id).limit(1))).scalar_one_or_none()
    access = None if uid is None else await c.auth.actor_for_user(conn, uid)
    if access is None:
        raise BadRequest(f"no active user {email}" if email else "no admin user: run `tangram create-admin` or pass --as EMAIL")
    return replace(access, source="import")


async def run_import(
    c: Any, app: str, entity: str, path: Path, pairs: list[str], *, upsert_on: str | None, dry_run: bool,
    skip_bad_rows: bool, automation: bool, as_email: str | None,
) -> int:  # fmt: skip
    """Exit code: 0 done, 1 refused or failed."""
    console = Console(stderr=True, soft_wrap=True)  # a summary line stays one line (scripts grep it)
    try:
        options = ImportOptions(
            mapping=parse_map(pairs), upsert_on=upsert_on, dry_run=dry_run, run_automation=automation,
            mode="skip_bad_rows" if skip_bad_rows else "all_or_nothing",
        )  # fmt: skip
        async with c.db.write() as conn:
            access = await _access(c, conn, as_email)
            e = await c.store.get(conn, app, entity)
            status = await c.imports.start(conn, access, e, path.name, path.read_bytes(), options, enqueue_job=False)
        await _run_with_bar(c, status, console)
        async with c.db.read() as conn:
            final = await c.imports.status(conn, access, e, status["id"])
            errors = await c.imports.errors(conn, access, e, status["id"])
    except TangramError as exc:
        console.print(f"[red]tangram import: {exc.detail}[/red]")
        for err in exc.errors:
            console.print(f"  {err.path or '/'}: {err.message}")
        return 1
    finally:
        await c.db.dispose()
    _summary(console, final, path, errors)
    return 1 if final["state"] == "failed" else 0


async def _run_with_bar(c: Any, status: dict[str, Any], console: Console) -> None:
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("rows", total=status["counts"]["total"])

        def show(counts: Counts) -> None:
            bar.update(task, completed=counts.processed)

        await c.imports.execute(status["id"], show)


def _summary(console: Console, final: dict[str, Any], path: Path, errors: list[Any]) -> None:
    n = final["counts"]
    console.print(
        f"import {final['id']} {final['state']}: {n['total']} rows, {n['created']} created, {n['updated']} updated, "
        f"{n['failed']} failed" + (f" ({final['message']})" if final["message"] else "")
    )
    if errors:
        report = path.with_name(f"{path.stem}.errors.csv")
        report.write_bytes(error_report(errors, "csv")[0])
        console.print(f"error report: {report}")
