"""Attachment fields over HTTP (SCENARIOS P5's needs-analysis report is one): upload, attach on save,
download with the record's read rights, thumbnails, hostile files, and the record lifecycle."""

from __future__ import annotations

import httpx

from engine.api.context import Context
from tests.api.files_world import DEALS, PDF, REP_ROLE, deal_app, docx, file_rows, png, stored_keys, upload, uploaded
from tests.people import errors, make_user


async def test_upload_attach_and_download(client: httpx.AsyncClient, ctx: Context) -> None:
    await deal_app(client)
    r = await upload(client, "docs", ("report.pdf", PDF), ("plan.docx", docx()), ("notes.csv", b"a,b\n1,2\n"))
    assert r.status_code == 201, r.text
    items = r.json()["items"]
    assert [(d["name"], d["content_type"], d["size"], d["is_image"]) for d in items] == [
        ("report.pdf", "application/pdf", len(PDF), False),
        ("plan.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", len(docx()), False),
        ("notes.csv", "text/csv", 8, False),
    ]
    assert items[0]["url"] == f"{DEALS}/files/{items[0]['id']}"  # pending: only the uploader's URL
    pending = await client.get(items[0]["url"])
    assert pending.status_code == 200 and pending.content == PDF
    ids = [d["id"] for d in items]
    r = await client.post(DEALS, json={"name": "Acme", "docs": ids[:2]})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    record = (await client.get(f"{DEALS}/{rid}")).json()
    assert [d["id"] for d in record["docs"]] == ids[:2]
    assert record["docs"][0]["url"] == f"{DEALS}/{rid}/files/{ids[0]}"
    got = await client.get(record["docs"][0]["url"])
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("inline;")  # PDF is safe inline
    office = await client.get(record["docs"][1]["url"])
    assert office.headers["content-disposition"].startswith("attachment;")
    listed = (await client.get(DEALS)).json()["items"][0]
    assert [d["name"] for d in listed["docs"]] == ["report.pdf", "plan.docx"]
    rows = {r["id"]: r for r in await file_rows(ctx)}
    assert rows[ids[0]]["record_id"] == rid and rows[ids[2]]["record_id"] is None


