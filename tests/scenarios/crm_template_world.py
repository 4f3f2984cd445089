"""The CRM template package (apps_catalog/crm): its definitions read from the files, and the install
through the packages API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

PACKAGE = Path(__file__).resolve().parents[2] / "apps_catalog" / "crm"
APP = "crm"


def load(kind: str, package: Path = PACKAGE) -> list[dict[str, Any]]:
    """Every definition of one kind, in file-name order."""
    folder = package / kind
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


async def install(http: httpx.AsyncClient, with_sample: bool = True) -> dict[str, Any]:
    """Install the catalog's CRM through the packages API, as an implementer would (admin client)."""
    r = await http.post(f"/api/v1/meta/packages/catalog/{APP}/install", params={"sample": str(with_sample).lower()})
    assert r.status_code in (200, 201), r.text
    return dict(r.json())
