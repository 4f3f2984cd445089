"""Admin API of the job queue: dead jobs are listed newest first and can be sent back; bad
parameters are problem+json with their location; only unnarrowed administrators get in."""

import asyncio

import pytest

from engine.api.app import create_app
from engine.core.settings import Settings
from engine.jobs.admin import get_job
from engine.jobs.queue import enqueue
from engine.jobs.worker import Worker
from tests.people import audit_rows, errors, make_user

JOBS = "/api/v1/admin/jobs"


async def dead_jobs(ctx, count):
    """`count` jobs of a kind nobody handles, run once, so they are dead; ids oldest first."""
    async with ctx.db.write() as conn:
        ids = [await enqueue(conn, ctx.clock.now(), "nobody.handles.this", {"n": n}) for n in range(count)]
    await Worker(ctx.db, ctx.clock, ctx.job_handlers).run_until_idle()
    return ids


async def test_dead_jobs_are_listed_newest_first_a_page_at_a_time(client, ctx):
    ids = await dead_jobs(ctx, 3)
    async with ctx.db.write() as conn:
        pending = await enqueue(conn, ctx.clock.now(), "jobs.touch", {"key": "later"})
    page = (await client.get(JOBS, params={"state": "dead", "limit": 2})).json()
    assert [j["id"] for j in page["items"]] == [ids[2], ids[1]] and page["next_before"] == ids[1]
    first = page["items"][0]
    assert first["state"] == "dead" and first["kind"] == "nobody.handles.this" and first["payload"] == {"n": 2}
    assert first["last_error"] == "no handler is registered for job kind 'nobody.handles.this'"
    rest = (await client.get(JOBS, params={"state": "dead", "limit": 2, "before": page["next_before"]})).json()
    assert [j["id"] for j in rest["items"]] == [ids[0]] and rest["next_before"] is None
    everything = (await client.get(JOBS)).json()["items"]
    assert [j["id"] for j in everything] == [pending, *reversed(ids)]


@pytest.mark.parametrize(
    ("params", "path"),
    [({"state": "buried"}, "/query/state"), ({"limit": 0}, "/query/limit"), ({"limit": 501}, "/query/limit"),
     ({"before": 0}, "/query/before"), ({"before": "x"}, "/query/before")],
)  # fmt: skip
async def test_bad_parameters_are_located(client, params, path):
    r = await client.get(JOBS, params=params)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert [p for p, _ in errors(r)] == [path]


async def test_a_dead_job_is_retried_once_and_audited(client, ctx, admin):
    [job_id] = await dead_jobs(ctx, 1)
    r = await client.post(f"{JOBS}/{job_id}/retry")
    assert r.status_code == 200, r.text
    job = r.json()
    assert (job["state"], job["attempts"], job["finished_at"]) == ("pending", 0, None)
    assert job["last_error"].startswith("no handler")  # still shows why it died, until it runs again
    assert (await client.get(f"{JOBS}/{job_id}")).json()["state"] == "pending"
    [entry] = await audit_rows(ctx, "job.")
    assert (entry["action"], entry["actor_id"], entry["subject"]) == ("job.retried", admin["id"], str(job_id))
    again = await client.post(f"{JOBS}/{job_id}/retry")
    assert again.status_code == 409 and again.json()["detail"] == f"job {job_id} is pending: only a dead job can be retried"


async def test_retrying_or_reading_a_missing_job_is_404(client):
    for r in (await client.post(f"{JOBS}/999/retry"), await client.get(f"{JOBS}/999")):
        assert r.status_code == 404 and r.json()["detail"] == "there is no job 999"


async def test_only_unnarrowed_administrators_operate_the_queue(client, anon, ctx):
    [job_id] = await dead_jobs(ctx, 1)
    _, member = await make_user(ctx, "member@example.com", "member")
    for method, path in (("GET", JOBS), ("GET", f"{JOBS}/{job_id}"), ("POST", f"{JOBS}/{job_id}/retry")):
        r = await client.request(method, path, headers=member)
        assert r.status_code == 403 and r.json()["detail"] == "only administrators may manage background jobs"
        assert (await anon.request(method, path)).status_code == 401
    read_only = (await client.post("/api/v1/auth/tokens", json={"read_only": True})).json()["token"]
    headers = {"Authorization": f"Bearer {read_only}"}
    assert (await client.get(JOBS, headers=headers)).status_code == 200
    r = await client.post(f"{JOBS}/{job_id}/retry", headers=headers)
    assert r.status_code == 403 and r.json()["detail"] == "a read-only token cannot change background jobs"
    assert (await client.get(f"{JOBS}/{job_id}")).json()["state"] == "dead"


def worker_tasks():
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("job worker ")]


async def test_serve_runs_one_worker_in_process_and_stops_it_on_shutdown(ctx):
    ran = asyncio.Event()

    async def signal(conn, job):
        ran.set()

    ctx.job_handlers.add("demo.signal", signal)
    app = create_app(ctx.settings, ctx)
    async with app.router.lifespan_context(app):
        [task] = worker_tasks()
        async with ctx.db.write() as conn:
            job_id = await enqueue(conn, ctx.clock.now(), "demo.signal", {})
        await asyncio.wait_for(ran.wait(), 60)
    assert task.done() and not task.cancelled() and task.exception() is None and worker_tasks() == []
    async with ctx.db.read() as conn:
        assert (await get_job(conn, job_id))["state"] == "done"


async def test_the_in_process_worker_can_be_turned_off(ctx, monkeypatch):
    monkeypatch.setenv("TANGRAM_INPROCESS_WORKER", "false")
    settings = Settings(database_url=ctx.settings.database_url, var_dir=ctx.settings.var_dir, tangram_secret_key="x")
    assert settings.tangram_inprocess_worker is False
    app = create_app(settings, ctx)
    async with app.router.lifespan_context(app):
        assert worker_tasks() == []
