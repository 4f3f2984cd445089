"""Attachment files on S3-compatible storage: the same API against a real local S3 server (moto in
server mode, over HTTP on a free loopback port), never an in-process mock of the client."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from engine.api.context import Context
from engine.core.clock import Clock
from engine.core.db import Database
from engine.core.settings import Settings
from engine.jobs.worker import Worker
from tests.api.files_world import DEALS, PDF, deal_app, png, stored_keys, uploaded

BUCKET = "tangram-files"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()  # returns once the server accepts connections
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="test").create_bucket(Bucket=BUCKET)  # fmt: skip
    yield endpoint
    server.stop()


@pytest.fixture
async def ctx(database_url: str, tmp_path: Path, clock: Clock, s3_endpoint: str) -> AsyncIterator[Context]:
    settings = Settings(
        database_url=database_url, var_dir=str(tmp_path / "var"), tangram_secret_key="test-secret",
        tangram_file_storage="s3", tangram_s3_endpoint=s3_endpoint, tangram_s3_bucket=BUCKET,
        tangram_s3_region="us-east-1", tangram_s3_access_key_id="test", tangram_s3_secret_access_key="test",
    )  # fmt: skip
    context = Context(settings=settings, db=Database(database_url), clock=clock)
    for key in await context.files.storage.keys():  # the bucket is shared by the module's tests
        await context.files.storage.delete(key)
    yield context
    await context.db.dispose()


async def test_upload_download_thumbnail_and_purge_on_s3(client: httpx.AsyncClient, ctx: Context, tmp_path: Path) -> None:
    await deal_app(client)
    docs = await uploaded(client, "docs", ("report.pdf", PDF))
    photos = await uploaded(client, "photos", ("site.png", png(600, 400)))
    rid = (await client.post(DEALS, json={"name": "Acme", "docs": docs, "photos": photos})).json()["id"]
    assert (await client.get(f"{DEALS}/{rid}/files/{docs[0]}")).content == PDF
    thumb = await client.get(f"{DEALS}/{rid}/files/{photos[0]}?thumbnail=1")
    assert thumb.status_code == 200 and thumb.content.startswith(b"\x89PNG")
    keys = await stored_keys(ctx)
    assert len(keys) == 3 and all(k.startswith("crm/deal/") for k in keys)
    assert not (tmp_path / "var" / "files").exists() or not any((tmp_path / "var" / "files").rglob("*.*"))
    assert (await client.delete(f"{DEALS}/{rid}")).status_code == 204
    assert (await client.delete(f"{DEALS}/trash/{rid}")).status_code == 204
    await Worker(ctx.db, ctx.clock, ctx.job_handlers).run_until_idle()
    assert await stored_keys(ctx) == []
