"""Page weight: the gzipped bytes of the CSS and JS an end-user page loads, read from its HTML (<link
rel=stylesheet>, <script src>) and from builder_ui/static/js/app.js (the controller modules whose selector
matches an element of the page, and every module they import, statically or on demand: an upper bound)."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from pathlib import Path

import builder_ui

STATIC = Path(builder_ui.__file__).parent / "static"
BUDGET_KB = 150.0
CONTROLLER = re.compile(r"""\[\s*"([^"]+)"\s*,\s*\(\)\s*=>\s*import\(\s*"([^"]+)"\s*\)\s*\]""")
STATIC_IMPORT = re.compile(r"""\bimport\s(?:[^;'"]*?\bfrom\s*)?["']([^"']+\.m?js)["']""")
DYNAMIC_IMPORT = re.compile(r"""\bimport\(\s*["']([^"']+\.m?js)["']\s*\)""")
SIMPLE = re.compile(r"^(?P<tag>[a-z][a-z0-9-]*)?(?P<rest>(?:[#.][\w-]+|\[[\w-]+(?:=\"?[^\]\"]*\"?)?\])*)$")
PART = re.compile(r"#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:=\"?([^\]\"]*)\"?)?\]")


class PageAssets(HTMLParser):
    """The stylesheets and scripts a page names, and its elements (tag, attributes) for selector matching."""

    def __init__(self) -> None:
        super().__init__()
        self.styles: list[str] = []
        self.scripts: list[str] = []
        self.elements: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if tag == "link" and "stylesheet" in a.get("rel", "").split() and a.get("href"):
            self.styles.append(a["href"])
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])


def matches(selector: str, tag: str, attrs: dict[str, str]) -> bool:
    """The simple selectors app.js uses: `tag`, `#id`, `.class`, `[attr]`, `[attr=value]`, compounds and lists."""
    for one in (s.strip() for s in selector.split(",")):
        m = SIMPLE.match(one)
        if m is None:
            raise ValueError(f"page_weight cannot read the selector {one!r}: teach matches() its syntax")
        if (m["tag"] and m["tag"] != tag) or not all(_part(p, attrs) for p in PART.finditer(m["rest"])):
            continue
        return True
    return False


def _part(p: re.Match[str], attrs: dict[str, str]) -> bool:
    ident, cls, name, value = p.groups()
    if ident:
        return attrs.get("id") == ident
    if cls:
        return cls in attrs.get("class", "").split()
    return name in attrs and (value is None or attrs[name] == value)


def _local(url: str, importer: str = "/static/js/app.js") -> str:
    """A module specifier or URL as a path under /static."""
    if url.startswith("./"):
        return importer.rsplit("/", 1)[0] + url[1:]
    return url.split("?")[0]


def modules(entry: str, seen: set[str], on_demand: bool = True) -> None:
    """`entry` and every module it imports (and, with `on_demand`, those it may import()) into `seen`."""
    if entry in seen:
        return
    seen.add(entry)
    source = _file(entry).read_text(encoding="utf-8")
    specs = STATIC_IMPORT.findall(source) + (DYNAMIC_IMPORT.findall(source) if on_demand else [])
    for spec in specs:
        modules(_local(spec, entry), seen)


def _file(url: str) -> Path:
    if not url.startswith("/static/"):
        raise ValueError(f"{url} is not served from /static: the page weight only counts the product's own files")
    return STATIC / url.removeprefix("/static/")


def page_files(html: str) -> dict[str, list[str]]:
    """{"css": [...], "js": [...]}: the URLs of the files a page loads."""
    page = PageAssets()
    page.feed(html)
    js: set[str] = set()
    for src in page.scripts:
        modules(src, js, on_demand=not src.endswith("/app.js"))  # app.js: its controllers, by selector below
    app_js = _file("/static/js/app.js").read_text(encoding="utf-8")
    for selector, spec in CONTROLLER.findall(app_js):
        if any(matches(selector, tag, attrs) for tag, attrs in page.elements):
            modules(_local(spec), js)
    return {"css": page.styles, "js": sorted(js)}


def gzipped(url: str) -> int:
    return len(gzip.compress(_file(url).read_bytes(), compresslevel=6))


def weigh(html: str) -> tuple[float, list[str]]:
    """The page's gzipped CSS + JS in KB, and one line per file (largest first)."""
    files = page_files(html)
    sizes = {url: gzipped(url) for url in files["css"] + files["js"]}
    lines = [f"    {size / 1024:7.1f} KB  {url}" for url, size in sorted(sizes.items(), key=lambda kv: -kv[1])]
    return sum(sizes.values()) / 1024, lines
