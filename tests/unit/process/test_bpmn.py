"""BPMN 2.0 export and import: what a builder downloads opens in standard BPMN tools (SpiffWorkflow's
XSD-validating parser stands in for them), imports back exactly, and hostile files are refused."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator

from engine.core.errors import ErrorCollector
from engine.process.bpmn import MAX_BPMN_BYTES, NAMESPACES, from_bpmn, to_bpmn
from engine.process.definition import ProcessDefinition, parse_process
from engine.process.graph import check_graph

HOSTILE = "<b>&amp; \"quoted\" 'single' ]]> </bpmn:process>\x0b\ud800\ufffe"  # the last three: not XML
COND = {"field": "discount", "op": "gt", "value": 10}


def p2_like() -> ProcessDefinition:
    """Discount approval with labels in Chinese and English, hostile text everywhere it may go."""
    return ProcessDefinition.model_validate(
        {
            "key": "discount_approval",
            "entity": "quote",
            "label": {"zh-CN": "折扣审批", "en": f"Discount {HOSTILE}"},
            "description": HOSTILE,
            "start": {"manual": True, "who": "owner"},
            "lock": "fields",
            "lock_fields": ["discount"],
            "nodes": [
                {"id": "start", "type": "start", "position": {"x": 40, "y": 120.5}},
                {"id": "big", "type": "exclusive", "label": {"zh-CN": "折扣大于10%?"}},
                {
                    "id": "manager",
                    "type": "approval",
                    "label": {"en": HOSTILE, "zh-CN": "经理审批"},
                    "description": {"zh-CN": "请在三天内审批 <紧急>"},
                    "assignees": [{"type": "manager"}],
                    "deadline": {"remind": {"amount": 24, "unit": "hours"}},
                },
                {"id": "finance", "type": "approval", "mode": "all", "assignees": [{"type": "role", "role": "finance"}]},
                {"id": "approved", "type": "end", "outcome": "approved", "set": {"status": "approved", "note": HOSTILE}},
                {"id": "rejected", "type": "end", "outcome": "rejected", "label": "驳回"},
            ],
            "edges": [
                {"from": "start", "to": "big", "id": "submitted"},
                {"from": "big", "to": "manager", "label": f"> 10% {HOSTILE}", "condition": COND | {"value": HOSTILE}},
                {"from": "big", "to": "approved", "default": True, "points": [{"x": 100, "y": 10}]},
                {"from": "manager", "to": "finance", "points": [{"x": 1, "y": 2}, {"x": 3.25, "y": 4}]},
                {"from": "manager", "to": "rejected", "outcome": "rejected", "label": {"zh-CN": "驳回"}},
                {"from": "finance", "to": "approved", "outcome": "approved"},
                {"from": "finance", "to": "rejected", "outcome": "rejected"},
            ],
        }
    )


def p6_like() -> ProcessDefinition:
    """A signed contract fans out to production, invoicing and kick-off; timers and a service task."""
    branches = [("production", "生产排期"), ("invoice", "开票申请"), ("kickoff", "项目启动")]
    return ProcessDefinition.model_validate(
        {
            "key": "contract_fan_out",
            "entity": "contract",
            "label": {"zh-CN": "合同签订后并行处理"},
            "nodes": [
                {"id": "start", "type": "start"},
                {"id": "fan", "type": "parallel"},
                *({"id": b, "type": "fill", "label": {"zh-CN": zh}, "assignees": [{"type": "submitter"}]} for b, zh in branches),
                {"id": "joined", "type": "parallel", "label": HOSTILE},
                {"id": "wait", "type": "timer", "duration": {"amount": 3, "unit": "days"}},
                {
                    "id": "due",
                    "type": "timer",
                    "field": "due_date",
                    "offset": {"amount": 1, "unit": "days"},
                    "direction": "before",
                },
                {"id": "notify", "type": "service", "actions": [{"type": "notify", "text": HOSTILE}]},
                {"id": "done", "type": "end"},
            ],
            "edges": [
                {"from": "start", "to": "fan"},
                *({"from": "fan", "to": b} for b, _ in branches),
                *({"from": b, "to": "joined"} for b, _ in branches),
                {"from": "joined", "to": "wait"},
                {"from": "wait", "to": "due"},
                {"from": "due", "to": "notify"},
                {"from": "notify", "to": "done"},
            ],
        }
    )


def spiff_spec(xml: str, key: str) -> Any:
    parser = BpmnParser(validator=BpmnValidator())  # validates against the BPMN 2.0 XSD
    parser.add_bpmn_str(xml.encode("utf-8"))
    return parser.get_spec(key)


def parsed(xml: str) -> ET.Element:
    return ET.fromstring(xml.encode("utf-8"))


def elements_by_id(xml: str) -> dict[str | None, ET.Element]:
    process = parsed(xml).find("bpmn:process", NAMESPACES)
    assert process is not None
    return {e.get("id"): e for e in process}


def import_errors(xml: str | bytes) -> tuple[dict[str, Any] | None, list[tuple[str, str]], ErrorCollector]:
    errors = ErrorCollector()
    doc = from_bpmn(xml, errors)
    return doc, [(e.path, e.code) for e in errors.errors], errors


@pytest.mark.parametrize("make", [p2_like, p6_like])
def test_export_imports_back_exactly(make: Any) -> None:
    process = make()
    graph_errors = ErrorCollector()
    check_graph(process, graph_errors)
    assert graph_errors.errors == []  # a definition a builder could save
    doc, found, _ = import_errors(to_bpmn(process))
    assert found == []
    assert doc == process.to_json()


@pytest.mark.parametrize("make", [p2_like, p6_like])
def test_export_is_valid_bpmn_for_standard_tools(make: Any) -> None:
    process = make()
    spec = spiff_spec(to_bpmn(process), process.key)
    assert {n["id"] for n in process.to_json()["nodes"]} <= set(spec.task_specs)


def test_export_maps_node_types_names_and_conditions() -> None:
    root = parsed(to_bpmn(p2_like()))
    process = root.find("bpmn:process", NAMESPACES)
    assert process is not None and process.get("id") == "discount_approval" and process.get("isExecutable") == "true"
    assert process.get("name") == "Discount <b>&amp; \"quoted\" 'single' ]]> </bpmn:process>\ufffd\ufffd\ufffd"  # en first
    by_id = {e.get("id"): e for e in process}
    assert by_id["big"].tag == f"{{{NAMESPACES['bpmn']}}}exclusiveGateway"
    assert by_id["big"].get("name") == "折扣大于10%?"  # zh-CN when no English
    assert by_id["finance"].get("name") == "finance"  # the id when no label
    assert by_id["big"].get("default") == "flow_2"  # edges without an id are flow_<i>
    assert by_id["manager"].tag.endswith("}userTask")
    assert by_id["rejected"].find("bpmn:terminateEventDefinition", NAMESPACES) is not None
    assert by_id["approved"].find("bpmn:terminateEventDefinition", NAMESPACES) is None
    expression = by_id["flow_1"].find("bpmn:conditionExpression", NAMESPACES)
    assert expression is not None and expression.get(f"{{{NAMESPACES['xsi']}}}type") == "bpmn:tFormalExpression"
    assert json.loads(expression.text or "") == COND | {"value": HOSTILE}
    assert [i.text for i in by_id["big"].findall("bpmn:incoming", NAMESPACES)] == ["submitted"]


def test_an_approval_with_a_rejected_path_decides_in_a_gateway() -> None:
    """BPMN takes every unconditioned flow out of a task: the decision is made explicit instead."""
    by_id = elements_by_id(to_bpmn(p2_like()))
    assert [o.text for o in by_id["manager"].findall("bpmn:outgoing", NAMESPACES)] == ["manager_decided"]
    gateway = by_id["manager_decision"]
    assert gateway.tag.endswith("}exclusiveGateway") and gateway.get("default") == "flow_3"
    rejected = by_id["flow_4"]
    assert rejected.get("sourceRef") == "manager_decision" and rejected.get("name") == "驳回"
    assert json.loads(rejected.findtext("bpmn:conditionExpression", "", NAMESPACES)) == {"outcome": "rejected"}


def test_timers_and_services() -> None:
    by_id = elements_by_id(to_bpmn(p6_like()))
    assert by_id["wait"].tag.endswith("}intermediateCatchEvent")
    assert by_id["wait"].findtext("bpmn:timerEventDefinition/bpmn:timeDuration", None, NAMESPACES) == "P3D"
    assert by_id["due"].findtext("bpmn:timerEventDefinition/bpmn:timeDate", None, NAMESPACES) == "due_date - P1D"
    assert by_id["notify"].tag.endswith("}serviceTask")
    assert by_id["fan"].tag.endswith("}parallelGateway")


def test_diagram_uses_positions_and_lays_out_the_rest_left_to_right() -> None:
    root = parsed(to_bpmn(p2_like()))
    bounds = {
        s.get("bpmnElement"): {k: float(v) for k, v in s.find("dc:Bounds", NAMESPACES).attrib.items()}  # type: ignore[union-attr]
        for s in root.iterfind(".//bpmndi:BPMNShape", NAMESPACES)
    }
    assert bounds["start"] == {"x": 40, "y": 120.5, "width": 36, "height": 36}
    assert (bounds["big"]["width"], bounds["manager"]["width"], bounds["manager"]["height"]) == (50, 100, 80)
    assert bounds["big"]["x"] < bounds["manager"]["x"] < bounds["finance"]["x"]
    waypoints = {
        e.get("bpmnElement"): [(float(p.get("x", "")), float(p.get("y", ""))) for p in e.findall("di:waypoint", NAMESPACES)]
        for e in root.iterfind(".//bpmndi:BPMNEdge", NAMESPACES)
    }
    assert waypoints["flow_3"] == [(1, 2), (3.25, 4)]  # the edge's own points
    start_centre = (40 + 18, 120.5 + 18)
    big_centre = (bounds["big"]["x"] + 25, bounds["big"]["y"] + 25)
    assert waypoints["submitted"] == [start_centre, big_centre]


def test_ids_stay_unique_when_names_collide() -> None:
    process = ProcessDefinition.model_validate(
        {
            "key": "flow_1",
            "entity": "quote",
            "nodes": [{"id": "start", "type": "start"}, {"id": "flow_1_2", "type": "end"}],
            "edges": [{"from": "start", "to": "flow_1_2"}],
        }
    )
    xml = to_bpmn(process)
    ids = [e.get("id") for e in parsed(xml).iter() if e.get("id")]
    assert len(ids) == len(set(ids))
    spiff_spec(xml, "flow_1")
    doc, found, _ = import_errors(xml)
    assert found == [] and doc == process.to_json()


def test_import_takes_positions_from_moved_shapes() -> None:
    xml = to_bpmn(p2_like()).replace('<dc:Bounds x="40" y="120.5"', '<dc:Bounds x="300" y="7"')
    doc, _, _ = import_errors(xml)
    assert doc is not None and doc["nodes"][0]["position"] == {"x": 300, "y": 7}
    assert "position" not in doc["nodes"][1]  # placed automatically on export: still unplaced


GENERIC = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="Process_Order" name="Order" isExecutable="true">
    <bpmn:startEvent id="Start_1" name="Received"/>
    <bpmn:exclusiveGateway id="Big" default="Flow_small"/>
    <bpmn:parallelGateway id="Fan"/>
    <bpmn:intermediateCatchEvent id="Wait"><bpmn:timerEventDefinition>
      <bpmn:timeDuration>PT2H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="End_1"/>
    <bpmn:endEvent id="End_2"/>
    <bpmn:textAnnotation id="Note"><bpmn:text>ignored</bpmn:text></bpmn:textAnnotation>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="Start_1" targetRef="Big"/>
    <bpmn:sequenceFlow id="Flow_big" name="big" sourceRef="Big" targetRef="Fan">
      <bpmn:conditionExpression>{"field": "amount", "op": "gt", "value": 1000}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_small" sourceRef="Big" targetRef="End_1"/>
    <bpmn:sequenceFlow id="Flow_a" sourceRef="Fan" targetRef="Wait"/>
    <bpmn:sequenceFlow id="Flow_b" sourceRef="Fan" targetRef="End_2"/>
    <bpmn:sequenceFlow id="Flow_w" sourceRef="Wait" targetRef="End_2"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="D1"><bpmndi:BPMNPlane id="P1" bpmnElement="Process_Order">
    <bpmndi:BPMNShape id="S1" bpmnElement="Start_1"><dc:Bounds x="10" y="20.5" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="E1" bpmnElement="Flow_1"><di:waypoint x="46" y="38"/><di:waypoint x="100" y="38"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def test_import_maps_a_plain_bpmn_file() -> None:
    doc, found, _ = import_errors(GENERIC)
    assert found == []
    assert doc is not None
    assert (doc["key"], doc["label"]) == ("process_order", "Order")
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert nodes["Start_1"] == {"id": "Start_1", "type": "start", "label": "Received", "position": {"x": 10, "y": 20.5}}
    assert nodes["Wait"] == {"id": "Wait", "type": "timer", "duration": {"amount": 2, "unit": "hours"}}
    assert [nodes[i]["type"] for i in ("Big", "Fan", "End_1")] == ["exclusive", "parallel", "end"]
    edges = {e["id"]: e for e in doc["edges"]}
    assert edges["Flow_big"] == {
        "id": "Flow_big",
        "from": "Big",
        "to": "Fan",
        "label": "big",
        "condition": {"field": "amount", "op": "gt", "value": 1000},
    }
    assert edges["Flow_small"]["default"] is True
    assert edges["Flow_1"]["points"] == [{"x": 46, "y": 38}, {"x": 100, "y": 38}]
    # The caller validates it like any definition once it names its entity.
    errors = ErrorCollector()
    process = parse_process(doc | {"entity": "order"}, errors)
    assert process is not None
    check_graph(process, errors)
    assert errors.errors == []


def test_import_reports_what_bpmn_cannot_say_or_tangram_cannot_run() -> None:
    xml = GENERIC.replace(
        '<bpmn:endEvent id="End_2"/>',
        '<bpmn:endEvent id="End_2"/><bpmn:userTask id="Review"/><bpmn:scriptTask id="Calc"/><bpmn:subProcess id="Sub"/>'
        '<bpmn:boundaryEvent id="Late" attachedToRef="Review"><bpmn:timerEventDefinition/></bpmn:boundaryEvent>'
        '<bpmn:serviceTask id="Mail"/>',
    ).replace('{"field": "amount", "op": "gt", "value": 1000}', "${amount &gt; 1000}")
    doc, found, errors = import_errors(xml)
    assert doc is None
    assert found == [
        ("/bpmn/Review", "assignees_missing"),
        ("/bpmn/Calc", "unsupported"),
        ("/bpmn/Sub", "unsupported"),
        ("/bpmn/Late", "unsupported"),
        ("/bpmn/Mail", "actions_missing"),
        ("/bpmn/Flow_big", "condition_unsupported"),
    ]
    messages = [e.message for e in errors.errors]
    assert "userTask 'Review' becomes an approval" in messages[0]
    assert messages[1] == "scriptTask 'Calc' is not supported by Tangram processes"
    assert messages[3] == "boundaryEvent with timerEventDefinition 'Late' is not supported by Tangram processes"
    assert "${amount > 1000}" in messages[5]


def test_a_userTask_with_tangram_assignees_imports() -> None:
    definition = json.dumps({"id": "Review", "type": "approval", "assignees": [{"type": "role", "role": "sales_manager"}]})
    xml = GENERIC.replace(
        '<bpmn:endEvent id="End_2"/>',
        '<bpmn:endEvent id="End_2"/><bpmn:userTask id="Review" xmlns:tangram="https://tangram.dev/bpmn"><bpmn:extensionElements>'
        f"<tangram:definition>{definition}</tangram:definition></bpmn:extensionElements></bpmn:userTask>",
    )
    doc, found, _ = import_errors(xml)
    assert found == []
    assert doc is not None and json.loads(definition) in doc["nodes"]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</bpmn:definitions>"""
