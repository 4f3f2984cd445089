from tests.factories import make_app


async def test_health_is_public(anon):
    r = await anon.get("/api/v1/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


async def test_create_and_read_lead(client):
    await make_app(client)
    r = await client.post("/api/v1/apps/crm/lead", json={"name": "Acme 制造", "budget": 600000.5, "industry": "manufacturing"})
    assert r.status_code == 201, r.text
    lead = r.json()
    assert lead["name"] == "Acme 制造" and lead["budget"] == 600000.5 and lead["code"] == "LEAD-000001"
    assert lead["version"] == 1 and lead["qualified"] is False
    r = await client.get(f"/api/v1/apps/crm/lead/{lead['id']}")
    assert r.json() == lead
