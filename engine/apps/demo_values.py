"""The value generators of a demo spec: each JSON object `{"<kind>": ..., options}` compiles once (errors
reported with their JSON path) into a function of (row being made, world, sibling group) -> value.
A value that is not an object is a constant. See docs/user-guide/demo-data.md for every kind."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from engine.schema.model import BoundField, CompiledEntity

if TYPE_CHECKING:
    from engine.apps.demo_spec import Compiler


class Row:
    """A record being generated (or already written): its values, parent row and romanised names."""

    __slots__ = ("entity", "id", "latin", "parent", "values")

    def __init__(self, entity: str, parent: Row | None) -> None:
        self.entity, self.parent, self.id = entity, parent, None
        self.values: dict[str, Any] = {}
        self.latin: dict[str, str] = {}  # field -> ascii form of a generated name (for emails, web sites)

    def get(self, key: str) -> Any:
        return self.id if key == "id" else self.values.get(key)


@dataclass
class World:
    rng: random.Random
    today: date
    midnight: datetime  # the start of today in the business time zone
    users: dict[str, list[int]]  # role key -> demo user ids holding it
    words: dict[str, list[str]]
    known: dict[str, dict[int, Row]] = field(default_factory=dict)  # kept rows, by entity and id
    picker: Callable[[str, str | None, Any], list[int]] = lambda entity, by, value: []


Gen = Callable[[Row, World, dict[str, Any]], Any]
Path = Callable[[Row, World], tuple[Row | None, str]]
Kind = Callable[["Compiler", dict[str, Any], str, "Frame"], Gen]


@dataclass
class Frame:
    """Where a generator is compiled: the entity of the row, its parent's frame, the field it fills."""

    entity: CompiledEntity
    parent: Frame | None
    field: BoundField | None = None


def _walker(hops: tuple[str | None, ...], steps: tuple[str, ...], last: str) -> Path:
    def walk(row: Row, world: World) -> tuple[Row | None, str]:
        at: Row | None = row
        for hop, step in zip(hops, steps, strict=True):
            if at is None:
                break
            at = at.parent if hop is None else world.known.get(hop, {}).get(at.values.get(step))  # type: ignore[arg-type]
        return at, last

    return walk


def read(path: Path, row: Row, world: World) -> Any:
    at, key = path(row, world)
    return None if at is None else at.get(key)


def _none(row: Row, world: World, group: dict[str, Any]) -> Any:
    return None


def _fraction(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _range(c: Compiler, value: Any, where: str, integer: bool = False) -> tuple[float, float]:
    kinds = (int,) if integer else (int, float)
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, kinds) and not isinstance(v, bool) for v in value)):
        c.errors.add(where, "range", f"expected [low, high] ({'integers' if integer else 'numbers'})")
        return (0, 0)
    if value[0] > value[1]:
        c.errors.add(where, "range", "low is greater than high")
    return (value[0], value[1])


def _weights(c: Compiler, value: Any, where: str, frame: Frame) -> tuple[list[Any], list[float]]:
    """A weighted choice: {"a": 3, "b": 1} or a plain list (equal weights); option keys are checked."""
    if isinstance(value, list) and value:
        keys, weights = value, [1.0] * len(value)
    elif isinstance(value, dict) and value and all(isinstance(v, int | float) and v >= 0 for v in value.values()):
        keys, weights = list(value), [float(v) for v in value.values()]
    else:
        c.errors.add(where, "choice", "expected a non-empty list, or an object of non-negative weights")
        return [None], [1.0]
    if frame.field is not None and frame.field.cfg.type == "integer":
        keys = [_as_int(c, k, where) for k in keys]  # JSON object keys are texts: {"5": 40} means 5
    options = _option_keys(frame.field)
    for k in keys:
        if options is not None and k not in options:
            c.errors.add(where, "unknown_option", f"{frame.field.key!r} has no option {k!r}")  # type: ignore[union-attr]
    return keys, weights


def _as_int(c: Compiler, key: Any, where: str) -> Any:
    try:
        return int(key)
    except (TypeError, ValueError):
        c.errors.add(where, "type", f"{key!r} is not an integer")
        return None


def _option_keys(f: BoundField | None) -> set[str] | None:
    if f is None or f.cfg.type not in ("select", "multi_select"):
        return None
    return {o.key for o in f.cfg.options}


