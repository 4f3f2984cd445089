"""Processes API: definitions under an app's metadata (CRUD, validate, publish, versions, BPMN in
and out) and instances on records (submit, list, read with the timeline, withdraw).

A process is part of its entity's definition: reading or changing it takes the right to manage the
entity, as rules do. Instances are shown to whoever takes part in them or may read their record
(engine.process.inbox decides); to anyone else they do not exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select, update
from starlette.responses import Response

from engine.api.deps import Ctx, CurrentActor, require_manage
from engine.api.jsonio import UnsupportedMediaType, json_response, parse_model, read_json
from engine.api.params import MAX_ID, IdPath
from engine.api.versions import parse_if_match
from engine.auth.policy import Access, may_manage
from engine.core.errors import ErrorCollector, Forbidden, NotFound, PayloadTooLarge
from engine.process import inbox
from engine.process.acts import MAX_COMMENT
from engine.process.bpmn import MAX_BPMN_BYTES, from_bpmn, to_bpmn
from engine.process.bpmn_draft import translate_bpmn as translate_draft
from engine.process.definition import MAX_NODES, ProcessDefinition
from engine.process.service import process_json
from engine.process.simulate import Trial, simulate_request
from engine.process.tables import events, process_versions

definitions = APIRouter(prefix="/api/v1/meta/apps/{app}/processes", tags=["processes"])
instances = APIRouter(prefix="/api/v1", tags=["processes"])
router = APIRouter()
XML_TYPES = ("application/xml", "text/xml", "application/bpmn+xml")


class CommentIn(BaseModel):
    """The optional body of a submit, a withdrawal or an urge."""

    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(default=None, max_length=MAX_COMMENT, pattern=r"^[^\x00]*$")  # PostgreSQL text holds no NUL


def _entity_of(doc: Any) -> Any:
    return doc.get("entity") if isinstance(doc, dict) else None


def _tagged(process: dict[str, Any], status: int = 200) -> Response:
    return json_response(process, status, headers={"ETag": f'"{process["version"]}"'})


# -- definitions ---------------------------------------------------------------------------------
@definitions.get("")
async def list_processes(app: str, c: Ctx, actor: CurrentActor, entity: str | None = None) -> Response:
    async with c.db.read() as conn:
        items = await c.process_service.list(conn, app, entity)
    return json_response({"items": [p for p in items if may_manage(actor, app, p["entity"])]})


@definitions.post("", status_code=201)
async def create_process(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    doc = await read_json(request)
    require_manage(actor, app, _entity_of(doc), "processes")
    async with c.db.write() as conn:
        return _tagged(await c.process_service.create(conn, app, doc), 201)


@definitions.post("/validate")
async def validate_process(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Check a definition as a save would, storing nothing: 200 {"valid": true} or the 422 listing
    every problem at its path."""
    doc = await read_json(request)
    require_manage(actor, app, _entity_of(doc), "processes")
    async with c.db.read() as conn:
        await c.process_service.check(conn, app, doc)
    return json_response({"valid": True})


