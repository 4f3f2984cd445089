"""An app with attachment fields for the file tests: a deal with `docs` (pdf/office/text, 3 files of
1 MB) and `photos` (images), sample file bytes, and upload helpers."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import select

from engine.api.context import Context
from engine.files.tables import files
from tests.factories import make_app

DEAL: dict[str, Any] = {
    "key": "deal",
    "label": {"en": "Deal"},
    "fields": [
        {"key": "name", "type": "text", "required": True},
        {"key": "docs", "type": "attachment", "max_files": 3, "max_size_mb": 1, "accept": ["pdf", "office", "text"]},
        {"key": "photos", "type": "attachment", "accept": ["image"]},
        {"key": "secret_docs", "type": "attachment"},
    ],
}
DEALS = "/api/v1/apps/crm/deal"
REP_ROLE = {
    "key": "deal_rep",
    "label": {"en": "Deal rep"},
    "grants": [{"entity": "crm.deal", "read": "own", "create": True, "update": "own", "hidden_fields": ["secret_docs"]}],
}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


async def deal_app(client: httpx.AsyncClient) -> None:
    await make_app(client, "crm", DEAL)


async def upload(client: httpx.AsyncClient, field: str, *parts: tuple[str, bytes], headers: Any = None) -> httpx.Response:
    body = [("files", (name, data, "application/octet-stream")) for name, data in parts]
    return await client.post(f"{DEALS}/files/{field}", files=body, headers=headers)


async def uploaded(client: httpx.AsyncClient, field: str, *parts: tuple[str, bytes], headers: Any = None) -> list[str]:
    r = await upload(client, field, *parts, headers=headers)
    assert r.status_code == 201, r.text
    return [d["id"] for d in r.json()["items"]]


async def file_rows(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        return [dict(r._mapping) for r in await conn.execute(select(files).order_by(files.c.created_at, files.c.id))]


async def stored_keys(ctx: Context) -> list[str]:
    """Every object in the file storage, thumbnails included."""
    return await ctx.files.storage.keys()
