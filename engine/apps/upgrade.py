"""The upgrade plan: a three-way comparison of each definition as installed (baseline), as it is now
(current) and as the new package has it (new). Pure functions, no database.

- new, never installed, not here: added.
- untouched by the customer (current == baseline): replaced by the new one.
- changed by the customer: kept; a conflict when the package changed it too (listed with what differs).
- entities merge per field: new fields and new select options are added even to an entity the customer
  changed; a field both changed is a conflict (the customer's stays); a field the package no longer has
  is kept (data is never dropped) and listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HEADER = ("label", "display_field", "options")
Doc = dict[str, Any]


@dataclass
class Step:
    kind: str
    key: str
    action: str  # add | replace | merge | keep | unchanged
    file: str
    doc: Doc | None = None  # what to write, for add / replace / merge


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    conflicts: list[Doc] = field(default_factory=list)
    kept: list[Doc] = field(default_factory=list)

    def writes(self, kind: str) -> list[Step]:
        return [s for s in self.steps if s.kind == kind and s.doc is not None]

    def summary(self) -> Doc:
        return {
            "steps": [{"kind": s.kind, "key": s.key, "action": s.action, "file": s.file} for s in self.steps],
            "conflicts": self.conflicts,
            "kept": self.kept,
        }


def plan_kind(plan: Plan, kind: str, new: dict[str, tuple[str, Doc]], baseline: dict[str, Doc], current: dict[str, Doc]) -> None:
    """Add to `plan` what to do with every definition of one kind."""
    for key, (file, n) in sorted(new.items()):
        b, c = baseline.get(key), current.get(key)
        where = {"kind": kind, "key": key, "file": file}
        if c is None and b is None:
            plan.steps.append(Step(kind, key, "add", file, n))
        elif c is None:
            plan.conflicts.append(where | _reason("deleted_locally", f"{kind} {key!r} was deleted here; it is not re-created"))
        elif c == n:
            plan.steps.append(Step(kind, key, "unchanged", file))
        elif kind == "entity":
            _plan_entity(plan, where, b, c, n)
        elif c == b:
            plan.steps.append(Step(kind, key, "replace", file, n))
        elif n == b:
            plan.steps.append(Step(kind, key, "keep", file))  # the customer's change; the package has none
        else:
            reason = "changed_locally" if b is not None else "exists_locally"
            message = f"{kind} {key!r} was changed here and in the package; the local one is kept"
            plan.conflicts.append(where | _reason(reason, message) | {"differs": _differs(c, n)})
            plan.steps.append(Step(kind, key, "keep", file))
    for key in sorted(set(baseline) - set(new)):
        if key in current:
            message = f"{kind} {key!r} is no longer in the package; it is kept"
            plan.kept.append({"kind": kind, "key": key} | _reason("removed_in_package", message))


def _plan_entity(plan: Plan, where: Doc, b: Doc | None, c: Doc, n: Doc) -> None:
    conflicts: list[Doc] = []
    kept: list[Doc] = []
    merged = merge_entity(b or {}, c, n, conflicts, kept)
    plan.conflicts += [where | x for x in conflicts]
    plan.kept += [{"kind": where["kind"], "key": where["key"]} | x for x in kept]
    action = "keep" if merged == c else "replace" if c == b else "merge"
    plan.steps.append(Step("entity", where["key"], action, where["file"], None if merged == c else merged))


def merge_entity(b: Doc, c: Doc, n: Doc, conflicts: list[Doc], kept: list[Doc]) -> Doc:
    """The entity as it should be after the upgrade: the current one with the package's changes applied
    wherever the customer did not change the same thing."""
    merged = {k: v for k, v in c.items() if k != "fields"}
    for attr in HEADER:
        bv, cv, nv = b.get(attr), c.get(attr), n.get(attr)
        if cv == bv:
            merged[attr] = nv
        elif nv not in (bv, cv):
            message = f"the entity's {attr} was changed here and in the package; the local one is kept"
            conflicts.append({"attribute": attr, "current": cv, "package": nv} | _reason("changed_locally", message))
    merged["fields"] = _merge_fields(_by_key(b), _by_key(c), _by_key(n), conflicts, kept)
    return {k: merged[k] for k in ("key", "label", "display_field", "options", "fields") if merged.get(k) is not None}


def _merge_fields(bf: dict[str, Doc], cf: dict[str, Doc], nf: dict[str, Doc], conflicts: list[Doc], kept: list[Doc]) -> list[Doc]:
    fields = []
    for key, c in cf.items():
        b, n = bf.get(key), nf.get(key)
        if n is None:
            if b is not None:
                kept.append({"field": key} | _reason("removed_in_package", f"field {key!r} is no longer in the package; kept"))
            fields.append(c)
        elif c == b or (b is None and c == n):
            fields.append(n)
        else:
            fields.append(_merge_field(key, b, c, n, conflicts))
    for key, n in nf.items():
        if key not in cf and key in bf:
            conflicts.append({"field": key} | _reason("deleted_locally", f"field {key!r} was removed here; it is not re-added"))
        elif key not in cf:
            fields.append(n)
    return fields


def _merge_field(key: str, b: Doc | None, c: Doc, n: Doc, conflicts: list[Doc]) -> Doc:
    """A field the customer changed: it stays theirs, plus the options the package added."""
    known = {o.get("key") for o in (b or {}).get("options", []) + c.get("options", [])}
    added = [o for o in n.get("options", []) if o.get("key") not in known]
    merged = (c | {"options": c.get("options", []) + added}) if added else c
    only_added = b is not None and n == (b | {"options": b.get("options", []) + added} if added else b)
    if n != b and not only_added and n != merged:
        reason = "changed_locally" if b is not None else "exists_locally"
        message = f"field {key!r} was changed here and in the package; the local one is kept"
        conflicts.append({"field": key, "current": c, "package": n} | _reason(reason, message))
    return merged


def _by_key(entity: Doc) -> dict[str, Doc]:
    return {f["key"]: f for f in entity.get("fields", [])}


def _differs(c: Doc, n: Doc) -> list[str]:
    return sorted(k for k in set(c) | set(n) if c.get(k) != n.get(k))


def _reason(code: str, message: str) -> Doc:
    return {"reason": code, "message": message}