async def test_descriptors_sent_back_keep_the_files_and_a_removed_file_is_swept_later(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    await deal_app(client)
    ids = await uploaded(client, "docs", ("a.pdf", PDF), ("b.txt", b"hello"))
    rid = (await client.post(DEALS, json={"name": "Acme", "docs": ids})).json()["id"]
    docs = (await client.get(f"{DEALS}/{rid}")).json()["docs"]
    r = await client.patch(f"{DEALS}/{rid}", json={"docs": docs[:1]})  # the UI sends descriptors back
    assert r.status_code == 200, r.text
    assert [d["id"] for d in (await client.get(f"{DEALS}/{rid}")).json()["docs"]] == ids[:1]
    assert (await client.get(f"{DEALS}/{rid}/files/{ids[1]}")).status_code == 404
    assert len(await stored_keys(ctx)) == 2  # the bytes stay until the grace period is over


async def test_save_refuses_files_that_are_not_the_savers_own_pending_ones(client: httpx.AsyncClient, ctx: Context) -> None:
    await deal_app(client)
    assert (await client.post("/api/v1/admin/roles", json=REP_ROLE)).status_code == 201
    _, rep = await make_user(ctx, "rep@example.com", "deal_rep")
    mine = await uploaded(client, "docs", ("a.pdf", PDF))
    other_field = await uploaded(client, "photos", ("p.png", png()))
    on_record = await uploaded(client, "docs", ("b.pdf", PDF))
    taken = (await client.post(DEALS, json={"name": "Taken", "docs": on_record})).json()["id"]
    # Someone else's pending file, a file of another field, a file on another record.
    r = await client.post(DEALS, json={"name": "X", "docs": [mine[0], other_field[0], on_record[0]]}, headers=rep)
    assert r.status_code == 422
    assert errors(r) == [("/docs/0", "not_found"), ("/docs/1", "not_found"), ("/docs/2", "not_found")]
    r = await client.patch(f"{DEALS}/{taken}", json={"docs": [*on_record, other_field[0], "A" * 22]})
    assert errors(r) == [("/docs/1", "not_found"), ("/docs/2", "not_found")]
    assert [r["record_id"] for r in await file_rows(ctx)] == [None, None, taken]


async def test_downloads_need_read_access_to_the_record_and_the_field(client: httpx.AsyncClient, ctx: Context) -> None:
    """BOLA: a file of a record the caller cannot read, or of a field hidden from them, is a 404."""
    await deal_app(client)
    assert (await client.post("/api/v1/admin/roles", json=REP_ROLE)).status_code == 201
    _, rep = await make_user(ctx, "rep@example.com", "deal_rep")
    _, other = await make_user(ctx, "other@example.com", "deal_rep")
    docs = await uploaded(client, "docs", ("a.pdf", PDF), headers=rep)
    secret = await uploaded(client, "secret_docs", ("s.pdf", PDF))
    rid = (await client.post(DEALS, json={"name": "Rep's", "docs": docs}, headers=rep)).json()["id"]
    assert (await client.patch(f"{DEALS}/{rid}", json={"secret_docs": secret})).status_code == 200
    assert (await client.get(f"{DEALS}/{rid}/files/{docs[0]}", headers=rep)).status_code == 200
    assert (await client.get(f"{DEALS}/{rid}/files/{docs[0]}", headers=other)).status_code == 404
    assert (await client.get(f"{DEALS}/{rid}/files/{secret[0]}", headers=rep)).status_code == 404
    assert "secret_docs" not in (await client.get(f"{DEALS}/{rid}", headers=rep)).json()
    assert (await client.get(f"{DEALS}/{rid}/files/{secret[0]}")).status_code == 200  # the admin sees it
    # A file id with another record's id in the URL is not found either.
    other_rid = (await client.post(DEALS, json={"name": "Other"})).json()["id"]
    assert (await client.get(f"{DEALS}/{other_rid}/files/{docs[0]}")).status_code == 404
    # Pending files: only their uploader.
    pending = await uploaded(client, "docs", ("p.pdf", PDF), headers=rep)
    assert (await client.get(f"{DEALS}/files/{pending[0]}", headers=rep)).status_code == 200
    assert (await client.get(f"{DEALS}/files/{pending[0]}", headers=other)).status_code == 404
    assert (await client.get(f"{DEALS}/files/{pending[0]}")).status_code == 404
    # Hidden fields cannot be uploaded to either.
    assert (await upload(client, "secret_docs", ("s.pdf", PDF), headers=rep)).status_code == 404


async def test_images_get_a_cached_thumbnail(client: httpx.AsyncClient, ctx: Context) -> None:
    await deal_app(client)
    r = await upload(client, "photos", ("site.png", png(800, 600)))
    photo = r.json()["items"][0]
    assert photo["is_image"] and photo["content_type"] == "image/png"
    rid = (await client.post(DEALS, json={"name": "Acme", "photos": [photo["id"]]})).json()["id"]
    shown = (await client.get(f"{DEALS}/{rid}")).json()["photos"][0]
    thumb = await client.get(shown["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    from io import BytesIO

    from PIL import Image

    assert max(Image.open(BytesIO(thumb.content)).size) == 256
    assert len(await stored_keys(ctx)) == 2  # the original and its cached thumbnail
    assert (await client.get(shown["thumbnail_url"])).content == thumb.content
    docs = await uploaded(client, "docs", ("a.pdf", PDF))
    await client.patch(f"{DEALS}/{rid}", json={"docs": docs})
    assert (await client.get(f"{DEALS}/{rid}/files/{docs[0]}?thumbnail=1")).status_code == 404


async def test_delete_keeps_files_restore_brings_them_back_purge_deletes_them(client: httpx.AsyncClient, ctx: Context) -> None:
    from engine.jobs.worker import Worker

    await deal_app(client)
    ids = await uploaded(client, "docs", ("a.pdf", PDF))
    rid = (await client.post(DEALS, json={"name": "Acme", "docs": ids})).json()["id"]
    url = f"{DEALS}/{rid}/files/{ids[0]}"
    assert (await client.delete(f"{DEALS}/{rid}")).status_code == 204
    assert (await client.get(url)).status_code == 404  # a binned record's files are not served
    await Worker(ctx.db, ctx.clock, ctx.job_handlers).run_until_idle()
    assert len(await stored_keys(ctx)) == 1
    assert (await client.post(f"{DEALS}/trash/{rid}/restore")).status_code == 200
    assert (await client.get(url)).content == PDF
    assert (await client.delete(f"{DEALS}/{rid}")).status_code == 204
    assert (await client.delete(f"{DEALS}/trash/{rid}")).status_code == 204
    await Worker(ctx.db, ctx.clock, ctx.job_handlers).run_until_idle()
    assert await stored_keys(ctx) == [] and await file_rows(ctx) == []


async def test_is_empty_and_is_not_empty_filter_on_attachment_fields(client: httpx.AsyncClient) -> None:
    """P5's stage gate condition, in SQL (list filters) on both databases: [] and null are empty."""
    import json

    await deal_app(client)
    ids = await uploaded(client, "docs", ("a.pdf", PDF))
    with_doc = (await client.post(DEALS, json={"name": "With", "docs": ids})).json()["id"]
    emptied = (await client.post(DEALS, json={"name": "Emptied", "docs": []})).json()["id"]
    never = (await client.post(DEALS, json={"name": "Never"})).json()["id"]
    for op, expected in (("is_not_empty", [with_doc]), ("is_empty", [emptied, never])):
        r = await client.get(DEALS, params={"filter": json.dumps({"field": "docs", "op": op}), "sort": "name"})
        assert r.status_code == 200, r.text
        assert sorted(x["id"] for x in r.json()["items"]) == sorted(expected)
