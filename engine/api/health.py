"""Liveness and database reachability; the one unauthenticated API route."""

from fastapi import APIRouter
from sqlalchemy import text
from starlette.responses import Response

from engine import __version__
from engine.api.deps import Ctx
from engine.api.jsonio import json_response

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health")
async def health(c: Ctx) -> Response:
    async with c.db.read() as conn:
        await conn.execute(text("SELECT 1"))
    return json_response({"status": "ok", "version": __version__, "database": c.db.dialect})
