"""Hostile uploads to the files API: each refused with a precise 4xx problem+json and nothing stored
(no row, no object); names with paths or control characters are sanitised, never used as paths."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from engine.api.context import Context
from tests.api.files_world import DEALS, PDF, deal_app, file_rows, png, stored_keys, upload
from tests.api.test_hostile_input import assert_problem


async def _nothing_stored(ctx: Context) -> None:
    assert await file_rows(ctx) == [] and await stored_keys(ctx) == []


async def test_an_oversized_file_is_413_with_the_limit(client: httpx.AsyncClient, ctx: Context) -> None:
    await deal_app(client)
    r = await upload(client, "docs", ("ok.pdf", PDF), ("big.pdf", PDF + b"0" * (1024 * 1024)))
    body = assert_problem(r, 413)
    assert body["limit_bytes"] == 1024 * 1024 and body["path"] == "/files/1" and "1 MB" in body["detail"]
    await _nothing_stored(ctx)


async def test_a_request_over_the_installation_limit_is_413_before_it_is_read(client: httpx.AsyncClient, ctx: Context) -> None:
    await deal_app(client)
    ctx.settings.tangram_max_file_mb = 1  # read when the app is built: the route's body limit stays 200 MB here
    r = await upload(client, "photos", ("big.png", png() + b"0" * (1024 * 1024)))
    assert_problem(r, 413)
    await _nothing_stored(ctx)


@pytest.mark.parametrize(
    ("field", "name", "data", "code"),
    [
        ("docs", "photo.pdf", png(), "type_not_allowed"),  # the name lies: the bytes are a PNG
        ("photos", "x.png", PDF, "type_not_allowed"),
        ("docs", "page.html", b"<!doctype html><script>alert(1)</script>", "type_not_allowed"),
        ("photos", "logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "type_not_allowed"),
        ("docs", "empty.pdf", b"", "empty"),
        ("photos", "broken.png", png()[:60], "invalid_image"),
    ],
    ids=["png-named-pdf", "pdf-as-image", "html", "svg", "empty", "truncated-image"],
)
async def test_files_the_field_does_not_allow_are_422(client: httpx.AsyncClient, ctx: Context, field, name, data, code) -> None:
    await deal_app(client)
    r = await upload(
        client, field, ("fine.pdf" if field == "docs" else "fine.png", PDF if field == "docs" else png()), (name, data)
    )
    assert_problem(r, 422, "/files/1", code)
    await _nothing_stored(ctx)


async def test_a_decompression_bomb_is_422(client: httpx.AsyncClient, ctx: Context) -> None:
    await deal_app(client)
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, "PNG")  # 144 million pixels in a few kilobytes
    assert len(out.getvalue()) < 100_000
    assert_problem(await upload(client, "photos", ("bomb.png", out.getvalue())), 422, "/files/0", "too_many_pixels")
    await _nothing_stored(ctx)


async def test_too_many_files_and_no_files(client: httpx.AsyncClient, ctx: Context) -> None:
    await deal_app(client)
    assert_problem(await upload(client, "docs", *[(f"{i}.pdf", PDF) for i in range(4)]), 422, "/files", "max_files")
    assert_problem(await client.post(f"{DEALS}/files/docs", files={"other": ("a.pdf", PDF)}), 422, "/other", "unknown_field")
    text_part = {"files": (None, "not a file")}  # a plain form field, not a file
    assert_problem(await client.post(f"{DEALS}/files/docs", files=text_part), 422, "/files", "unknown_field")
    assert_problem(await client.post(f"{DEALS}/files/docs", data={"files": "x"}), 415)
    r = await client.post(f"{DEALS}/files/docs", content=b"%PDF", headers={"content-type": "application/pdf"})
    assert_problem(r, 415)
    r = await client.post(f"{DEALS}/files/docs", content=b"--x\r\ngarbage", headers={"content-type": "multipart/form-data"})
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json")
    await _nothing_stored(ctx)


async def test_unknown_fields_entities_and_ids_are_404_or_422(client: httpx.AsyncClient, ctx: Context) -> None:
    await deal_app(client)
    assert_problem(await upload(client, "name", ("a.pdf", PDF)), 404)  # not an attachment field
    assert_problem(await upload(client, "nope", ("a.pdf", PDF)), 404)
    assert_problem(await client.get(f"{DEALS}/files/..%2F..%2Fetc%2Fpasswd"), 404)
    assert_problem(await client.get(f"{DEALS}/files/short!id"), 422, "/path/file_id")
    assert_problem(await client.get(f"{DEALS}/1/files/{'A' * 22}"), 404)
    assert_problem(await client.post(DEALS, json={"name": "X", "docs": "abc"}), 422, "/docs", "type")
    assert_problem(await client.post(DEALS, json={"name": "X", "docs": [{"id": 5}]}), 422, "/docs", "type")
    assert_problem(await client.post(DEALS, json={"name": "X", "docs": ["../../etc/passwd"]}), 422, "/docs", "type")
    await _nothing_stored(ctx)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../x.pdf", "x.pdf"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override would show "exe.pdf"
        ("..", "file"),
        ("报告" + "x" * 300 + ".pdf", "报告" + "x" * 249 + ".pdf"),
    ],
    ids=["traversal", "windows-path", "bidi-override", "dots", "too-long"],
)
async def test_names_are_sanitised(client: httpx.AsyncClient, ctx: Context, sent: str, kept: str) -> None:
    await deal_app(client)
    r = await upload(client, "docs", (sent, PDF))
    assert r.status_code == 201, r.text
    d = r.json()["items"][0]
    assert d["name"] == kept and len(d["name"]) <= 255
    [key] = await stored_keys(ctx)
    assert key.startswith("crm/deal/") and key.endswith(d["id"])  # the storage key never comes from the name
    got = await client.get(d["url"])
    assert "\n" not in got.headers["content-disposition"] and "/" not in got.headers["content-disposition"].split(";")[1]
