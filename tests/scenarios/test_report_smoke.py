from __future__ import annotations

from engine.auth.access import load_access
from engine.reports.definition import ChartDefinition
from tests.scenarios.rules_world import RulesWorld


async def test_smoke(world: RulesWorld) -> None:
    for name, amount, status in [("a", "100", "open"), ("b", "250", "won"), ("c", "50", "won"), ("d", "10", "lost")]:
        await world.create("opportunity", name=name, amount=amount, status=status)
    chart = ChartDefinition.model_validate(
        {
            "key": "by_status",
            "type": "bar",
            "source": "opportunity",
            "dimensions": [{"field": "status"}],
            "measures": [
                {"key": "n", "agg": "count"},
                {"key": "total", "agg": "sum", "field": "amount"},
                {"key": "share", "percent_of_total": "total"},
            ],
        }
    )
    async with world.ctx.db.read() as conn:
        admin = await load_access(conn, world.users["admin"], True, source="api")
        out = await world.ctx.reports.run(conn, "sales", chart, admin, None)
        print(out)
        print(await world.ctx.reports.sql(conn, "sales", chart, admin, None))
    assert out["data"]["categories"] == ["open", "won", "lost"]
    assert out["data"]["series"][0]["data"] == [1, 2, 1]
    assert out["data"]["series"][1]["data"] == [100, 300, 10]
