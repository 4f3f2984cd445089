"""The product's two languages and which one a caller asks for (an Accept-Language header)."""

from __future__ import annotations

LOCALES = ("zh-CN", "en")


def from_accept_language(header: str | None, default: str = "en") -> str:
    """The first of our languages the header asks for (zh, zh-CN, zh-Hans... -> zh-CN), else `default`."""
    ranked = []
    for i, part in enumerate((header or "").split(",")[:20]):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, i, tag.strip().lower()))
    for _w, _i, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default
