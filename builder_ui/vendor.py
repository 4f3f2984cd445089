"""Refresh the vendored browser files from the npm registry (`make vendor`): no build step, no CDN.

Each package is fetched with `npm pack` at the pinned version, the files the UI serves are copied into
builder_ui/static/vendor/, and vendor.lock.json records every file's sha256 and the package's registry
integrity. `python -m builder_ui.vendor --check` verifies the committed files against the lock.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).parent / "static" / "vendor"
LOCK = VENDOR / "vendor.lock.json"

# package@version -> {path inside the package: path under static/vendor/}
PACKAGES: dict[str, dict[str, str]] = {
    "htmx.org@2.0.11": {"dist/htmx.min.js": "htmx/htmx.min.js", "LICENSE": "htmx/LICENSE"},
    "@alpinejs/csp@3.17.4": {"dist/module.esm.min.js": "alpine/alpine-csp.esm.min.js"},
    "sortablejs@1.15.7": {"modular/sortable.core.esm.js": "sortable/sortable.esm.js", "LICENSE": "sortable/LICENSE"},
    "@tabler/core@1.6.1": {"dist/css/tabler.min.css": "tabler/tabler.min.css"},  # MIT (package.json)
    "swagger-ui-dist@5.36.0": {
        "swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
        "swagger-ui.css": "swagger-ui/swagger-ui.css",
        "LICENSE": "swagger-ui/LICENSE",
    },
    "redoc@3.0.1": {"bundles/redoc.standalone.js": "redoc/redoc.standalone.js", "LICENSE": "redoc/LICENSE"},
    "echarts@6.1.0": {"dist/echarts.esm.min.js": "echarts/echarts.esm.min.js", "LICENSE": "echarts/LICENSE"},
    # 6.x ships no map data: the China map (GeoJSON, Apache-2.0) from the last release that had it
    "echarts@4.9.0": {"map/json/china.json": "echarts/china.json"},
    # The process designer's free-form canvas (MIT): the UMD build sets globalThis.X6 when imported as a module;
    # its CSS is not injected (CSP: no style element without the nonce) but written in builder-process.css.
    "@antv/x6@3.1.8": {"dist/x6.min.js": "x6/x6.min.js", "LICENSE": "x6/LICENSE"},
    "axe-core@4.14.1": {"axe.min.js": "axe-core/axe.min.js", "LICENSE": "axe-core/LICENSE"},  # tests only
}
ICONS_PACKAGE = "heroicons@2.2.0"
# The one SVG icon set (MIT): Heroicons' 24 px outline icons as one sprite, `<use href="...#name">`. Entity
# definitions name their icon by these names (the CRM's "funnel", "user-group"...).
ICONS_DIR = "package/24/outline/"


def _pack(spec: str, into: Path) -> tuple[Path, str]:
    out = subprocess.run(  # noqa: S603 - fixed arguments, a pinned spec from this file
        ["npm", "pack", spec, "--json", "--pack-destination", str(into)],  # noqa: S607 - npm from PATH
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out)[0]
    return into / info["filename"], info["integrity"]


def _sprite(tgz: Path) -> bytes:
    symbols = []
    with tarfile.open(tgz) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not (member.name.startswith(ICONS_DIR) and member.name.endswith(".svg")):
                continue
            svg = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
            inner = re.sub(r"^.*?<svg[^>]*>|</svg>\s*$", "", svg, flags=re.S).strip()
            name = member.name.removeprefix(ICONS_DIR).removesuffix(".svg")
            symbols.append(
                f'<symbol id="{name}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.5">{inner}</symbol>'
            )
    return ('<svg xmlns="http://www.w3.org/2000/svg">' + "\n".join(symbols) + "</svg>\n").encode()


def refresh() -> None:
    lock: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for spec, files in PACKAGES.items():
            tgz, integrity = _pack(spec, Path(tmp))
            with tarfile.open(tgz) as tar:
                for inner, target in files.items():
                    member = tar.extractfile(f"package/{inner}")
                    assert member is not None, f"{spec} has no {inner}"
                    dest = VENDOR / target
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    dest.write_bytes(member.read())
            lock[spec] = {"integrity": integrity, "files": {t: _sha256(VENDOR / t) for t in files.values()}}
        tgz, integrity = _pack(ICONS_PACKAGE, Path(tmp))
        (VENDOR / "icons").mkdir(exist_ok=True)
        (VENDOR / "icons" / "sprite.svg").write_bytes(_sprite(tgz))
        with tarfile.open(tgz) as tar:
            (VENDOR / "icons" / "LICENSE").write_bytes(tar.extractfile("package/LICENSE").read())  # type: ignore[union-attr]
        lock[ICONS_PACKAGE] = {"integrity": integrity, "files": {"icons/sprite.svg": _sha256(VENDOR / "icons/sprite.svg")}}
    LOCK.write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check() -> list[str]:
    """The vendored files that differ from the lock (empty when all match)."""
    lock = json.loads(LOCK.read_text())
    return [
        f"{spec}: {name}"
        for spec, entry in lock.items()
        for name, digest in entry["files"].items()
        if not (VENDOR / name).exists() or _sha256(VENDOR / name) != digest
    ]


if __name__ == "__main__":
    if "--check" in sys.argv:
        bad = check()
        print("\n".join(bad) or "vendored files match vendor.lock.json")
        sys.exit(1 if bad else 0)
    refresh()
