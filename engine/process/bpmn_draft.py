"""BPMN draft import (translate-bpmn): a file drawn in another tool (Camunda 7 Modeler, Camunda 8 /
Zeebe, bpmn.io) becomes a Tangram process definition AS COMPLETE AS POSSIBLE plus a list of issues,
each on its node or edge, instead of being refused whole as `import-bpmn` does. Nothing is stored:
the builder opens the draft in the designer, settles the issues and saves.

What is carried over: start/end events, user tasks (approvals; their Camunda `assignee` /
`candidateGroups` / `candidateUsers`, Zeebe `assignmentDefinition`, or BPMN `potentialOwner` become
a role, a team, users or the submitter where one matches), exclusive/parallel/inclusive gateways,
timer catch events with a duration, sequence flows with their diagram waypoints, names and simple
JUEL/FEEL conditions (engine.process.bpmn_conditions). What is not becomes an issue: approvers to
choose, a condition to rewrite, and any other element replaced by a placeholder task (a service task
with no action) so the graph stays connected. A Tangram export is read exactly, as import-bpmn does.
The resulting draft is then checked by the same validator as a save (compile.check_process), whose
remaining problems are listed as issues too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.auth.tables import roles, teams, users
from engine.core.errors import ErrorCollector
from engine.process import bpmn
from engine.process.bpmn_conditions import Untranslatable, translate
from engine.process.compile import check_process
from engine.process.definition import NODE_ID

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
NS = bpmn.NAMESPACES | {"camunda": CAMUNDA, "zeebe": ZEEBE}
PLACEHOLDER = "service"  # an unsupported element's stand-in: a task box that does nothing yet
TASKS = frozenset({"task", "serviceTask", "scriptTask", "sendTask", "businessRuleTask", "receiveTask", "manualTask"})
SUBMITTER_WORDS = frozenset({"initiator", "starter", "submitter", "applicant"})
GROUP_OR_USER = re.compile(r"^\s*(group|user)\s*\(\s*['\"]?([^'\")]*)['\"]?\s*\)\s*$")


@dataclass
class Draft:
    doc: dict[str, Any]
    issues: list[dict[str, Any]] = field(default_factory=list)
    node_paths: dict[str, int] = field(default_factory=dict)  # node id -> index in doc["nodes"]

    def issue(self, path: str, code: str, message: str, *, node: str | None = None, edge: str | None = None) -> None:
        self.issues.append({"node": node, "edge": edge, "path": path, "code": code, "message": message})


@dataclass
class Directory:
    """Roles, teams and users an assignment may name, matched by key or by label in either language."""

    roles: dict[str, str]  # lower-cased key or label -> role key
    teams: dict[str, str]
    emails: set[str]

    @classmethod
    async def load(cls, conn: AsyncConnection) -> Directory:
        role_rows = (await conn.execute(select(roles.c.key, roles.c.definition))).all()
        team_rows = (await conn.execute(select(teams.c.key, teams.c.label))).all()
        emails = {r[0] for r in (await conn.execute(select(users.c.email).where(users.c.active.is_(True))))}
        return cls(
            _names((r.key, (r.definition or {}).get("label")) for r in role_rows),
            _names((r.key, r.label) for r in team_rows),
            emails,
        )


def _names(rows: Any) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, label in rows:
        labels = label.values() if isinstance(label, dict) else [label]
        for name in [key, *labels]:
            if isinstance(name, str) and name.strip():
                found.setdefault(name.strip().lower(), key)
    return found


async def translate_bpmn(
    conn: AsyncConnection, xml: bytes, entity: str | None, entity_for: Callable[[str], Any], errors: ErrorCollector
) -> Draft | None:
    """The draft and its issues, or None with errors at /bpmn when the file is not BPMN at all
    (not XML, a DOCTYPE, too large, no process)."""
    root = bpmn._parse(xml, errors)
    process = bpmn._pick_process(root, errors) if root is not None else None
    if root is None or process is None:
        return None
    if process.find("bpmn:extensionElements/tangram:definition", NS) is not None:
        exact = bpmn.from_bpmn(xml, errors)  # a Tangram export: exact, as import-bpmn reads it
        if exact is None:
            return None
        draft = Draft(exact if exact.get("entity") or entity is None else exact | {"entity": entity})
    else:
        draft = _generic(root, process, entity, await Directory.load(conn))
        found = await entity_for(entity) if entity else None
        _fold_decisions(draft, set(found[0].fields) if found else set())
    if not draft.doc.get("entity"):
        draft.issue("/entity", "entity_missing", "the file does not say which form (entity) the process runs on: choose it")
    await _validate(conn, draft, entity_for)
    return draft


def _generic(root: ET.Element, process: ET.Element, entity: str | None, directory: Directory) -> Draft:
    shapes = {s.get("bpmnElement"): s.find("dc:Bounds", NS) for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    lines = {e.get("bpmnElement"): e.findall("di:waypoint", NS) for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    defaults = {child.get("default") for child in process if child.get("default")}
    doc = bpmn._generic_process(process)
    if entity:
        doc["entity"] = entity
    draft = Draft(doc | {"nodes": [], "edges": []})
    kept: set[str] = set()
    boundaries: list[ET.Element] = []
    for child in process:
        local = bpmn._local(child)
        if not child.tag.startswith(f"{{{bpmn.BPMN}}}") or local in bpmn.IGNORED or local == "sequenceFlow":
            continue
        if local == "boundaryEvent":
            boundaries.append(child)
            continue
        node = _node(draft, child, len(draft.doc["nodes"]), directory)
        draft.node_paths[node["id"]] = len(draft.doc["nodes"])
        draft.doc["nodes"].append(bpmn._with_position(node, shapes.get(child.get("id")), generic=True))
        kept.add(node["id"])
    attached = {b.get("id"): b.get("attachedToRef") for b in boundaries}
    for b in boundaries:
        host, name = b.get("attachedToRef") or "", b.get("name") or b.get("id")
        where = f"/nodes/{draft.node_paths[host]}/deadline" if host in draft.node_paths else "/nodes"
        message = f"boundary event {name!r} on {host!r} is not carried over (its path is left out): "
        draft.issue(where, "boundary_event", message + "use the node's deadline (remind, escalate, auto) instead", node=host)
    for child in process.iterfind("bpmn:sequenceFlow", NS):
        _edge(draft, child, defaults, lines, kept, attached)
    return draft


def _node(draft: Draft, element: ET.Element, index: int, directory: Directory) -> dict[str, Any]:
    local, element_id = bpmn._local(element), element.get("id") or f"node_{index}"
    if not re.match(NODE_ID, element_id):
        element_id = re.sub(r"[^A-Za-z0-9_\-]", "_", element_id)[:62]
        element_id = element_id if re.match(NODE_ID, element_id) else f"n_{element_id}"[:63]
    path = f"/nodes/{index}"
    definitions = [bpmn._local(d) for d in element if bpmn._local(d).endswith("EventDefinition")]
    doc: dict[str, Any] = {"id": element_id} | bpmn._labelled(element)
    name = element.get("name") or element_id

    def placeholder(what: str) -> dict[str, Any]:
        message = f"{what} {name!r} is not supported by Tangram processes: a placeholder task stands in its place; "
        message += "rebuild it (a service task's actions, a timer...) or remove it"
        draft.issue(path, "placeholder", message, node=element_id)
        return doc | {"type": PLACEHOLDER, "actions": []}

    if local == "startEvent":
        if definitions:
            draft.issue(path, "start_trigger", f"start event {name!r} is triggered by {', '.join(definitions)}: "
                        "a Tangram process starts when a record is submitted (or by a rule)", node=element_id)  # fmt: skip
        return doc | {"type": "start"}
    if local == "endEvent":
        if "terminateEventDefinition" in definitions or "errorEventDefinition" in definitions:
            return doc | {"type": "end", "outcome": "rejected"}
        return doc | {"type": "end", "outcome": "approved"} if definitions == [] and _approving(name) else doc | {"type": "end"}
    if local in bpmn.GATEWAY_TYPES:
        return doc | {"type": bpmn.GATEWAY_TYPES[local]}
    if local == "userTask":
        assignees = _assignees(draft, element, element_id, path, directory)
        return doc | {"type": "approval", "assignees": assignees}
    if local == "intermediateCatchEvent" and definitions == ["timerEventDefinition"]:
        duration = _duration(element)
        if duration is None:
            draft.issue(f"{path}/duration", "timer_unsupported", f"timer {name!r} is not a fixed duration such as PT24H, "
                        "P3D or P1M: set how long it waits", node=element_id)  # fmt: skip
            return doc | {"type": "timer", "duration": {"amount": 1, "unit": "days"}}
        return doc | {"type": "timer", "duration": duration}
    if local in TASKS:
        kind = {"task": "task", "manualTask": "manual task"}.get(local, local)
        draft.issue(f"{path}/actions", "actions_missing", f"{kind} {name!r} becomes a service task: choose what it does "
                    "(set fields, create a record, notify, e-mail, webhook)", node=element_id)  # fmt: skip
        return doc | {"type": "service", "actions": []}
    kind = f"{local} with {', '.join(definitions)}" if definitions else local
    return placeholder(kind)


def _approving(name: str) -> bool:
    return bool(re.search(r"approv|accept|通过|批准|同意", name, re.IGNORECASE))


def _duration(element: ET.Element) -> dict[str, Any] | None:
    found = element.find("bpmn:timerEventDefinition/bpmn:timeDuration", NS)
    text = (found.text or "").strip().lstrip("=").strip().strip('"') if found is not None else ""
    match = bpmn.ISO_DURATION.match(text)
    if match is None:
        return None
    amount, unit = (match[1], match[2]) if match[1] else (match[3], "T" + match[4])
    return {"amount": int(amount), "unit": bpmn.ISO_UNITS[unit]}


# -- who approves ----------------------------------------------------------------------------------
def _assignment(element: ET.Element) -> tuple[list[str], list[str]]:
    """(group names, user names) the element's assignment mentions, in any of the dialects."""
    groups: list[str] = []
    people: list[str] = []
    get = element.get
    people += _split(get(f"{{{CAMUNDA}}}assignee")) + _split(get(f"{{{CAMUNDA}}}candidateUsers"))
    groups += _split(get(f"{{{CAMUNDA}}}candidateGroups"))
    for zeebe in element.iterfind("bpmn:extensionElements/zeebe:assignmentDefinition", NS):
        people += _split(zeebe.get("assignee")) + _split(zeebe.get("candidateUsers"))
        groups += _split(zeebe.get("candidateGroups"))
    for owner in [*element.iterfind("bpmn:potentialOwner", NS), *element.iterfind("bpmn:humanPerformer", NS)]:
        for expr in owner.iterfind(".//bpmn:formalExpression", NS):
            for part in _split(expr.text):
                m = GROUP_OR_USER.match(part)
                (groups if m and m[1] == "group" else people).append(m[2] if m else part)
    return groups, people


