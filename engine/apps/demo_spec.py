"""A package's demo.json, checked whole against the app's entities before anything is written (every
error with its JSON path) and compiled into blocks of generators the demo generator runs in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.apps.demo_names import NAME_KINDS, NAME_OPTIONS
from engine.apps.demo_values import VALUE_KINDS, VALUE_OPTIONS, Frame, Gen, Path, Row, World, _none, _walker
from engine.core.errors import ErrorCollector, pydantic_errors
from engine.schema.model import CompiledEntity

KINDS = VALUE_KINDS | NAME_KINDS
OPTIONS = VALUE_OPTIONS | NAME_OPTIONS
KeyText = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class TeamSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: KeyText
    label: dict[str, str] | str
    parent: KeyText | None = None


class UserSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, Field(min_length=3, max_length=320)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    locale: str = "zh-CN"
    roles: list[KeyText] = []
    team: KeyText | None = None  # the primary team
    also: list[KeyText] = []  # further teams (a rep who also serves the key-account team)
    manages: KeyText | None = None  # the team this user manages


class Organisation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, Field(min_length=10, max_length=200)]
    teams: list[TeamSpec] = []
    users: list[UserSpec] = []
    # Rules the package ships disabled because they hand work to teams an empty instance lacks: once the
    # demo organisation has made those teams, they are switched on.
    enable_rules: list[KeyText] = []


class Source(BaseModel):
    """The records an in-flight item starts from: live `entity` records matching `where`."""

    model_config = ConfigDict(extra="forbid")
    entity: KeyText
    where: dict[str, Any] | None = None


class InFlight(BaseModel):
    """Work left waiting when the demo is loaded, so inboxes are not empty on the first visit: on
    `count` records, one per owner, `set` is written and `process` started as the record's owner.
    With `from`, each record is first created from a record of another entity: `values` strings
    "{field}" take that record's field ("{id}" its id)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    process: KeyText
    entity: KeyText
    count: Annotated[int, Field(ge=1, le=50)]
    where: dict[str, Any] | None = None
    source: Source | None = Field(default=None, alias="from")
    values: dict[str, Any] = {}
    set: dict[str, Any] = {}


class ScaleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: KeyText = "accounts"
    default: Annotated[int, Field(ge=1)] = 200
    max: Annotated[int, Field(ge=1)] = 100_000


@dataclass
class Block:
    """Records of one entity: a number per scale unit, or a number per row of an earlier block."""

    entity: CompiledEntity
    per: int | None  # index of the parent block
    scale: tuple[float, int] | None  # (records per scale unit, at least)
    count: Gen
    fields: list[tuple[str, Gen, bool]]  # (field, generator, unique)


@dataclass
class Spec:
    scale: ScaleSpec
    organisation: Organisation
    words: dict[str, list[str]]
    blocks: list[Block]
    kept: set[str]  # entities whose rows stay in memory
    picked: set[tuple[str, str | None]]
    in_flight: list[InFlight] = field(default_factory=list)