@definitions.post("/import-bpmn", status_code=201)
async def import_bpmn(app: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Create a process from BPMN 2.0 XML (a Tangram export comes back exactly; other tools' files
    bring the supported subset). Problems in the XML are reported at /bpmn/<element id>."""
    raw = await _bpmn_body(request)
    errors = ErrorCollector()
    doc = from_bpmn(raw, errors)
    errors.raise_if_any("The BPMN document cannot be imported")
    require_manage(actor, app, _entity_of(doc), "processes")
    async with c.db.write() as conn:
        return _tagged(await c.process_service.create(conn, app, doc), 201)


@definitions.post("/translate-bpmn")
async def translate_bpmn(
    app: str, request: Request, c: Ctx, actor: CurrentActor,
    entity: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = None,
) -> Response:  # fmt: skip
    """A draft from another tool's BPMN file, STORING NOTHING: {"definition": ..., "issues": [...]}, each
    issue on its node or edge (approvers to choose, a condition to rewrite, a placeholder to rebuild).
    `entity`: the entity the process runs on, when the file does not say it."""
    raw = await _bpmn_body(request)
    errors = ErrorCollector()
    async with c.db.read() as conn:
        if entity is None and not any(may_manage(actor, app, e.key) for e in await c.store.list(conn, app)):
            raise Forbidden(f"you may not manage the processes of {app}")
        require_manage(actor, app, entity, "processes")
        draft = await translate_draft(conn, raw, entity, lambda k: c.processes.entity_for(conn, app, k), errors)
        errors.raise_if_any("The BPMN document cannot be read")
        assert draft is not None
        require_manage(actor, app, _entity_of(draft.doc), "processes")
    return json_response({"definition": draft.doc, "issues": draft.issues})


async def _bpmn_body(request: Request) -> bytes:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in XML_TYPES:
        raise UnsupportedMediaType("send the BPMN document as application/xml")
    raw = await request.body()
    if len(raw) > MAX_BPMN_BYTES:
        raise PayloadTooLarge(f"a BPMN document may be at most {MAX_BPMN_BYTES} bytes")
    return raw


@definitions.get("/{key}")
async def get_process(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        return _tagged(await _managed(c, conn, actor, app, key))


@definitions.put("/{key}")
async def replace_process(
    app: str, key: str, request: Request, c: Ctx, actor: CurrentActor, if_match: Annotated[str | None, Header()] = None
) -> Response:
    """Replace the draft. Send the ETag you read as If-Match: a draft changed since is a 409."""
    doc = await read_json(request)
    async with c.db.write() as conn:
        await _managed(c, conn, actor, app, key)
        require_manage(actor, app, _entity_of(doc), "processes")
        return _tagged(await c.process_service.replace(conn, app, key, doc, parse_if_match(if_match)))


@definitions.delete("/{key}", status_code=204)
async def delete_process(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.write() as conn:
        await _managed(c, conn, actor, app, key)
        await c.process_service.delete(conn, app, key)
    return Response(status_code=204)


@definitions.post("/{key}/publish")
async def publish_process(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    """The draft becomes the next version: new instances start on it, running ones keep theirs."""
    async with c.db.write() as conn:
        await _managed(c, conn, actor, app, key)
        return _tagged(await c.process_service.publish(conn, app, key, actor))


class SimulateIn(BaseModel):
    """The body of a simulation: exactly one of a stored record or typed values."""

    model_config = ConfigDict(extra="forbid")
    record_id: int | None = Field(default=None, ge=1, le=MAX_ID, strict=True)
    values: dict[str, Any] | None = None
    version: int | None = Field(default=None, ge=1, le=MAX_ID, strict=True)  # None: the draft
    submitter_id: int | None = Field(default=None, ge=1, le=MAX_ID, strict=True)  # None: the caller
    decisions: dict[str, Literal["approved", "rejected"]] = Field(default_factory=dict, max_length=MAX_NODES)

    @model_validator(mode="after")
    def _one_source(self) -> SimulateIn:
        if (self.record_id is None) == (self.values is None):
            raise ValueError("give either record_id or values")
        return self


@definitions.post("/{key}/simulate")
async def simulate_process(app: str, key: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """The path an instance would take on a record (or on typed values), who would be asked, their
    deadlines and why each branch is taken, WITHOUT WRITING ANYTHING. Default: the draft."""
    body = parse_model(SimulateIn, await read_json(request))
    trial = Trial(body.record_id, body.values, body.version, body.submitter_id, body.decisions)
    async with c.db.read() as conn:
        await _managed(c, conn, actor, app, key)
        return json_response(await simulate_request(c.processes, c.process_service, conn, actor, app, key, trial, c.computed))


@definitions.get("/{key}/versions")
async def list_versions(app: str, key: str, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        await _managed(c, conn, actor, app, key)
        return json_response({"items": await c.process_service.versions(conn, app, key)})


@definitions.get("/{key}/bpmn")
async def export_bpmn(
    app: str, key: str, c: Ctx, actor: CurrentActor, version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None
) -> Response:
    """The draft (or a published `version`) as BPMN 2.0 XML with its diagram."""
    async with c.db.read() as conn:
        process = await _managed(c, conn, actor, app, key)
        doc = process if version is None else await _version_doc(c, conn, app, key, version)
    definition = ProcessDefinition.model_validate({k: v for k, v in doc.items() if k in ProcessDefinition.model_fields})
    headers = {"Content-Disposition": f'attachment; filename="{app}-{key}.bpmn"'}
    return Response(to_bpmn(definition).encode("utf-8"), media_type="application/xml", headers=headers)


async def _version_doc(c: Ctx, conn: Any, app: str, key: str, version: int) -> dict[str, Any]:
    row = await c.process_service.row(conn, app, key)
    query = select(process_versions.c.definition).where(
        process_versions.c.process_id == row.id, process_versions.c.version == version
    )
    found = (await conn.execute(query)).scalar()
    if found is None:
        raise NotFound(f"process {key!r} has no version {version}")
    return dict(found)


async def _managed(c: Ctx, conn: Any, actor: Access, app: str, key: str) -> dict[str, Any]:
    row = await c.process_service.row(conn, app, key)
    require_manage(actor, app, row.entity, "processes")
    return process_json(row)


# -- instances -----------------------------------------------------------------------------------
async def _comment(request: Request) -> str | None:
    """The optional {"comment": ...} body: no body at all is fine."""
    if not (await request.body()).strip():
        return None
    return parse_model(CommentIn, await read_json(request)).comment


@instances.post("/apps/{app}/{entity}/{record_id}/processes/{key}", status_code=201)
async def submit(app: str, entity: str, record_id: IdPath, key: str, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """Start the published process `key` on the record ("submit for approval") as the caller."""
    comment = await _comment(request)
    async with c.db.write() as conn:
        e = await c.store.get(conn, app, entity)
        instance_id = await c.processes.start(conn, e, record_id, key, actor)
        if comment:
            await _note_on_start(conn, instance_id, comment)
        row = await inbox.instance_row(conn, c.store, actor, instance_id)
        return json_response((await inbox.instances_json(conn, [row]))[0], 201)


async def _note_on_start(conn: Any, instance_id: int, comment: str) -> None:
    """The submitter's note goes on the instance's "started" event (the first line of its history)."""
    started = (events.c.instance_id == instance_id) & (events.c.action == "started")
    await conn.execute(update(events).where(started).values(comment=comment))


@instances.get("/apps/{app}/{entity}/{record_id}/process-instances")
async def record_instances(app: str, entity: str, record_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    async with c.db.read() as conn:
        e = await c.store.get(conn, app, entity)
        return json_response({"items": await inbox.record_instances(conn, c.store, actor, e, record_id)})


@instances.get("/process-instances/{instance_id}")
async def get_instance(instance_id: IdPath, c: Ctx, actor: CurrentActor) -> Response:
    """The instance, its timeline (one entry per node visit) and its instance-level events."""
    async with c.db.read() as conn:
        row = await inbox.instance_row(conn, c.store, actor, instance_id)
        return json_response(await inbox.instance_detail(conn, row))


@instances.post("/process-instances/{instance_id}/withdraw")
async def withdraw(instance_id: IdPath, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """The submitter (or an administrator) takes a running request back: its tasks are cancelled
    and its lock released."""
    comment = await _comment(request)
    async with c.db.write() as conn:
        await inbox.instance_row(conn, c.store, actor, instance_id)  # 404 for whoever may not even see it
        await c.processes.withdraw(conn, instance_id, actor, comment)
        row = await inbox.instance_row(conn, c.store, actor, instance_id)
        return json_response((await inbox.instances_json(conn, [row]))[0])


@instances.post("/process-instances/{instance_id}/urge")
async def urge(instance_id: IdPath, request: Request, c: Ctx, actor: CurrentActor) -> Response:
    """The submitter nudges the people the request waits for (催办): each pending task at most once an
    hour; 429 with Retry-After when all were urged within the hour. Answers the tasks urged."""
    comment = await _comment(request)
    async with c.db.write() as conn:
        await inbox.instance_row(conn, c.store, actor, instance_id)  # 404 for whoever may not even see it
        return json_response(await c.processes.urge(conn, instance_id, actor, comment))


router.include_router(definitions)
router.include_router(instances)