def _split(text: str | None) -> list[str]:
    """A comma-separated list, FEEL lists (=["a","b"]) and `${...}` wrappers unwrapped."""
    if not text:
        return []
    text = text.strip()
    if text.startswith("="):
        text = text[1:].strip().strip("[]")
    return [p.strip().strip("'\"") for p in text.split(",") if p.strip().strip("'\"")]


def _assignees(draft: Draft, element: ET.Element, node_id: str, path: str, directory: Directory) -> list[dict[str, Any]]:
    groups, people = _assignment(element)
    found: list[dict[str, Any]] = []
    unmatched: list[str] = []
    emails: list[str] = []
    for group in groups:
        key = group.lower()
        if key in directory.roles:
            found.append({"type": "role", "role": directory.roles[key]})
        elif key in directory.teams:
            found.append({"type": "team", "team": directory.teams[key]})
        else:
            unmatched.append(group)
    for person in people:
        bare = person.removeprefix("${").removeprefix("#{").removesuffix("}").strip().lower()
        if bare in SUBMITTER_WORDS:
            found.append({"type": "submitter"})
        elif bare in directory.emails:
            emails.append(bare)
        else:
            unmatched.append(person)
    if emails:
        found.append({"type": "users", "users": emails})
    name = element.get("name") or node_id
    if unmatched or not found:
        said = f" ({', '.join(repr(u) for u in unmatched)} match no role, team or user here)" if unmatched else ""
        draft.issue(f"{path}/assignees", "choose_approvers", f"choose the approvers of {name!r}{said}", node=node_id)
    return found


