"""Where file bytes live: one small interface over obstore, a local directory or an S3-compatible store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import LocalStore, S3Store

from engine.core.settings import Settings

CHUNK = 1024 * 1024


@dataclass
class Storage:
    """Put, read and delete objects by key. Keys are made by the server, never from user input."""

    store: Any

    async def put(self, key: str, data: bytes | Iterable[bytes]) -> None:
        await obstore.put_async(self.store, key, data)

    async def read(self, key: str) -> bytes | None:
        """The whole object, or None when there is none."""
        try:
            result = await obstore.get_async(self.store, key)
        except (NotFoundError, FileNotFoundError):
            return None
        return bytes(await result.bytes_async())

    async def stream(self, key: str) -> AsyncIterator[bytes] | None:
        """The object in chunks (a 200 MB file is never held whole), or None when there is none."""
        try:
            result = await obstore.get_async(self.store, key)
        except (NotFoundError, FileNotFoundError):
            return None
        return _chunks(result)

    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing object is not an error (a sweep may run twice)."""
        try:
            await obstore.delete_async(self.store, key)
        except (NotFoundError, FileNotFoundError):
            return

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self.store, key)
        except (NotFoundError, FileNotFoundError):
            return False
        return True

    async def keys(self) -> list[str]:
        """Every key in the store (for checks and tests; a listing of a big bucket is slow)."""
        found = []
        async for batch in obstore.list(self.store):
            found.extend(meta["path"] for meta in batch)
        return sorted(found)


async def _chunks(result: Any) -> AsyncIterator[bytes]:
    async for chunk in result.stream(min_chunk_size=CHUNK):
        yield bytes(chunk)


def build_storage(settings: Settings) -> Storage:
    """The back end the settings name: `local` (a directory, by default under VAR_DIR) or `s3`."""
    if settings.tangram_file_storage == "s3":
        secret = settings.tangram_s3_secret_access_key
        options = {
            "endpoint": settings.tangram_s3_endpoint,
            "region": settings.tangram_s3_region,
            "access_key_id": settings.tangram_s3_access_key_id,
            "secret_access_key": secret.get_secret_value() if secret else None,
        }
        return Storage(
            S3Store(
                settings.tangram_s3_bucket,
                client_options={"allow_http": (settings.tangram_s3_endpoint or "").startswith("http://")},
                **{k: v for k, v in options.items() if v},
            )
        )
    root = Path(settings.tangram_files_dir or Path(settings.var_dir) / "files")
    root.mkdir(parents=True, exist_ok=True)
    return Storage(LocalStore(str(root.resolve())))
