"""BPMN 2.0 XML for the node types Tangram supports, so a process drawn here opens in standard BPMN
tools (and one drawn there can be brought in). Each node and edge also carries its full Tangram JSON
in an extension element, so an export imports back exactly."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from engine.core.errors import ErrorCollector, pointer
from engine.process.definition import ProcessDefinition

MAX_BPMN_BYTES = 2_000_000
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
TANGRAM = "https://tangram.dev/bpmn"
NAMESPACES = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI, "tangram": TANGRAM}

# node type -> (BPMN element, shape); an unregistered type is exported as a plain task.
ELEMENTS = {
    "start": ("startEvent", "event"),
    "end": ("endEvent", "event"),
    "approval": ("userTask", "task"),
    "fill": ("userTask", "task"),
    "service": ("serviceTask", "task"),
    "exclusive": ("exclusiveGateway", "gateway"),
    "parallel": ("parallelGateway", "gateway"),
    "inclusive": ("inclusiveGateway", "gateway"),
    "timer": ("intermediateCatchEvent", "event"),
}
SIZES = {"event": (36.0, 36.0), "gateway": (50.0, 50.0), "task": (100.0, 80.0)}
ISO_DURATIONS = {"minutes": "PT{}M", "hours": "PT{}H", "days": "P{}D", "weeks": "P{}W", "months": "P{}M"}
COLUMN, ROW = 200.0, 130.0  # automatic layout grid, left to right by distance from the start
# Characters XML 1.0 cannot carry: escaped in JSON text, replaced in names.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# -- export ---------------------------------------------------------------------------------------
@dataclass
class _Node:
    id: str  # BPMN element id
    tag: str
    shape: str
    doc: dict[str, Any] | None  # None: a decision gateway added after an approval (see _decisions)
    decision_of: str | None = None
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)
    default: str | None = None
    bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


@dataclass
class _Flow:
    id: str
    source: str
    target: str
    edge: dict[str, Any] | None  # None: the flow from an approval to its decision gateway
    condition: Any = None
    name: str | None = None  # shown when the edge has no label


class _Ids:
    """XML ids are unique across the whole document: a taken one gets a numeric suffix."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{wanted}_{n}"
        self.taken.add(candidate)
        return candidate


def to_bpmn(process: ProcessDefinition) -> str:
    """The process as a BPMN 2.0 document (with its diagram), as text to be written in UTF-8."""
    doc = process.to_json()
    ids = _Ids()
    process_id = ids.take(process.key)
    nodes, element_of = _plan_nodes(doc["nodes"], ids)
    flows = _plan_flows(doc["edges"], nodes, element_of, ids)
    _layout(doc, nodes)
    root = ET.Element("bpmn:definitions", {f"xmlns:{p}": uri for p, uri in NAMESPACES.items()})
    root.attrib |= {"id": ids.take("definitions"), "targetNamespace": f"{TANGRAM}/processes", "exporter": "Tangram"}
    settings = {k: v for k, v in doc.items() if k not in ("nodes", "edges")}
    element = ET.SubElement(root, "bpmn:process", {"id": process_id, "name": _name(doc.get("label"), process.key)})
    element.set("isExecutable", "true")
    _describe(element, doc.get("description"), {"definition": settings})
    for node in nodes.values():
        _write_node(element, node)
    for flow in flows:
        _write_flow(element, flow)
    _write_diagram(root, process_id, nodes, flows, ids)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _plan_nodes(docs: list[dict[str, Any]], ids: _Ids) -> tuple[dict[str, _Node], dict[str, str]]:
    nodes: dict[str, _Node] = {}
    element_of: dict[str, str] = {}  # Tangram node id -> BPMN element id
    for doc in docs:
        tag, shape = ELEMENTS.get(str(doc.get("type")), ("task", "task"))
        element_id = ids.take(str(doc.get("id")))
        element_of.setdefault(str(doc.get("id")), element_id)
        nodes[element_id] = _Node(element_id, tag, shape, doc)
    return nodes, element_of


def _plan_flows(edges: list[dict[str, Any]], nodes: dict[str, _Node], element_of: dict[str, str], ids: _Ids) -> list[_Flow]:
    flow_ids = {i: ids.take(e["id"]) for i, e in enumerate(edges) if e.get("id")}
    flow_ids |= {i: ids.take(f"flow_{i}") for i, e in enumerate(edges) if not e.get("id")}
    flows = [
        _Flow(flow_ids[i], element_of.get(e["from"], e["from"]), element_of.get(e["to"], e["to"]), e, e.get("condition"))
        for i, e in enumerate(edges)
    ]
    flows += _decisions(nodes, flows, ids)
    _order_decisions(nodes)
    for flow in flows:
        if flow.source in nodes:
            nodes[flow.source].outgoing.append(flow.id)
        if flow.target in nodes:
            nodes[flow.target].incoming.append(flow.id)
    for node in nodes.values():
        if node.tag in ("exclusiveGateway", "inclusiveGateway") and node.doc is not None:
            node.default = next((f.id for f in flows if f.source == node.id and f.edge and f.edge.get("default")), None)
    return flows