# -- sequence flows --------------------------------------------------------------------------------
def _edge(
    draft: Draft, element: ET.Element, defaults: set[str | None], lines: dict[Any, list[ET.Element]], kept: set[str],
    attached: dict[str | None, str | None],
) -> None:  # fmt: skip
    edge_id = element.get("id")
    source, target = element.get("sourceRef"), element.get("targetRef")
    if source not in kept or target not in kept:
        host = attached.get(source) or (source if source in kept else None)
        draft.issue("/edges", "edge_dropped", f"sequence flow {edge_id!r} from {source!r} to {target!r} is left out: "
                    "one of its ends was not carried over", edge=edge_id, node=host)  # fmt: skip
        return
    index = len(draft.doc["edges"])
    doc: dict[str, Any] = {"from": source, "to": target}
    if edge_id and re.match(NODE_ID, edge_id):
        doc["id"] = edge_id
    if element.get("name"):
        doc["label"] = element.get("name")
    if edge_id in defaults:
        doc["default"] = True
    expression = element.find("bpmn:conditionExpression", NS)
    text = (expression.text or "").strip() if expression is not None else ""
    if text:
        try:
            doc["condition"] = translate(text)
        except Untranslatable as exc:
            draft.issue(f"/edges/{index}/condition", "condition_rewrite", f"rewrite the condition {text[:120]!r}: {exc}",
                        edge=doc.get("id"), node=source)  # fmt: skip
    points = [{"x": bpmn._number(p.get("x")), "y": bpmn._number(p.get("y"))} for p in lines.get(edge_id, [])]
    if 2 <= len(points) <= 50:
        doc["points"] = points
    draft.doc["edges"].append(doc)


