"""Backup and restore drill (issue 18), on SQLite and PostgreSQL: back up while writers run, restore into a
fresh database and file directory, serve it, and find every write acknowledged before the backup began, the
attachments with their bytes, and nothing that was never acknowledged."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from engine.api.app import create_app
from engine.api.context import Context
from engine.backup import backup, restore
from engine.core.db import Database
from engine.core.errors import BadRequest, Conflict
from tests.api.files_world import DEALS, deal_app, png, uploaded
from tests.conftest import _pg


async def _fresh_database(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    name = f"tangram_r_{uuid.uuid4().hex[:12]}"
    await _pg(f'CREATE DATABASE "{name}"')
    return make_url(database_url).set(database=name).render_as_string(hide_password=False)


async def test_a_backup_taken_while_writers_run_restores_every_acknowledged_write(ctx, client, admin, tmp_path, database_url):
    await deal_app(client)
    photo = png()
    r = await client.post(DEALS, json={"name": "with a photo", "photos": await uploaded(client, "photos", ("card.png", photo))})
    assert r.status_code == 201, r.text
    with_photo = r.json()

    acknowledged: list[int] = []
    stop = asyncio.Event()

    async def writer() -> None:
        while not stop.is_set():
            created = await client.post(DEALS, json={"name": f"deal {len(acknowledged)}"})
            assert created.status_code == 201, created.text
            acknowledged.append(created.json()["id"])

    writing = asyncio.create_task(writer())
    while len(acknowledged) < 5:
        await asyncio.sleep(0)  # let the writer get going
    before = list(acknowledged)
    archive = tmp_path / "backups" / "drill.tar.gz"
    made = await asyncio.to_thread(backup, ctx.settings, archive)  # the writer goes on meanwhile
    stop.set()
    await writing
    assert made.dialect == ctx.db.dialect and made.files >= 1

    restored_url = await _fresh_database(database_url, tmp_path)
    settings = ctx.settings.model_copy(update={"database_url": restored_url, "var_dir": str(tmp_path / "restored-var")})
    assert (await asyncio.to_thread(restore, settings, archive)).created_at == made.created_at

    restored = Context(settings=settings, db=Database(restored_url))
    try:
        app = create_app(settings, restored)
        headers = {"Authorization": f"Bearer {admin['token']}"}  # the token is in the restored database too
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers) as http:
            listed = await http.get(DEALS, params={"limit": 1000})
            assert listed.status_code == 200, listed.text
            ids = {d["id"] for d in listed.json()["items"]}
            assert set(before) <= ids  # every write acknowledged before the backup began
            assert ids <= {*acknowledged, with_photo["id"]}  # and nothing that was never acknowledged
            record = (await http.get(f"{DEALS}/{with_photo['id']}")).json()
            download = await http.get(record["photos"][0]["url"])
            assert download.status_code == 200 and download.content == photo

        with pytest.raises(Conflict, match="restore into a"):  # the restored database is not empty now
            await asyncio.to_thread(restore, settings, archive)
    finally:
        await restored.db.dispose()
        if not database_url.startswith("sqlite"):
            await _pg(f'DROP DATABASE IF EXISTS "{make_url(restored_url).database}" WITH (FORCE)')


async def test_a_restore_refuses_what_is_not_a_backup_of_this_kind(ctx, tmp_path):
    junk = tmp_path / "junk.tar.gz"
    import tarfile

    with tarfile.open(junk, "w:gz") as tar:
        (tmp_path / "notes.txt").write_text("hello")
        tar.add(tmp_path / "notes.txt", arcname="notes.txt")
    with pytest.raises(BadRequest, match="not a Tangram backup"):
        await asyncio.to_thread(restore, ctx.settings, junk)