def _decisions(nodes: dict[str, _Node], flows: list[_Flow], ids: _Ids) -> list[_Flow]:
    """BPMN gives a task one way out (several unconditioned flows would all be taken): an approval
    with a rejected path is exported as the user task followed by an exclusive gateway on the
    decision, approved being its default."""
    added: list[_Flow] = []
    for node in list(nodes.values()):
        out = [f for f in flows if f.source == node.id]
        if (
            node.doc is None
            or node.doc.get("type") != "approval"
            or not (len(out) > 1 or any(_outcome(f) == "rejected" for f in out))
        ):
            continue
        gateway = _Node(ids.take(f"{node.id}_decision"), "exclusiveGateway", "gateway", None, decision_of=node.id)
        nodes[gateway.id] = gateway
        added.append(_Flow(ids.take(f"{node.id}_decided"), node.id, gateway.id, None))
        approved = [f for f in out if _outcome(f) == "approved"]
        for flow in out:
            flow.source, flow.name = gateway.id, _outcome(flow)
            flow.condition = None if approved and flow is approved[0] else {"outcome": _outcome(flow)}
        gateway.default = approved[0].id if approved else None
    return added


def _order_decisions(nodes: dict[str, _Node]) -> None:
    """Each decision gateway is written right after its approval, for people reading the XML."""
    ordered = list(nodes.values())
    nodes.clear()
    for node in ordered:
        if node.decision_of is None:
            nodes[node.id] = node
            nodes |= {g.id: g for g in ordered if g.decision_of == node.id}


def _outcome(flow: _Flow) -> str:
    return str((flow.edge or {}).get("outcome") or "approved")


def _layout(doc: dict[str, Any], nodes: dict[str, _Node]) -> None:
    """Bounds from each node's position; nodes without one go in columns by distance from the start."""
    depth = _depths(doc)
    rows: dict[int, int] = {}
    for node in nodes.values():
        if node.doc is None:
            continue
        width, height = SIZES[node.shape]
        position = node.doc.get("position")
        if position:
            node.bounds = (float(position["x"]), float(position["y"]), width, height)
            continue
        column = depth.get(str(node.doc.get("id")), max(depth.values(), default=0) + 1)
        row = rows[column] = rows.get(column, -1) + 1
        centre_x, centre_y = 100 + column * COLUMN, 100 + row * ROW
        node.bounds = (centre_x - width / 2, centre_y - height / 2, width, height)
    for node in nodes.values():
        if node.decision_of is not None:  # just right of its approval, centred on it
            x, y, width, height = nodes[node.decision_of].bounds
            node.bounds = (x + width + 20, y + height / 2 - 25, 50.0, 50.0)


def _depths(doc: dict[str, Any]) -> dict[str, int]:
    starts = [n["id"] for n in doc["nodes"] if n.get("type") == "start"]
    depth = dict.fromkeys(starts, 0)
    queue = deque(starts)
    while queue:
        node_id = queue.popleft()
        for edge in doc["edges"]:
            if edge["from"] == node_id and edge["to"] not in depth:
                depth[edge["to"]] = depth[node_id] + 1
                queue.append(edge["to"])
    return depth


def _write_node(parent: ET.Element, node: _Node) -> None:
    doc = node.doc or {}
    element = ET.SubElement(parent, f"bpmn:{node.tag}", {"id": node.id})
    if node.doc is not None:
        element.set("name", _name(doc.get("label"), str(doc.get("id"))))
    if node.default:
        element.set("default", node.default)
    _describe(element, doc.get("description"), {"definition": doc} if node.doc is not None else {"decision": node.decision_of})
    for flow_id in node.incoming:
        ET.SubElement(element, "bpmn:incoming").text = flow_id
    for flow_id in node.outgoing:
        ET.SubElement(element, "bpmn:outgoing").text = flow_id
    if doc.get("type") == "end" and doc.get("outcome") == "rejected":
        ET.SubElement(element, "bpmn:terminateEventDefinition")
    elif doc.get("type") == "timer":
        timer = ET.SubElement(element, "bpmn:timerEventDefinition")
        kind, text = _timer_expression(doc)
        _formal(timer, f"bpmn:{kind}", text)


