"""GET /api/v1/apps/{app}/openapi.json: the app's OpenAPI document as the caller may use it."""

from fastapi import APIRouter
from starlette.responses import Response

from engine.api.app_openapi import app_openapi
from engine.api.deps import Ctx, CurrentActor
from engine.api.jsonio import json_response
from engine.auth.policy import scope

router = APIRouter(prefix="/api/v1/apps", tags=["records"])


@router.get("/{app}/openapi.json")
async def openapi_document(app: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        info = await c.schema.get_app(conn, app)
        readable = [(e, s.hidden, s.read_only) for e in await c.store.list(conn, app) if (s := scope(actor, e, "read")).allowed]
        lines = {e.key: [(s.key, s.entity, s.link) for s in await c.lines.sections(conn, e)] for e, _, _ in readable}
        return json_response(app_openapi(info, readable, lines))
