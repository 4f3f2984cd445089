"""Rules API: CRUD under an app's metadata, a dry run against stored records, the execution log.
Rules are part of an entity's definition: reading or changing them takes the right to manage it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor, require_manage
from engine.api.jsonio import json_response, parse_model, read_json
from engine.api.versions import parse_if_match
from engine.auth.policy import Access, may_manage, scope
from engine.records.reads import scoped
from engine.rules.log import rule_log
from engine.rules.service import rule_json

router = APIRouter(prefix="/api/v1/meta/apps/{app}/rules", tags=["rules"])
MAX_DRY_RUN = 100


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_id: int | None = Field(default=None, ge=1)
    last: int | None = Field(default=None, ge=1, le=MAX_DRY_RUN)  # the N most recently changed records

    @model_validator(mode="after")
    def _one(self) -> DryRunIn:
        if (self.record_id is None) == (self.last is None):
            raise ValueError("give exactly one of record_id or last")
        return self


class DraftDryRunIn(DryRunIn):
    """A dry run of an unsaved rule: the definition as it would be saved, and the records to judge."""

    rule: dict[str, Any]


def _may_write(actor: Access, app: str, doc: Any) -> None:
    """A rule acts with the engine's rights, so its author must manage every entity it writes to:
    its own, and the targets of its create_record actions."""
    if not isinstance(doc, dict):
        return
    require_manage(actor, app, doc.get("entity"), "rules")
    for action in doc.get("actions") or []:
        if isinstance(action, dict) and action.get("type") == "create_record":
            require_manage(actor, app, action.get("entity"), "rules")


@router.get("")
async def list_rules(app: str, c: Ctx, actor: CurrentActor, entity: str | None = None) -> Response:
    async with c.db.read() as conn:
        items = await c.rule_service.list(conn, app, entity)
    return json_response({"items": [r for r in items if may_manage(actor, app, r["entity"])]})


@router.post("", status_code=201)
async def create_rule(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    doc = await read_json(request)
    _may_write(actor, app, doc)
    async with c.db.write() as conn:
        rule = await c.rule_service.create(conn, app, doc)
    return json_response(rule, 201, headers={"ETag": f'"{rule["version"]}"'})


@router.get("/{key}")
async def get_rule(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        rule = await _readable(c, conn, actor, app, key)
    return json_response(rule, headers={"ETag": f'"{rule["version"]}"'})


@router.put("/{key}")
async def replace_rule(
    app: str, key: str, request: Request, c: Ctx, actor: CurrentActor, if_match: Annotated[str | None, Header()] = None
) -> Response:
    doc = await read_json(request)
    async with c.db.write() as conn:
        await _readable(c, conn, actor, app, key)
        _may_write(actor, app, doc)
        rule = await c.rule_service.replace(conn, app, key, doc, parse_if_match(if_match))
    return json_response(rule, headers={"ETag": f'"{rule["version"]}"'})


@router.delete("/{key}", status_code=204)
async def delete_rule(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        await _readable(c, conn, actor, app, key)
        await c.rule_service.delete(conn, app, key)
    return Response(status_code=204)


@router.post("/dry-run")
async def dry_run_draft(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Dry run of an unsaved rule (the designer's "test before saving"): the definition in the body is
    checked exactly as a save would check it (422 at its paths), then judged like a stored rule. Nothing
    is written."""
    body = parse_model(DraftDryRunIn, await read_json(request))
    _may_write(actor, app, body.rule)
    async with c.db.rehearse() as conn:
        rule, entity = await c.rule_service.draft(conn, app, body.rule)
        items = await _judge(c, conn, actor, rule, entity, body)
    return json_response({"items": items})


@router.post("/{key}/dry-run")
async def dry_run(app: str, key: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Judge the rule on stored records and show, per condition node, matched or not, and what each
    action would do. Nothing is written: the actions run inside a transaction that is rolled back."""
    body = parse_model(DryRunIn, await read_json(request))
    async with c.db.rehearse() as conn:
        row = await c.rule_service.row(conn, app, key)
        require_manage(actor, app, row.entity, "rules")
        rule, entity = await c.rules.compile_row(conn, row)
        items = await _judge(c, conn, actor, rule, entity, body)
    return json_response({"items": items})


async def _judge(c: Any, conn: Any, actor: Access, rule: Any, entity: Any, body: DryRunIn) -> list[dict[str, Any]]:
    """The dry run on the chosen record, or on the N most recently changed ones the actor may read."""
    t = entity.table
    query = scoped(select(t).where(t.c.deleted_at.is_(None)), scope(actor, entity, "read"))
    if body.record_id is not None:
        query = query.where(t.c.id == body.record_id)
    else:
        query = query.order_by(t.c.updated_at.desc(), t.c.id.desc()).limit(body.last)
    records = [dict(r._mapping) for r in (await conn.execute(query)).all()]
    items: list[dict[str, Any]] = await c.rules.dry_run(conn, rule, entity, records, actor)
    display = entity.definition.display_field
    for item, record in zip(items, records, strict=True):  # what people call the record, for the result's heading
        if display and record.get(display) is not None:
            item["label"] = str(record[display])
    return items


@router.get("/{key}/log")
async def execution_log(
    app: str,
    key: str,
    c: Ctx,
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Totals and the latest runs, newest first; `before` (a run id) pages back, `more` says if older runs remain."""
    async with c.db.read() as conn:
        rule = await _readable(c, conn, actor, app, key)
        return json_response(await rule_log(conn, rule["id"], limit, before))


async def _readable(c: Any, conn: Any, actor: Access, app: str, key: str) -> dict[str, Any]:
    row = await c.rule_service.row(conn, app, key)
    require_manage(actor, app, row.entity, "rules")
    return rule_json(row)