@dataclass
class Compiler:
    entities: dict[str, CompiledEntity]
    errors: ErrorCollector
    words: dict[str, list[str]]
    kept: set[str] = field(default_factory=set)  # entities whose rows must stay in memory (paths go through them)
    picked: set[tuple[str, str | None]] = field(default_factory=set)  # (entity, field) indexes picks need

    def gen(self, spec: Any, where: str, frame: Frame) -> Gen:
        if not isinstance(spec, dict):
            return lambda row, world, group: spec
        kinds = [k for k in spec if k in KINDS]
        if len(kinds) != 1:
            self.errors.add(where, "generator", f"a generator names exactly one kind of {', '.join(sorted(KINDS))}")
            return _none
        kind = kinds[0]
        extra = sorted(set(spec) - {kind, "empty"} - OPTIONS.get(kind, set()))
        if extra:
            self.errors.add(f"{where}/{extra[0]}", "unknown_option", f"{kind!r} takes no option {extra[0]!r}")
        made = KINDS[kind](self, spec, where, frame)
        empty = spec.get("empty")
        if empty is None:
            return made
        if not (isinstance(empty, int | float) and not isinstance(empty, bool) and 0 <= empty <= 1):
            self.errors.add(f"{where}/empty", "range", "empty is a probability between 0 and 1")
            return made
        return lambda row, world, group: None if world.rng.random() < empty else made(row, world, group)

    def path(self, text: Any, where: str, frame: Frame) -> Path:
        """A dotted path: own field, `parent.` steps, or relation fields of rows kept in memory."""
        if not isinstance(text, str) or not text:
            self.errors.add(where, "path", "expected a path such as 'amount', 'parent.region' or 'account.owner'")
            return lambda row, world: (None, "id")
        *steps, last = text.split(".")
        hops: list[str | None] = []
        here: Frame | None = frame
        for step in steps:
            here = self._hop(step, here, hops, where)
        if here is not None and last not in ("id", "owner") and last not in here.entity.fields:
            self.errors.add(where, "unknown_field", f"{here.entity.key!r} has no field {last!r}")
        return _walker(tuple(hops), tuple(steps), last)

    def _hop(self, step: str, here: Frame | None, hops: list[str | None], where: str) -> Frame | None:
        if here is None:
            return None
        if step == "parent":
            if here.parent is None:
                self.errors.add(where, "no_parent", f"{here.entity.key!r} rows have no parent here")
            hops.append(None)
            return here.parent
        f = here.entity.fields.get(step)
        if f is None or f.cfg.type != "relation" or here.entity.relation_target(f)[1] not in self.entities:
            self.errors.add(where, "path", f"{step!r} is not a relation of {here.entity.key!r} to an entity of the app")
            return None
        target = here.entity.relation_target(f)[1]
        self.kept.add(target)
        hops.append(target)
        return Frame(self.entities[target], None)


def compile_spec(doc: Any, entities: dict[str, CompiledEntity]) -> Spec:
    """The checked, compiled spec; raises ValidationFailed listing every problem with its JSON path."""
    errors = ErrorCollector()
    if not isinstance(doc, dict):
        errors.add("", "type", "a demo spec is a JSON object")
        errors.raise_if_any("Invalid demo spec")
    for key in sorted(set(doc) - {"format", "scale", "organisation", "words", "entities", "in_flight"}):
        errors.add(f"/{key}", "unknown_key", f"a demo spec has no key {key!r}")
    if doc.get("format") != 1:
        errors.add("/format", "format", "this engine reads demo spec format 1")
    scale = _model(ScaleSpec, doc.get("scale", {}), "/scale", errors) or ScaleSpec()
    org = _model(Organisation, doc.get("organisation"), "/organisation", errors) or Organisation(password="-" * 10)
    words = _words(doc.get("words", {}), errors)
    c = Compiler(entities, errors, words)
    blocks: list[Block] = []
    frames: list[Frame] = []
    items = doc.get("entities")
    if not isinstance(items, list) or not items:
        errors.add("/entities", "type", "expected a non-empty list of entity blocks")
        items = []
    for i, item in enumerate(items):
        block = _block(c, item, f"/entities/{i}", blocks, frames)
        if block is not None:
            blocks.append(block)
            frames.append(Frame(block.entity, frames[block.per] if block.per is not None else None))
    c.kept.update(b.entity.key for b in blocks if any(other.per == blocks.index(b) for other in blocks))
    in_flight = _in_flight(doc.get("in_flight", []), entities, errors)
    errors.raise_if_any("Invalid demo spec")
    return Spec(scale, org, words, blocks, c.kept, c.picked, in_flight)


def _in_flight(doc: Any, entities: dict[str, CompiledEntity], errors: ErrorCollector) -> list[InFlight]:
    if not isinstance(doc, list):
        errors.add("/in_flight", "type", "expected a list of in-flight items")
        return []
    out = []
    for i, item in enumerate(doc):
        where = f"/in_flight/{i}"
        parsed = _model(InFlight, item, where, errors)
        if parsed is None:
            continue
        for path, key in ((f"{where}/entity", parsed.entity), (f"{where}/from/entity", parsed.source and parsed.source.entity)):
            if key is not None and key not in entities:
                errors.add(path, "unknown_entity", f"{key!r} is not an entity of the app")
        out.append(parsed)
    return out


