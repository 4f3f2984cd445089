"""BPMN draft import: POST /api/v1/meta/apps/{app}/processes/translate-bpmn turns a file drawn in
another tool into a draft definition plus issues on its nodes and edges, storing nothing, on each
database. The fixtures under tests/fixtures/bpmn were drawn "by other tools": Camunda 7 Modeler,
Camunda 8 (Zeebe) Modeler and demo.bpmn.io, with their namespaces, extension elements and diagrams.

The rule scenarios' sales app (tests/scenarios/rules_world.py): opportunity (name, amount, important,
status); teams key_accounts_a, region_b, warehouse; the built-in roles (manager = 经理 ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.api.context import Context
from tests.scenarios.process_desk import DEFS, DISCOUNT
from tests.scenarios.rules_world import RulesWorld, build_world

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
XML = {"Content-Type": "application/xml"}
URL = f"{DEFS}/translate-bpmn"


@pytest.fixture
async def world(ctx: Context, client: httpx.AsyncClient, admin: dict[str, Any]) -> RulesWorld:
    return await build_world(ctx, client, int(admin["id"]))


async def _translate(http: httpx.AsyncClient, name: str, **params: str) -> dict[str, Any]:
    r = await http.post(URL, content=(FIXTURES / name).read_bytes(), headers=XML, params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _issues(out: dict[str, Any]) -> dict[tuple[str | None, str], str]:
    """(node or edge, code) -> path of every issue."""
    return {(i["edge"] or i["node"], i["code"]): i["path"] for i in out["issues"]}


def _node(out: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in out["definition"]["nodes"] if n["id"] == node_id)


def _edge(out: dict[str, Any], edge_id: str) -> dict[str, Any]:
    return next(e for e in out["definition"]["edges"] if e.get("id") == edge_id)


async def test_camunda7_file_becomes_a_draft_with_issues_on_its_nodes(world: RulesWorld) -> None:
    """JUEL conditions translate; candidateGroups "Manager" is the built-in role by its label; an
    assignee expression, a Java delegate, a boundary timer and a method call are issues, not a refusal."""
    processes_before = (await world.http.get(DEFS)).json()["items"]
    out = await _translate(world.http, "camunda7_discount.bpmn", entity="opportunity")
    d = out["definition"]
    assert d["key"] == "discount_approval" and d["entity"] == "opportunity" and d["label"] == "Discount approval"
    assert _node(out, "Task_manager")["assignees"] == [{"type": "role", "role": "manager"}]
    assert _node(out, "Task_manager")["position"] == {"x": 360, "y": 80}  # from the diagram
    assert _node(out, "End_rejected")["outcome"] == "rejected"  # a terminate end
    assert _edge(out, "Flow_big")["condition"] == {
        "all": [{"field": "amount", "op": "gt", "value": 1000}, {"field": "important", "op": "eq", "value": True}]
    }
    assert _edge(out, "Flow_small")["default"] is True and len(_edge(out, "Flow_big")["points"]) == 3
    # The "Approved?" gateway after the manager (flows yes / no on a variable the task sets) is the approval's
    # own decision here: it goes, and its flows leave the approval as its approved and rejected edges.
    assert "Gateway_decision" not in {n["id"] for n in d["nodes"]}
    assert {(e["to"], e.get("outcome")) for e in d["edges"] if e["from"] == "Task_manager"} == {
        ("Task_crm", None),
        ("End_rejected", "rejected"),
    }
    issues = _issues(out)
    assert issues == {
        ("Task_owner", "choose_approvers"): "/nodes/3/assignees",
        ("Task_crm", "actions_missing"): "/nodes/4/actions",
        ("Task_manager", "boundary_event"): "/nodes/2/deadline",
        ("Flow_overdue", "edge_dropped"): "/edges",
        ("Flow_medium", "unknown_field"): "/edges/2/condition/field",  # `discount` is no field of opportunity
    }
    assert out["definition"]["edges"][2]["id"] == "Flow_medium" and d["nodes"][4]["id"] == "Task_crm"
    assert (await world.http.get(DEFS)).json()["items"] == processes_before  # nothing stored


async def test_zeebe_file_with_feel_conditions_groups_and_a_call_activity(world: RulesWorld) -> None:
    out = await _translate(world.http, "zeebe_order.bpmn", entity="opportunity")
    assert _node(out, "Activity_review")["assignees"] == [{"type": "team", "team": "key_accounts_a"}]
    # a FEEL list of groups ("Region_b" by key in another case) and the initiator
    assert _node(out, "Activity_finance")["assignees"] == [{"type": "team", "team": "region_b"}, {"type": "submitter"}]
    assert _node(out, "Event_cooling")["duration"] == {"amount": 24, "unit": "hours"}
    assert _edge(out, "Flow_big")["condition"] == {
        "all": [{"field": "amount", "op": "gt", "value": 1000}, {"field": "status", "op": "eq", "value": "open"}]
    }
    assert _node(out, "Activity_ship")["type"] == "service"  # the call activity's placeholder
    issues = _issues(out)
    assert issues[("Activity_ship", "placeholder")] == "/nodes/8"
    assert issues[("Activity_finance", "choose_approvers")] == "/nodes/4/assignees"  # 'procurement' matches nothing
    assert issues[("Flow_priority", "unknown_field")] == "/edges/3/condition/field"


async def test_bpmn_io_file_with_potential_owners(world: RulesWorld) -> None:
    out = await _translate(world.http, "bpmnio_simple.bpmn", entity="opportunity")
    assert _node(out, "Task_sales")["assignees"] == [{"type": "users", "users": ["a1@example.com"]}]
    assert _node(out, "Task_warehouse")["assignees"] == [{"type": "team", "team": "warehouse"}]  # by its label
    assert [(i["node"], i["code"]) for i in out["issues"]] == [("SubProcess_legal", "placeholder")]


async def test_without_an_entity_the_draft_asks_for_one(world: RulesWorld) -> None:
    out = await _translate(world.http, "bpmnio_simple.bpmn")
    assert "entity" not in out["definition"]
    assert [(i["node"], i["code"]) for i in out["issues"] if i["path"] == "/entity"] == [(None, "entity_missing")]
    assert (await world.http.post(URL, content=(FIXTURES / "bpmnio_simple.bpmn").read_bytes(), headers=XML,
                                  params={"entity": "nope"})).json()["issues"][-1]["code"] == "unknown_entity"  # fmt: skip


async def test_only_builders_of_the_app_may_translate(ctx: Context, world: RulesWorld) -> None:
    async with ctx.db.write() as conn:
        token, _ = await ctx.auth.create_token(conn, world.users["a1"], "tests")
    body = (FIXTURES / "bpmnio_simple.bpmn").read_bytes()
    rep = {"Authorization": f"Bearer {token}"} | XML
    assert (await world.http.post(URL, content=body, headers=rep)).status_code == 403
    assert (await world.http.post(URL, content=body, headers=rep, params={"entity": "opportunity"})).status_code == 403


async def test_a_tangram_export_translates_exactly_and_a_fixed_draft_saves(world: RulesWorld) -> None:
    assert (await world.http.post(DEFS, json=DISCOUNT)).status_code == 201
    exported = (await world.http.get(f"{DEFS}/discount/bpmn")).content
    r = await world.http.post(URL, content=exported, headers=XML)
    assert r.status_code == 200, r.text
    assert r.json()["issues"] == []
    saved = (await world.http.get(f"{DEFS}/discount")).json()
    assert r.json()["definition"]["nodes"] == saved["nodes"]

    out = await _translate(world.http, "bpmnio_simple.bpmn", entity="opportunity")
    fixed = out["definition"] | {"key": "from_bpmn_io"}
    fixed["nodes"][3] = {"id": "SubProcess_legal", "type": "approval", "assignees": [{"type": "manager"}]}
    assert (await world.http.post(DEFS, json=fixed)).status_code == 201


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">
<bpmn:process id="p">&lol2;</bpmn:process></bpmn:definitions>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">
<bpmn:process id="p" name="&xxe;"/></bpmn:definitions>"""


