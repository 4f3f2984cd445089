"""Simulate (试运行) on the CRM template's own P2 quote discount approval (apps_catalog/crm), on each
database: a 15% quote submitted by the rep goes to the rep's manager, 5% is approved at once, 25% adds the
director and finance countersign (roles crm_director, crm_finance); nothing is written."""

from __future__ import annotations

from typing import Any

from tests.scenarios.test_crm_template import Crm, _quote, crm  # noqa: F401 (crm: the P2 scenarios' fixture)

URL = "/api/v1/meta/apps/crm/processes/quote_discount/simulate"


async def _simulate(crm: Crm, **body: Any) -> dict[str, Any]:  # noqa: F811
    r = await crm.clients["admin"].post(URL, json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _names(result: dict[str, Any], node: str) -> list[str]:
    step = next(s for s in result["steps"] if s["node"] == node)
    return [a["name"] for a in step["assignees"]]


async def test_p2_fifteen_percent_goes_to_the_reps_manager_five_is_approved(crm: Crm) -> None:  # noqa: F811
    quote = await _quote(crm, 15)
    big = await _simulate(crm, record_id=quote["id"], submitter_id=crm.ids["rep"], version=1)
    assert [s["node"] for s in big["steps"]] == ["start", "pending", "discount_check", "manager", "approved"]
    assert _names(big, "manager") == ["manager"]
    assert [d["kind"] for d in big["steps"][3]["deadlines"]] == ["remind", "escalate"]
    assert big["steps"][2]["branch_taken"]["values"] == {"discount": 15}
    assert (await crm.get("quote", quote["id"]))["status"] == quote["status"]  # the service task did not run

    small = await _quote(crm, 5)
    result = await _simulate(crm, record_id=small["id"], submitter_id=crm.ids["rep"])
    assert [s["node"] for s in result["steps"]] == ["start", "pending", "discount_check", "approved"]
    assert result["outcome"] == "approved" and result["steps"][2]["branch_taken"]["edges"][0]["default"] is True


async def test_p2_twenty_five_percent_adds_the_countersign_by_role(crm: Crm) -> None:  # noqa: F811
    quote = await _quote(crm, 25)
    result = await _simulate(crm, record_id=quote["id"], submitter_id=crm.ids["rep"])
    assert [s["node"] for s in result["steps"]][3:] == ["manager_big", "countersign", "approved"]
    assert sorted(_names(result, "countersign")) == ["director", "finance"]
    assert result["steps"][4]["mode"] == "all"
    refused = await crm.clients["rep"].post(URL, json={"record_id": quote["id"]})
    assert refused.status_code == 403  # a rep does not build the CRM


async def test_typed_values_get_their_formula_fields_computed(crm: Crm) -> None:  # noqa: F811
    """A condition on a formula field (the quote's total) reads the value the save would compute."""
    process = {
        "key": "by_total", "entity": "quote",
        "nodes": [{"id": "start", "type": "start"}, {"id": "check", "type": "exclusive"},
                  {"id": "priced", "type": "end", "outcome": "approved"}, {"id": "unpriced", "type": "end"}],
        "edges": [{"from": "start", "to": "check"},
                  {"from": "check", "to": "priced", "condition": {"field": "total", "op": "is_not_empty"}},
                  {"from": "check", "to": "unpriced", "default": True}],
    }  # fmt: skip
    r = await crm.clients["admin"].post("/api/v1/meta/apps/crm/processes", json=process)
    assert r.status_code == 201, r.text
    quote = await _quote(crm, 15)
    body = {"values": {"opportunity": quote["opportunity"], "discount": 15}}
    r = await crm.clients["admin"].post("/api/v1/meta/apps/crm/processes/by_total/simulate", json=body)
    assert r.status_code == 200, r.text
    assert [s["node"] for s in r.json()["steps"]] == ["start", "check", "priced"]