# -- the kinds ---------------------------------------------------------------------------------------
def _choice(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    keys, weights = _weights(c, spec["choice"], f"{where}/choice", frame)
    return lambda row, world, group: world.rng.choices(keys, weights)[0]


def _multi(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    keys, weights = _weights(c, spec["multi"], f"{where}/multi", frame)
    lo, hi = _range(c, spec.get("count", [0, 2]), f"{where}/count", integer=True)

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        wanted = min(world.rng.randint(int(lo), int(hi)), len(keys))
        chosen: list[Any] = []
        while len(chosen) < wanted:
            k = world.rng.choices(keys, weights)[0]
            chosen += [] if k in chosen else [k]
        return [k for k in keys if k in chosen]

    return make


def _int(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    lo, hi = _range(c, spec["int"], f"{where}/int", integer=True)
    return lambda row, world, group: world.rng.randint(int(lo), int(hi))


def _number(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    """A decimal in [low, high], rounded down to a multiple of `round`; `log` spreads it like prices do."""
    lo, hi = _range(c, spec["number"], f"{where}/number")
    unit = Decimal(str(spec.get("round", 0.01)))
    log = spec.get("log", False) is True
    if log and lo <= 0:
        c.errors.add(f"{where}/number", "range", "a log scale needs a positive low bound")
        log = False

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        x = math.exp(world.rng.uniform(math.log(lo), math.log(hi))) if log else world.rng.uniform(lo, hi)
        return max((Decimal(x) / unit).to_integral_value(ROUND_DOWN) * unit, Decimal(str(lo)))

    return make


def _bool(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    p = spec["bool"]
    if not _fraction(p):
        c.errors.add(f"{where}/bool", "range", "bool is the probability of true, between 0 and 1")
    return lambda row, world, group: world.rng.random() < p


def _day(world: World, lo: float, hi: float, recent: bool) -> int:
    """A whole day offset in [lo, hi]; `recent` makes later days likelier (density rising linearly towards
    `hi`), as in a growing business: this quarter has more closed deals than the same quarter last year."""
    if not recent:
        return world.rng.randint(int(lo), int(hi))
    return int(lo + (hi - lo) * math.sqrt(world.rng.random()))


def _date(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    lo, hi = _range(c, spec["date"], f"{where}/date", integer=True)
    recent = spec.get("recent", False) is True
    return lambda row, world, group: world.today + timedelta(days=_day(world, lo, hi, recent))


def _datetime(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    """A moment between `low` and `high` days from the start of today, in working hours when asked."""
    lo, hi = _range(c, spec["datetime"], f"{where}/datetime", integer=True)
    h0, h1 = _range(c, spec.get("daytime", [0, 24]), f"{where}/daytime")
    recent = spec.get("recent", False) is True

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        day = world.midnight + timedelta(days=_day(world, lo, hi - 1 if hi > lo else lo, recent))
        return day + timedelta(seconds=int(world.rng.uniform(h0, h1) * 3600))

    return make


def _after(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    """A date or moment `days` (or `hours`) after another value (empty when that value is); with
    `"past": true` never later than the start of today."""
    base = c.path(spec["after"], f"{where}/after", frame)
    unit = "hours" if "hours" in spec else "days"
    lo, hi = _range(c, spec.get(unit, [0, 0]), f"{where}/{unit}")
    past = spec.get("past") is True

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        start = read(base, row, world)
        if start is None:
            return None
        if isinstance(start, datetime):
            moment = start + timedelta(seconds=int(world.rng.uniform(lo, hi) * (3600 if unit == "hours" else 86400)))
            return min(moment, world.midnight) if past else moment
        day = start + timedelta(days=world.rng.randint(int(lo), int(hi)))
        return min(day, world.today) if past else day

    return make


def _ref(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    path = c.path(spec["ref"], f"{where}/ref", frame)
    return lambda row, world, group: read(path, row, world)


def _switch(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    """One generator per value of another field (`"null"` matches an empty one), else `default`."""
    on = c.path(spec["switch"], f"{where}/switch", frame)
    cases = spec.get("cases")
    if not isinstance(cases, dict):
        c.errors.add(f"{where}/cases", "cases", "expected an object: value -> generator")
        cases = {}
    made = {str(k): c.gen(v, f"{where}/cases/{k}", frame) for k, v in cases.items()}
    default = c.gen(spec.get("default"), f"{where}/default", frame)

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        value = read(on, row, world)
        key = "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        return made.get(key, default)(row, world, group)

    return make


def _pick(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    """A random record of an entity (generated earlier or already in the database), optionally one whose
    `where` field equals a value of this row: {"pick": "contact", "where": {"account": "account"}}."""
    target = spec["pick"]
    if target not in c.entities:
        c.errors.add(f"{where}/pick", "unknown_entity", f"the app has no entity {target!r}")
        return _none
    by, path = None, None
    if "where" in spec:
        cond = spec["where"]
        if not (isinstance(cond, dict) and len(cond) == 1):
            c.errors.add(f"{where}/where", "where", 'expected one {"field of the picked record": "path"}')
            return _none
        by, value = next(iter(cond.items()))
        if by not in c.entities[target].fields and by != "owner":
            c.errors.add(f"{where}/where/{by}", "unknown_field", f"{target!r} has no field {by!r}")
        path = c.path(value, f"{where}/where/{by}", frame)
    c.picked.add((target, by))

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        ids = world.picker(target, by, None if path is None else read(path, row, world))
        return world.rng.choice(ids) if ids else None

    return make


def _user(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    role = spec["user"]

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        ids = world.users.get(role)
        return world.rng.choice(ids) if ids else None

    return make


def _split(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    """Siblings share out ratio x a value (payments of an order): their sum never exceeds it."""
    total = c.path(spec["split"], f"{where}/split", frame)
    lo, hi = _range(c, spec.get("ratio", [1, 1]), f"{where}/ratio")
    if hi > 1:
        c.errors.add(f"{where}/ratio", "range", "the ratio of a split is at most 1")
    key = f"split:{where}"

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        if key not in group:
            group[key] = _shares(world.rng, read(total, row, world), world.rng.uniform(lo, hi), group["n"])
        parts = group[key]
        return None if parts is None else parts[group["i"]]

    return make


def _shares(rng: random.Random, total: Any, ratio: float, n: int) -> list[Decimal] | None:
    if total is None:
        return None
    cents = int((Decimal(total) * Decimal(str(ratio)) * 100).to_integral_value(ROUND_DOWN))
    cuts = sorted(rng.randint(0, cents) for _ in range(n - 1))
    bounds = [0, *cuts, cents]
    return [Decimal(bounds[i + 1] - bounds[i]) / 100 for i in range(n)]


def _template(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    """Text with {path} and {words.list} placeholders: "{parent.name} · {words.deal}"."""
    text = spec["template"]
    if not isinstance(text, str):
        c.errors.add(f"{where}/template", "template", "expected a text")
        return _none
    parts: list[Any] = []
    for i, piece in enumerate(re.split(r"\{([^{}]+)\}", text)):
        if i % 2 == 0:
            parts.append(piece)
        elif piece.startswith("words."):
            if piece[6:] not in c.words:
                c.errors.add(f"{where}/template", "unknown_words", f"the spec has no word list {piece[6:]!r}")
            parts.append(("words", piece[6:]))
        else:
            parts.append(c.path(piece, f"{where}/template", frame))

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        out = []
        for p in parts:
            if isinstance(p, str):
                out.append(p)
            elif isinstance(p, tuple):
                out.append(world.rng.choice(world.words.get(p[1]) or [""]))
            else:
                value = read(p, row, world)
                out.append("" if value is None else str(value))
        return "".join(out)

    return make


VALUE_KINDS: dict[str, Kind] = {
    "const": lambda c, spec, where, frame: lambda row, world, group: spec["const"],
    "choice": _choice,
    "multi": _multi,
    "int": _int,
    "number": _number,
    "bool": _bool,
    "date": _date,
    "datetime": _datetime,
    "after": _after,
    "ref": _ref,
    "switch": _switch,
    "pick": _pick,
    "user": _user,
    "split": _split,
    "template": _template,
}
VALUE_OPTIONS: dict[str, set[str]] = {
    "multi": {"count"},
    "number": {"round", "log"},
    "date": {"recent"},
    "datetime": {"daytime", "recent"},
    "after": {"days", "hours", "past"},
    "switch": {"cases", "default"},
    "pick": {"where"},
    "split": {"ratio"},
}