def _model(model: type[BaseModel], doc: Any, where: str, errors: ErrorCollector) -> Any:
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        errors.extend(pydantic_errors(exc, where))
        return None


def _words(doc: Any, errors: ErrorCollector) -> dict[str, list[str]]:
    if isinstance(doc, dict) and all(isinstance(v, list) and v and all(isinstance(s, str) for s in v) for v in doc.values()):
        return doc
    errors.add("/words", "type", "expected an object of non-empty lists of texts")
    return {}


def _block(c: Compiler, item: Any, where: str, blocks: list[Block], frames: list[Frame]) -> Block | None:
    if not isinstance(item, dict):
        c.errors.add(where, "type", "an entity block is an object")
        return None
    for key in sorted(set(item) - {"entity", "count", "per", "fields"}):
        c.errors.add(f"{where}/{key}", "unknown_key", f"an entity block has no key {key!r}")
    entity = c.entities.get(item.get("entity"))  # type: ignore[arg-type]
    if entity is None:
        c.errors.add(f"{where}/entity", "unknown_entity", f"the app has no entity {item.get('entity')!r}")
        return None
    per = _parent(c, item.get("per"), f"{where}/per", blocks)
    parent = frames[per] if per is not None else None
    scale, count = _count(c, item.get("count"), f"{where}/count", parent)
    frame = Frame(entity, parent)
    return Block(entity, per, scale, count, _fields(c, item.get("fields"), f"{where}/fields", frame))


def _parent(c: Compiler, key: Any, where: str, blocks: list[Block]) -> int | None:
    if key is None:
        return None
    found = [i for i, b in enumerate(blocks) if b.entity.key == key]
    if not found:
        c.errors.add(where, "unknown_parent", f"no earlier block makes {key!r} records")
        return None
    return found[-1]


def _count(c: Compiler, spec: Any, where: str, parent: Frame | None) -> tuple[tuple[float, int] | None, Gen]:
    """Top level: {"scale": records per unit, "min": at least}; per parent row: any generator of an integer."""
    if parent is not None:
        return None, c.gen(spec, where, parent)
    ok = isinstance(spec, dict) and set(spec) <= {"scale", "min"} and isinstance(spec.get("scale"), int | float)
    if not ok or spec["scale"] < 0 or not isinstance(spec.get("min", 0), int) or spec.get("min", 0) < 0:
        c.errors.add(where, "count", 'a top-level block counts {"scale": records per unit (>= 0), "min": at least}')
        return (0.0, 0), _none
    return (float(spec["scale"]), int(spec.get("min", 0))), _none


# System columns a history load may set besides the entity's fields: who owns a record, and when it was
# created (a customer won two years ago was not created today; "new accounts this year" must say so).
HISTORY_KEYS = frozenset({"owner", "created_at"})


def _fields(c: Compiler, spec: Any, where: str, frame: Frame) -> list[tuple[str, Gen, bool]]:
    if not isinstance(spec, dict):
        c.errors.add(where, "type", "expected an object: field key -> generator")
        return []
    out = []
    for key, gen in spec.items():
        f = frame.entity.fields.get(key)
        if key not in HISTORY_KEYS and (f is None or f.type.generated or f.type.computed):
            what = "has no field" if f is None else "computes its field"
            c.errors.add(f"{where}/{key}", "unknown_field", f"{frame.entity.key!r} {what} {key!r}")
            continue
        unique = isinstance(gen, dict) and gen.get("unique") is True
        if isinstance(gen, dict):
            gen = {k: v for k, v in gen.items() if k != "unique"}
        out.append((key, c.gen(gen, f"{where}/{key}", Frame(frame.entity, frame.parent, f)), unique))
    return out


__all__ = ["Block", "Compiler", "Row", "Spec", "World", "compile_spec"]
