"""The attachment field type: a list of file ids (JSON); the files themselves live in engine/files."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from sqlalchemy.types import TypeEngine

from engine.core.errors import ErrorDetail
from engine.core.sql import JsonType
from engine.schema.definition import FieldBase
from engine.schema.field_types.base import FieldType, InvalidValue

# Kinds a field may accept by name; each is a family of sniffed types (engine/files/sniff.py).
KINDS = ("image", "pdf", "office", "text", "archive", "audio", "video")
MIME = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
FILE_ID = r"[A-Za-z0-9_-]{16,64}"
FILE_ID_RE = re.compile(rf"^{FILE_ID}$")
MAX_FILES = 50
MAX_SIZE_MB = 200

Accept = Annotated[str, StringConstraints(pattern=rf"^({'|'.join(KINDS)}|{MIME})$")]


class AttachmentConfig(FieldBase):
    type: Literal["attachment"]
    max_files: Annotated[int, Field(ge=1, le=MAX_FILES)] = 10
    max_size_mb: Annotated[int, Field(ge=1, le=MAX_SIZE_MB, description="Per file; also capped by TANGRAM_MAX_FILE_MB")] = 20
    accept: Annotated[list[Accept], Field(max_length=50, description="Kinds or exact MIME types; empty: any")] = []


def file_id_of(value: Any) -> str:
    """A file id, sent as itself or inside the descriptor the API returned for it."""
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str) or not FILE_ID_RE.match(value):
        raise InvalidValue("type", "expected file ids (strings from the upload route) or file descriptors with an id")
    return value


class AttachmentType(FieldType):
    key = "attachment"
    config = AttachmentConfig

    def indexable(self, cfg: Any) -> str | None:
        return f"an {self.key} field holds a list of files, which cannot be indexed or unique"

    def column_type(self, cfg: Any) -> TypeEngine[Any]:
        return JsonType

    def parse(self, cfg: Any, value: Any) -> Any:
        return self.parser(cfg)(value)

    def parser(self, cfg: Any) -> Callable[[Any], Any]:
        limit, required = cfg.max_files, cfg.required

        def parse(value: Any) -> Any:
            if not isinstance(value, list):
                raise InvalidValue("type", "expected a list of file ids")
            if len(value) > limit:
                raise InvalidValue("max_files", f"at most {limit} files")
            ids = [file_id_of(v) for v in value]
            if len(set(ids)) != len(ids):
                raise InvalidValue("duplicate", "a file is listed twice")
            if required and not ids:
                raise InvalidValue("required", "attach at least one file")
            return ids

        return parse

    def check_config(self, cfg: Any) -> list[ErrorDetail]:
        errors = [e for e in super().check_config(cfg) if e.path != "/default"]
        if cfg.default is not None:  # a default would name files nobody uploaded
            errors.append(ErrorDetail("/default", "not_allowed", "an attachment field cannot have a default"))
        return errors

    def value_schema(self, cfg: Any) -> dict[str, Any]:
        descriptor = {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string", "pattern": f"^{FILE_ID}$"},
                "name": {"type": "string"},
                "size": {"type": "integer"},
                "content_type": {"type": "string"},
                "is_image": {"type": "boolean"},
                "url": {"type": "string"},
                "thumbnail_url": {"type": ["string", "null"]},
            },
        }
        file_id = {"type": "string", "pattern": f"^{FILE_ID}$"}
        return {"type": "array", "maxItems": cfg.max_files, "items": {"anyOf": [file_id, descriptor]}}