EXTERNAL = """<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL, BILLION_LAUGHS.encode("utf-16")])
def test_a_doctype_is_refused(xml: str | bytes) -> None:
    doc, found, errors = import_errors(xml)
    assert doc is None
    assert found == [("/bpmn", "doctype")]
    assert "DOCTYPE" in errors.errors[0].message


def test_an_oversized_file_is_refused_before_parsing() -> None:
    xml = GENERIC.replace("</bpmn:definitions>", "<!--" + "x" * MAX_BPMN_BYTES + "--></bpmn:definitions>")
    for payload in (xml, xml.encode()):
        doc, found, _ = import_errors(payload)
        assert doc is None and found == [("/bpmn", "too_large")]


@pytest.mark.parametrize(
    ("xml", "code"),
    [
        ("<bpmn:definitions", "xml"),
        ('<definitions xmlns="urn:other"/>', "not_bpmn"),
        ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>', "no_process"),
    ],
)
def test_files_that_are_not_bpmn_processes_are_refused(xml: str, code: str) -> None:
    doc, found, _ = import_errors(xml)
    assert doc is None and found == [("/bpmn", code)]


def test_a_broken_tangram_extension_is_reported_at_its_element() -> None:
    xml = to_bpmn(p6_like()).replace('<tangram:definition>{"id": "wait"', '<tangram:definition>{"id": "wait" oops')
    doc, found, _ = import_errors(xml)
    assert doc is None and found == [("/bpmn/wait", "extension")]
