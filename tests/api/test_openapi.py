"""The per-app OpenAPI document: valid OpenAPI 3.1, typed per entity, regenerated on change."""

import jsonschema
from openapi_spec_validator import validate

from tests.factories import ACCOUNT, LEAD, make_app


async def test_app_openapi_is_valid_and_typed(client):
    contact = {"key": "contact", "label": "Contact", "fields": [{"key": "account", "type": "relation", "target": "account"}]}
    await make_app(client, "crm", LEAD, ACCOUNT, contact)
    doc = (await client.get("/api/v1/apps/crm/openapi.json")).json()
    validate(doc)  # raises on any violation of the OpenAPI 3.1 specification
    schemas = doc["components"]["schemas"]
    assert {"Lead", "LeadCreate", "LeadUpdate", "LeadPage", "Account", "Contact", "Problem"} <= set(schemas)
    assert schemas["LeadCreate"]["required"] == ["name"]
    assert "code" not in schemas["LeadCreate"]["properties"]  # auto numbers are server-assigned
    industry = schemas["Lead"]["properties"]["industry"]["anyOf"][0]
    assert industry["enum"] == ["manufacturing", "retail", "finance"]
    paths = {p for p in doc["paths"] if p.startswith("/api/v1/apps/crm/lead")}
    assert paths == {f"/api/v1/apps/crm/lead{s}" for s in ("", "/bulk", "/{id}", "/trash", "/trash/{id}", "/trash/{id}/restore")}
    assert doc["paths"]["/api/v1/apps/crm/lead/{id}"]["patch"]["parameters"][0]["name"] == "If-Match"


async def test_records_validate_against_their_published_schema(client):
    await make_app(client)
    doc = (await client.get("/api/v1/apps/crm/openapi.json")).json()
    body = {
        "name": "Acme",
        "budget": 12.5,
        "tags": ["vip"],
        "industry": "retail",
        "last_activity_at": "2026-11-23T08:00:00+08:00",
    }
    created = await client.post("/api/v1/apps/crm/lead", json=body)
    jsonschema.Draft202012Validator(doc["components"]["schemas"]["LeadCreate"]).validate(body)
    jsonschema.Draft202012Validator(doc["components"]["schemas"]["Lead"]).validate(created.json())


async def test_document_follows_definition_changes(client):
    await make_app(client)
    before = (await client.get("/api/v1/apps/crm/openapi.json")).json()
    definition = (await client.get("/api/v1/meta/apps/crm/entities/lead")).json()
    definition["fields"].append({"key": "score", "type": "integer", "min": 0, "max": 100})
    assert (await client.put("/api/v1/meta/apps/crm/entities/lead", json=definition)).status_code == 200
    after = (await client.get("/api/v1/apps/crm/openapi.json")).json()
    assert after["info"]["version"] != before["info"]["version"]
    score = after["components"]["schemas"]["Lead"]["properties"]["score"]["anyOf"][0]
    assert score == {"type": "integer", "minimum": 0.0, "maximum": 100.0}


async def test_the_generic_document_declares_problem_json_errors_and_405_names_every_method(anon):
    """Issue 18: what schemathesis found: undocumented error statuses, problem+json undeclared, 405 without
    the path's full Allow list (FastAPI makes a route per method)."""
    doc = (await anon.get("/api/openapi.json")).json()
    roles = doc["paths"]["/api/v1/admin/roles/{key}"]
    for method in ("get", "put", "delete"):
        responses = roles[method]["responses"]
        assert {"401", "403", "404", "422", "429", "503"} <= responses.keys()
        assert list(responses["422"]["content"]) == ["application/problem+json"]
    assert "412" in roles["put"]["responses"] and "412" not in roles["get"]["responses"]
    assert "Problem" in doc["components"]["schemas"]

    r = await anon.request("TRACE", "/api/v1/admin/roles/sales")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, PUT"
    assert r.headers["content-type"] == "application/problem+json"
