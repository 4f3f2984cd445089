"""Admin API of the job queue: see the jobs (the dead ones above all) and send a dead job back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response
from engine.api.params import MAX_ID, IdPath
from engine.audit.journal import AuditJournal
from engine.auth.admin import require_admin
from engine.jobs import admin as queue_admin
from engine.jobs.tables import JobState


async def _admins_only(request: Request, actor: CurrentActor) -> None:
    require_admin(actor, write=request.method not in ("GET", "HEAD"), what="background jobs")


router = APIRouter(prefix="/api/v1/admin/jobs", tags=["admin"], dependencies=[Depends(_admins_only)])


@router.get("")
async def list_jobs(
    c: Ctx,
    state: JobState | None = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only jobs with a smaller id")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """Jobs newest first, a page at a time: pass `next_before` back as `before`."""
    async with c.db.read() as conn:
        items = await queue_admin.list_jobs(conn, state=state, before=before, limit=limit)
    next_before = items[-1]["id"] if len(items) == limit else None
    return json_response({"items": items, "next_before": next_before})


@router.get("/{job_id}")
async def get_job(job_id: IdPath, c: Ctx) -> Response:
    async with c.db.read() as conn:
        return json_response(await queue_admin.get_job(conn, job_id))


@router.post("/{job_id}/retry")
async def retry_job(job_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    """A dead job runs again from its first attempt; 409 when the job is not dead."""
    async with c.db.write() as conn:
        job = await queue_admin.retry(conn, job_id, c.clock.now())
        await AuditJournal(c.clock).note(conn, "job.retried", actor, subject=str(job_id), detail={"kind": job["kind"]})
    return json_response(job)