def _timer_expression(doc: dict[str, Any]) -> tuple[str, str]:
    if doc.get("duration"):
        return "timeDuration", _iso_duration(doc["duration"])
    text = str(doc.get("field"))
    if doc.get("offset"):
        text += (" - " if doc.get("direction") == "before" else " + ") + _iso_duration(doc["offset"])
    return "timeDate", text


def _iso_duration(offset: dict[str, Any]) -> str:
    return ISO_DURATIONS[offset["unit"]].format(offset["amount"])


def _write_flow(parent: ET.Element, flow: _Flow) -> None:
    element = ET.SubElement(parent, "bpmn:sequenceFlow", {"id": flow.id})
    name = _text((flow.edge or {}).get("label")) or flow.name
    if name:
        element.set("name", _clean(name))
    element.attrib |= {"sourceRef": flow.source, "targetRef": flow.target}
    _describe(element, None, {"definition": flow.edge} if flow.edge is not None else {"decision": flow.source})
    if flow.condition is not None:
        _formal(element, "bpmn:conditionExpression", _json(flow.condition))


def _write_diagram(root: ET.Element, process_id: str, nodes: dict[str, _Node], flows: list[_Flow], ids: _Ids) -> None:
    diagram = ET.SubElement(root, "bpmndi:BPMNDiagram", {"id": ids.take(f"{process_id}_diagram")})
    plane = ET.SubElement(diagram, "bpmndi:BPMNPlane", {"id": ids.take(f"{process_id}_plane"), "bpmnElement": process_id})
    for node in nodes.values():
        shape = ET.SubElement(plane, "bpmndi:BPMNShape", {"id": ids.take(f"{node.id}_di"), "bpmnElement": node.id})
        if node.tag == "exclusiveGateway":
            shape.set("isMarkerVisible", "true")
        x, y, width, height = node.bounds
        ET.SubElement(shape, "dc:Bounds", {"x": _num(x), "y": _num(y), "width": _num(width), "height": _num(height)})
    for flow in flows:
        edge = ET.SubElement(plane, "bpmndi:BPMNEdge", {"id": ids.take(f"{flow.id}_di"), "bpmnElement": flow.id})
        for x, y in _waypoints(flow, nodes):
            ET.SubElement(edge, "di:waypoint", {"x": _num(x), "y": _num(y)})


def _waypoints(flow: _Flow, nodes: dict[str, _Node]) -> list[tuple[float, float]]:
    points = [(float(p["x"]), float(p["y"])) for p in (flow.edge or {}).get("points", [])]
    if len(points) >= 2:
        return points
    return [_centre(nodes.get(flow.source)), *points, _centre(nodes.get(flow.target))]


def _centre(node: _Node | None) -> tuple[float, float]:
    x, y, width, height = node.bounds if node else (0.0, 0.0, 0.0, 0.0)
    return x + width / 2, y + height / 2


def _describe(element: ET.Element, description: Any, extension: dict[str, Any]) -> None:
    """documentation and extensionElements: the first children BPMN allows on every element."""
    if description is not None:
        ET.SubElement(element, "bpmn:documentation").text = _clean(_text(description) or "")
    extensions = ET.SubElement(element, "bpmn:extensionElements")
    for name, value in extension.items():
        ET.SubElement(extensions, f"tangram:{name}").text = _json(value)


def _formal(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag, {"xsi:type": "bpmn:tFormalExpression"}).text = text


def _json(value: Any) -> str:
    """JSON text that XML can carry: characters XML 1.0 forbids are written as JSON escapes."""
    text = json.dumps(value, ensure_ascii=False)
    return NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)  # all such characters are below U+10000


def _text(label: Any) -> str | None:
    """A label's text for BPMN names: English, else Chinese, else the first language given."""
    if isinstance(label, dict):
        return next((label[k] for k in ("en", "zh-CN") if isinstance(label.get(k), str)), next(iter(label.values()), None))
    return label if isinstance(label, str) else None


def _name(label: Any, fallback: str) -> str:
    return _clean(_text(label) or fallback)


def _clean(text: str) -> str:
    return NOT_XML.sub("\ufffd", str(text))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# -- import ---------------------------------------------------------------------------------------
DECISION = f"{{{BPMN}}}extensionElements/{{{TANGRAM}}}decision"
# Process content that carries no behaviour (notes, lanes, data): skipped.
IGNORED = frozenset(
    {"documentation", "extensionElements", "laneSet", "textAnnotation", "association", "group", "dataObject",
     "dataObjectReference", "dataStoreReference", "property", "ioSpecification", "auditing", "monitoring"}
)  # fmt: skip
GATEWAY_TYPES = {"exclusiveGateway": "exclusive", "parallelGateway": "parallel", "inclusiveGateway": "inclusive"}
ISO_DURATION = re.compile(r"^P(?:(\d+)([DWM])|T(\d+)([HM]))$")
ISO_UNITS = {"D": "days", "W": "weeks", "M": "months", "TH": "hours", "TM": "minutes"}