async def test_hostile_files_are_clear_4xx(world: RulesWorld) -> None:
    http = world.http
    for payload in (BILLION_LAUGHS, XXE):
        r = await http.post(URL, content=payload, headers=XML)
        assert r.status_code == 422 and r.json()["errors"][0]["code"] == "doctype", r.text
    huge = b"<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>" + b" " * 2_000_001
    assert (await http.post(URL, content=huge, headers=XML)).status_code == 413
    r = await http.post(URL, content=b"<not-closed", headers=XML)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "xml"
    r = await http.post(URL, content=b"<root/>", headers=XML)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_bpmn"
    assert (await http.post(URL, content=b"{}", headers={"Content-Type": "application/json"})).status_code == 415
    assert (await http.post(URL, content=b"<x/>", headers=XML, params={"entity": "Bad Key"})).status_code == 422


def _decision_file(yes: str, no: str) -> bytes:
    """A user task followed by a gateway on a yes/no variable, as Camunda users draw an approval."""
    flow = '<bpmn:sequenceFlow id="{id}" name="{name}" sourceRef="{s}" targetRef="{t}">{c}</bpmn:sequenceFlow>'
    cond = '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{}</bpmn:conditionExpression>'
    flows = "".join(
        flow.format(id=i, name=n, s=s, t=t, c=cond.format(c) if c else "")
        for i, n, s, t, c in [("F1", "", "S", "T", ""), ("F2", "", "T", "G", ""), ("F3", "同意", "G", "Ok", yes),
                              ("F4", "驳回", "G", "No", no)]
    )  # fmt: skip
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="S"/>
<bpmn:userTask id="T" name="Boss" camunda:assignee="boss@example.com"/><bpmn:exclusiveGateway id="G"/>
<bpmn:endEvent id="Ok" name="通过"/><bpmn:endEvent id="No" name="驳回"><bpmn:terminateEventDefinition/></bpmn:endEvent>
{flows}</bpmn:process></bpmn:definitions>""".encode()


@pytest.mark.parametrize(
    ("yes", "no"), [("${approved}", "${!approved}"), ("=approved = true", "= not(approved)"), ("${a.b()}", "${c.d()}")]
)
async def test_an_approvals_decision_gateway_becomes_its_outcomes(world: RulesWorld, yes: str, no: str) -> None:
    r = await world.http.post(URL, content=_decision_file(yes, no), headers=XML, params={"entity": "opportunity"})
    out = r.json()
    assert [n["id"] for n in out["definition"]["nodes"]] == ["S", "T", "Ok", "No"]
    assert [(e["from"], e["to"], e.get("outcome")) for e in out["definition"]["edges"]] == [
        ("S", "T", None),
        ("T", "Ok", None),
        ("T", "No", "rejected"),
    ]
    assert out["definition"]["nodes"][1]["assignees"] == [{"type": "users", "users": ["boss@example.com"]}]
    assert out["issues"] == []  # it saves as it is


async def test_a_gateway_on_a_real_field_stays_a_gateway(world: RulesWorld) -> None:
    body = _decision_file("${important}", "${!important}")
    out = (await world.http.post(URL, content=body, headers=XML, params={"entity": "opportunity"})).json()
    assert "G" in [n["id"] for n in out["definition"]["nodes"]]
