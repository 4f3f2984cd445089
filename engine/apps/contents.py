"""A package's parsed contents: its manifest and every definition in canonical form, checked offline
(shape, file name = key, roles granting only on the app) with every error located in its file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from engine.apps.kinds import BY_FOLDER, ROLE, app_grant_problems
from engine.apps.manifest import ENGINE_VERSION, Manifest, Version
from engine.apps.package import file_error, in_file, refuse
from engine.apps.samples import sample_records
from engine.core.errors import ErrorCollector, ErrorDetail, pydantic_errors

Doc = dict[str, Any]


@dataclass
class Package:
    manifest: Manifest
    definitions: dict[str, dict[str, tuple[str, Doc]]]  # kind -> key -> (file, canonical definition)
    samples: dict[str, tuple[str, list[Any]]] = field(default_factory=dict)  # entity -> (file, records)
    demo: Any = None

    @property
    def app(self) -> str:
        return self.manifest.key

    def counts(self) -> dict[str, int]:
        return {kind: len(defs) for kind, defs in self.definitions.items() if defs}


def read_contents(docs: dict[str, Any]) -> Package:
    """Parse every file; a 422 listing every problem in every file, or the package."""
    errors: list[ErrorDetail] = []
    manifest = _manifest(docs["manifest.json"], errors)
    raw = docs["manifest.json"]
    app = manifest.key if manifest else str(raw.get("key", "")) if isinstance(raw, dict) else ""
    definitions: dict[str, dict[str, tuple[str, Doc]]] = {k.name: {} for k in BY_FOLDER.values()}
    samples: dict[str, tuple[str, list[Any]]] = {}
    for file, doc in docs.items():
        folder, _, name = file.partition("/")
        key = name.removesuffix(".json")
        if folder == "sample":
            samples[key] = (file, sample_records(file, doc, errors))
        elif folder in BY_FOLDER:
            parsed = _definition(file, folder, key, doc, app, errors)
            if parsed is not None:
                definitions[BY_FOLDER[folder].name][key] = (file, parsed)
    refuse(errors)
    assert manifest is not None
    return Package(manifest, definitions, samples, docs.get("demo.json"))


def _manifest(doc: Any, errors: list[ErrorDetail]) -> Manifest | None:
    try:
        manifest = Manifest.model_validate(doc)
    except ValidationError as exc:
        errors += in_file("manifest.json", pydantic_errors(exc))
        return None
    if manifest.min_engine_version and Version(manifest.min_engine_version) > ENGINE_VERSION:
        message = f"the package needs Tangram {manifest.min_engine_version} or newer; this is {ENGINE_VERSION}"
        errors.append(file_error("manifest.json", "/min_engine_version", "engine_too_old", message))
    return manifest


def _definition(file: str, folder: str, key: str, doc: Any, app: str, errors: list[ErrorDetail]) -> Doc | None:
    kind = BY_FOLDER[folder]
    found = ErrorCollector()
    parsed = kind.parse(doc, found)
    if parsed is not None and parsed["key"] != key:
        found.add("/key", "key_mismatch", f"the key is {parsed['key']!r} but the file is named {key}.json")
    if parsed is not None and kind is ROLE and app:
        found.extend(app_grant_problems(parsed, app))
    errors += in_file(file, found.errors)
    return None if found else parsed