class _Doctype(Exception):
    pass


class _RefuseDoctype(ET.TreeBuilder):
    """A DOCTYPE is where entity attacks live (billion laughs, external entities): BPMN needs none."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise _Doctype(name)


def from_bpmn(xml: str | bytes, errors: ErrorCollector) -> dict[str, Any] | None:
    """A process document from BPMN 2.0 XML (Tangram's own export restores exactly; other files map the
    supported subset), or None with errors at /bpmn/<element id>. The caller validates the result."""
    before = len(errors.errors)
    root = _parse(xml, errors)
    process = _pick_process(root, errors) if root is not None else None
    if root is None or process is None:
        return None
    shapes = {s.get("bpmnElement"): s.find("dc:Bounds", NAMESPACES) for s in root.iterfind(".//bpmndi:BPMNShape", NAMESPACES)}
    lines = {e.get("bpmnElement"): e.findall("di:waypoint", NAMESPACES) for e in root.iterfind(".//bpmndi:BPMNEdge", NAMESPACES)}
    defaults = {child.get("default") for child in process if child.get("default")}
    doc = _extension(process, "definition", errors)
    doc = _generic_process(process) if doc is None else doc
    nodes, edges = [], []
    for child in process:
        if not child.tag.startswith(f"{{{BPMN}}}") or _local(child) in IGNORED or child.find(DECISION) is not None:
            continue  # another namespace, no behaviour, or a decision gateway our export added
        saved = _extension(child, "definition", errors)
        if _local(child) == "sequenceFlow":
            edges.append(_generic_edge(child, defaults, lines, errors) if saved is None else saved)
        else:
            node = _generic_node(child, errors) if saved is None else saved
            nodes.append(_with_position(node, shapes.get(child.get("id")), generic=saved is None))
    if len(errors.errors) > before:
        return None
    return {k: v for k, v in doc.items() if k not in ("nodes", "edges")} | {"nodes": nodes, "edges": edges}


def _parse(xml: str | bytes, errors: ErrorCollector) -> ET.Element | None:
    # A character is at least one byte: a long text is refused without encoding it.
    too_large = len(xml) > MAX_BPMN_BYTES or (isinstance(xml, str) and len(xml.encode("utf-8", "surrogatepass")) > MAX_BPMN_BYTES)
    if too_large:
        errors.add("/bpmn", "too_large", f"the BPMN file is larger than {MAX_BPMN_BYTES} bytes")
        return None
    # Entities can only be declared in a DOCTYPE, which is refused before any is read; expat never
    # fetches external resources.
    parser = ET.XMLParser(target=_RefuseDoctype())  # noqa: S314 (the DOCTYPE refusal is the defusing)
    try:
        parser.feed(xml)
        root = parser.close()
    except _Doctype:
        errors.add("/bpmn", "doctype", "the file has a <!DOCTYPE> declaration: BPMN needs none, and it is refused for safety")
        return None
    except (ET.ParseError, UnicodeError) as exc:
        errors.add("/bpmn", "xml", f"the file is not well-formed XML: {exc}")
        return None
    if root.tag != f"{{{BPMN}}}definitions":
        errors.add("/bpmn", "not_bpmn", "the file is not BPMN 2.0: its root is not bpmn:definitions")
        return None
    return root


def _pick_process(root: ET.Element, errors: ErrorCollector) -> ET.Element | None:
    processes = root.findall("bpmn:process", NAMESPACES)
    executable = [p for p in processes if p.get("isExecutable") == "true"]
    if not processes:
        errors.add("/bpmn", "no_process", "the file has no bpmn:process")
        return None
    return (executable or processes)[0]


def _extension(element: ET.Element, name: str, errors: ErrorCollector) -> dict[str, Any] | None:
    found = element.find(f"bpmn:extensionElements/tangram:{name}", NAMESPACES)
    if found is None:
        return None
    try:
        value = json.loads(found.text or "")
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        errors.add(_path(element), "extension", f"the tangram:{name} of '{element.get('id')}' is not a JSON object")
        return {}
    return value


def _generic_process(process: ET.Element) -> dict[str, Any]:
    key = re.sub(r"[^a-z0-9_]", "_", (process.get("id") or "process").lower())[:63]
    doc: dict[str, Any] = {"key": key if key[:1].isalpha() else f"p_{key}"[:63]}
    return doc | _labelled(process)


def _labelled(element: ET.Element) -> dict[str, Any]:
    doc = {}
    if element.get("name"):
        doc["label"] = element.get("name")
    documentation = element.find("bpmn:documentation", NAMESPACES)
    if documentation is not None and documentation.text:
        doc["description"] = documentation.text
    return doc


def _generic_node(element: ET.Element, errors: ErrorCollector) -> dict[str, Any]:
    """The supported subset without Tangram's extension: what BPMN cannot say (who approves, which
    actions run) is reported, to be filled in the editor."""
    local, element_id = _local(element), element.get("id") or ""
    definitions = [_local(d) for d in element if _local(d).endswith("EventDefinition")]
    doc: dict[str, Any] = {"id": element_id}
    if local == "startEvent" and not definitions:
        doc["type"] = "start"
    elif local == "endEvent" and definitions in ([], ["terminateEventDefinition"]):
        doc |= {"type": "end", "outcome": "rejected"} if definitions else {"type": "end"}
    elif local in GATEWAY_TYPES:
        doc["type"] = GATEWAY_TYPES[local]
    elif local == "userTask":
        doc["type"] = "approval"
        errors.add(
            _path(element), "assignees_missing", f"userTask '{element_id}' becomes an approval: BPMN does not say who approves"
        )
    elif local == "serviceTask":
        doc["type"] = "service"
        errors.add(_path(element), "actions_missing", f"serviceTask '{element_id}' has no Tangram actions to run")
    elif local == "intermediateCatchEvent" and definitions == ["timerEventDefinition"]:
        doc |= {"type": "timer", "duration": _duration(element, errors)}
    else:
        kind = f"{local} with {', '.join(definitions)}" if definitions else local
        errors.add(_path(element), "unsupported", f"{kind} '{element_id}' is not supported by Tangram processes")
    return doc | _labelled(element)


def _duration(element: ET.Element, errors: ErrorCollector) -> dict[str, Any] | None:
    found = element.find("bpmn:timerEventDefinition/bpmn:timeDuration", NAMESPACES)
    match = ISO_DURATION.match((found.text or "").strip()) if found is not None else None
    if match is None:
        errors.add(_path(element), "timer_unsupported", f"timer '{element.get('id')}' needs a duration such as PT24H, P3D or P1M")
        return None
    amount, unit = (match[1], match[2]) if match[1] else (match[3], "T" + match[4])
    return {"amount": int(amount), "unit": ISO_UNITS[unit]}


def _generic_edge(
    element: ET.Element, defaults: set[str | None], lines: dict[str | None, list[ET.Element]], errors: ErrorCollector
) -> dict[str, Any]:
    doc: dict[str, Any] = {"from": element.get("sourceRef"), "to": element.get("targetRef")}
    if element.get("id"):
        doc["id"] = element.get("id")
    if element.get("name"):
        doc["label"] = element.get("name")
    expression = element.find("bpmn:conditionExpression", NAMESPACES)
    if expression is not None and (expression.text or "").strip():
        doc["condition"] = _condition(element, expression.text or "", errors)
    if element.get("id") in defaults:
        doc["default"] = True
    points = [{"x": _number(p.get("x")), "y": _number(p.get("y"))} for p in lines.get(element.get("id"), [])]
    if 2 <= len(points) <= 50:
        doc["points"] = points
    return doc


def _condition(element: ET.Element, text: str, errors: ErrorCollector) -> Any:
    try:
        condition = json.loads(text)
    except (ValueError, RecursionError):
        condition = None
    if not isinstance(condition, dict):
        errors.add(
            _path(element),
            "condition_unsupported",
            f"the condition of '{element.get('id')}' is not a Tangram condition (JSON): {text.strip()[:80]}",
        )
    return condition


def _with_position(node: dict[str, Any], bounds: ET.Element | None, *, generic: bool) -> dict[str, Any]:
    """Nodes take their place from the diagram, so shapes moved in another tool move them; an exported
    node that had no position (laid out automatically) stays without one."""
    if bounds is None or not (generic or "position" in node):
        return node
    position = {"x": _number(bounds.get("x")), "y": _number(bounds.get("y"))}
    return node if node.get("position") == position else node | {"position": position}


def _number(text: str | None) -> float | int:
    try:
        value = float(text or 0)
    except ValueError:
        return 0
    if not math.isfinite(value):
        return 0
    return int(value) if value.is_integer() else value


def _local(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _path(element: ET.Element) -> str:
    return pointer("bpmn", element.get("id") or _local(element))