# -- an approval's decision gateway -----------------------------------------------------------------
DECISION_WORDS = re.compile(r"^(is_?)?(approved?|approval|accepted?|decision|ok|agreed?|passed?)$", re.IGNORECASE)
YES_NAMES = re.compile(r"^\s*(yes|y|ok|approved?|accepted?|agreed?|pass(ed)?|同意|通过|批准|是)\s*$", re.IGNORECASE)
NO_NAMES = re.compile(r"^\s*(no|n|rejected?|declined?|denied|refused?|不同意|驳回|拒绝|否)\s*$", re.IGNORECASE)


def _fold_decisions(draft: Draft, fields: set[str]) -> None:
    """Other tools model "approved or not" as a variable the task sets and an exclusive gateway after it
    (`${approved}` / `${!approved}`, flows named yes / no). In Tangram the approval itself decides: such a
    gateway is removed and its two flows leave the approval as its approved and rejected edges. A gateway
    whose variable is a field of the entity is a real condition and stays."""
    nodes, edges = draft.doc["nodes"], draft.doc["edges"]
    by_id = {n["id"]: n for n in nodes}
    for gateway in [n for n in nodes if n.get("type") == "exclusive"]:
        into = [e for e in edges if e["to"] == gateway["id"]]
        out = [e for e in edges if e["from"] == gateway["id"]]
        source = by_id.get(into[0]["from"]) if len(into) == 1 else None
        if source is None or source.get("type") != "approval" or len(out) != 2:
            continue
        if sum(e["from"] == source["id"] for e in edges) != 1:
            continue
        sides = [_side(e, fields) for e in out]
        if sorted(s or "" for s in sides) not in (["no", "yes"], ["", "yes"], ["", "no"]):
            continue
        yes = out[sides.index("yes")] if "yes" in sides else out[1 - sides.index("no")]
        no = out[1 - out.index(yes)]
        _replace_gateway(draft, gateway, into[0], source, yes, no)


