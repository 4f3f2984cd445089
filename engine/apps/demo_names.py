"""Name, contact and place generators of a demo spec: zh-CN and English person and company names (with
their romanised form kept on the row), emails and web sites derived from them, phone numbers, cities."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.apps import demo_words as w
from engine.apps.demo_values import Frame, Gen, Kind, Row, World, read

if TYPE_CHECKING:
    from engine.apps.demo_spec import Compiler

LOCALES = ("zh-CN", "en")


def _locales(c: Compiler, value: Any, where: str) -> tuple[list[str], list[float]]:
    weights_ok = isinstance(value, dict) and all(isinstance(v, int | float) for v in value.values())
    if weights_ok and value and set(value) <= set(LOCALES):
        return list(value), [float(v) for v in value.values()]
    c.errors.add(where, "locales", 'expected weights per locale, e.g. {"zh-CN": 85, "en": 15}')
    return ["zh-CN"], [1.0]


def _zh_person(world: World) -> tuple[str, str]:
    surname, s_latin, _ = world.rng.choices(w.ZH_SURNAMES, [s[2] for s in w.ZH_SURNAMES])[0]
    given, g_latin = world.rng.choice(w.ZH_GIVEN)
    return surname + given, f"{g_latin}.{s_latin}"


def _en_person(world: World) -> tuple[str, str]:
    first, last = world.rng.choice(w.EN_FIRST), world.rng.choice(w.EN_LAST)
    return f"{first} {last}", f"{first}.{last}".lower()


def _zh_company(world: World, place: str) -> tuple[str, str]:
    brand, latin = world.rng.choice(w.ZH_BRANDS)
    suffix = world.rng.choices([s for s, _ in w.ZH_SUFFIXES], [n for _, n in w.ZH_SUFFIXES])[0]
    return f"{place.removesuffix('市')}{brand}{world.rng.choice(w.ZH_TRADES)}{suffix}", latin


def _en_company(world: World) -> tuple[str, str]:
    brand = world.rng.choice(w.EN_BRANDS)
    suffix = world.rng.choices([s for s, _ in w.EN_SUFFIXES], [n for _, n in w.EN_SUFFIXES])[0]
    return f"{brand} {world.rng.choice(w.EN_TRADES)} {suffix}", brand.replace(" ", "").lower()


def _person(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    locales, weights = _locales(c, spec["person"], f"{where}/person")
    key = frame.field.key if frame.field is not None else ""

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        name, latin = (_zh_person if world.rng.choices(locales, weights)[0] == "zh-CN" else _en_person)(world)
        row.latin[key] = latin
        return name

    return make


def _company(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    """A company name; Chinese ones start with the place a `place` path names (a city field)."""
    locales, weights = _locales(c, spec["company"], f"{where}/company")
    place = c.path(spec["place"], f"{where}/place", frame) if "place" in spec else None
    key = frame.field.key if frame.field is not None else ""

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        if world.rng.choices(locales, weights)[0] == "zh-CN":
            name, latin = _zh_company(world, (read(place, row, world) or "") if place else "")
        else:
            name, latin = _en_company(world)
        row.latin[key] = latin
        return name

    return make


def _latin(c: Compiler, text: Any, where: str, frame: Frame) -> Any:
    path = c.path(text, where, frame)

    def get(row: Row, world: World) -> str | None:
        at, key = path(row, world)
        return None if at is None else at.latin.get(key)

    return get


def _email(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    """name.surname@<company>.example.com from the person (and company) names these paths lead to."""
    person = _latin(c, spec["email"], f"{where}/email", frame)
    company = _latin(c, spec["domain"], f"{where}/domain", frame) if "domain" in spec else None

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        local = person(row, world) or f"info{world.rng.randint(1, 999)}"
        org = company(row, world) if company else None
        return f"{local}@{org}.{w.EMAIL_DOMAIN}" if org else f"{local}@{w.EMAIL_DOMAIN}"

    return make


def _website(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    company = _latin(c, spec["website"], f"{where}/website", frame)

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        org = company(row, world)
        return None if org is None else f"https://www.{org}.{w.EMAIL_DOMAIN}"

    return make


def _phone(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    kind = spec["phone"]
    if kind not in ("mobile", "landline"):
        c.errors.add(f"{where}/phone", "phone", "expected 'mobile' or 'landline'")

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        if kind == "mobile":
            return world.rng.choice(w.MOBILE_PREFIXES) + f"{world.rng.randint(0, 99_999_999):08d}"
        return f"{world.rng.choice(w.AREA_CODES)}-{world.rng.randint(20_000_000, 89_999_999)}"

    return make


def _city(c: Compiler, spec: dict[str, Any], where: str, frame: Frame) -> Gen:
    """A main city of the region (an option key of China's provinces) a path names."""
    region = c.path(spec["city"], f"{where}/city", frame)

    def make(row: Row, world: World, group: dict[str, Any]) -> Any:
        cities = w.CITIES.get(read(region, row, world) or "")
        return world.rng.choice(cities) if cities else None

    return make


NAME_KINDS: dict[str, Kind] = {
    "person": _person,
    "company": _company,
    "email": _email,
    "website": _website,
    "phone": _phone,
    "city": _city,
}
NAME_OPTIONS: dict[str, set[str]] = {"company": {"place"}, "email": {"domain"}}
