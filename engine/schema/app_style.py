"""How an app looks in the launcher and the builder: an icon from a fixed set of the vendored heroicons
and a colour (one of the presets, or any "#rrggbb"). Validated here; the pages only render them."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

ICONS: tuple[str, ...] = (
    "squares-2x2", "briefcase", "user-group", "users", "identification", "academic-cap", "building-office",
    "building-storefront", "shopping-cart", "truck", "cube", "banknotes", "wallet", "credit-card", "calculator",
    "chart-bar", "chart-pie", "presentation-chart-line", "clipboard-document-check", "clipboard-document-list",
    "document-text", "calendar-days", "clock", "check-badge", "wrench-screwdriver", "cog-6-tooth", "beaker",
    "heart", "home", "map-pin", "megaphone", "rocket-launch", "light-bulb", "star", "tag", "ticket", "trophy",
    "puzzle-piece",
)  # fmt: skip


def _known_icon(name: str) -> str:
    if name not in ICONS:
        raise ValueError(f"{name!r} is not one of the app icons ({', '.join(ICONS[:4])}, ...)")
    return name


AppIcon = Annotated[str, StringConstraints(max_length=40), AfterValidator(_known_icon)]

# The presets the builder offers (name, value); any other "#rrggbb" is accepted too.
COLORS: tuple[tuple[str, str], ...] = (
    ("blue", "#1677ff"), ("cyan", "#13a8a8"), ("green", "#389e0d"), ("gold", "#d48806"), ("orange", "#d4380d"),
    ("red", "#cf1322"), ("magenta", "#c41d7f"), ("purple", "#531dab"), ("geekblue", "#1d39c4"), ("gray", "#595959"),
)  # fmt: skip


def _hex_color(value: str) -> str:
    if len(value) != 7 or value[0] != "#" or any(ch not in "0123456789abcdefABCDEF" for ch in value[1:]):
        raise ValueError(f"{value!r} is not a colour: use #rrggbb, e.g. #1677ff")
    return value.lower()


AppColor = Annotated[str, StringConstraints(max_length=7), AfterValidator(_hex_color)]
DEFAULT_ICON = "squares-2x2"
DEFAULT_COLOR = "#1677ff"