def _side(edge: dict[str, Any], fields: set[str]) -> str | None:
    """ "yes" / "no" when the flow reads as an approval decision: a yes/no variable that is no field of the
    entity (`${approved}`, `= not(approved)`), or, without a usable condition, its name (yes, 通过, no, 驳回).
    "" for a default flow that does not say: it is the other side. None: not a decision."""
    name = str(edge.get("label") or "")
    by_name = "yes" if YES_NAMES.match(name) else "no" if NO_NAMES.match(name) else None
    condition = edge.get("condition")
    if condition is None:  # the default flow, or a condition that could not be translated
        return by_name or ("" if edge.get("default") else None)
    negated = set(condition) == {"not"}
    inner = condition["not"] if negated else condition
    if not (isinstance(inner, dict) and set(inner) == {"field", "op", "value"} and isinstance(inner["value"], bool)):
        return None
    if inner["field"] in fields or not DECISION_WORDS.match(inner["field"]) or inner["op"] not in ("eq", "ne"):
        return None
    truth = (inner["op"] == "eq") == inner["value"]
    return "yes" if truth != negated else "no"


def _replace_gateway(
    draft: Draft, gateway: dict[str, Any], into: dict[str, Any], source: dict[str, Any],
    yes: dict[str, Any], no: dict[str, Any],
) -> None:  # fmt: skip
    """Remove the gateway and the flow into it; its flows leave the approval. Issue paths follow the
    documents that moved (they are by index); issues on the removed gateway's flows are settled."""
    nodes, edges = draft.doc["nodes"], draft.doc["edges"]
    old_nodes, old_edges = list(nodes), list(edges)
    for flow, outcome in ((yes, None), (no, "rejected")):
        for k in ("condition", "default"):
            flow.pop(k, None)
        flow["from"] = source["id"]
        if outcome:
            flow["outcome"] = outcome
    nodes.remove(gateway)
    edges.remove(into)
    settled = {id(yes), id(no)}
    kept = []
    for issue in draft.issues:
        parts = issue["path"].split("/")
        if len(parts) > 2 and parts[2].isdigit():
            old = (old_nodes if parts[1] == "nodes" else old_edges)[int(parts[2])]
            if old is gateway or old is into or (id(old) in settled and issue["code"] == "condition_rewrite"):
                continue
            index = (nodes if parts[1] == "nodes" else edges).index(old)
            issue["path"] = "/".join([*parts[:2], str(index), *parts[3:]])
        kept.append(issue)
    draft.issues[:] = kept
    draft.node_paths = {n["id"]: i for i, n in enumerate(nodes)}


# -- the same check as a save ----------------------------------------------------------------------
async def _validate(conn: AsyncConnection, draft: Draft, entity_for: Callable[[str], Any]) -> None:
    """Every problem the validator finds that no issue already covers becomes an issue too, on its node
    or edge, so the designer shows all that stands between the draft and a save."""
    errors = ErrorCollector()
    await check_process(conn, draft.doc, entity_for, errors)
    covered = [i["path"] for i in draft.issues if i["path"].count("/") >= 2 or i["path"] == "/entity"]
    nodes, edges = draft.doc.get("nodes") or [], draft.doc.get("edges") or []
    for e in errors.errors:
        if any(e.path == c or e.path.startswith(c + "/") or c.startswith(e.path + "/") for c in covered):
            continue
        parts = e.path.split("/")
        node = edge = None
        if len(parts) > 2 and parts[2].isdigit():
            i = int(parts[2])
            if parts[1] == "nodes" and i < len(nodes) and isinstance(nodes[i], dict):
                node = nodes[i].get("id")
            elif parts[1] == "edges" and i < len(edges):
                edge, node = edges[i].get("id"), edges[i].get("from")
        draft.issue(e.path, e.code, e.message, node=node, edge=edge)
