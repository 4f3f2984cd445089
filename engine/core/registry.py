"""The one registry pattern: extension types registered by a stable key, duplicates refused."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar


class Keyed(Protocol):
    key: str


T = TypeVar("T", bound=Keyed)


class DuplicateKeyError(ValueError):
    pass


class Registry(Generic[T]):
    """Holds one instance per key. Registering a key twice is an error, never "last one wins"."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, item: T) -> T:
        if item.key in self._items:
            raise DuplicateKeyError(f"{self.kind} {item.key!r} is already registered")
        self._items[item.key] = item
        return item

    def get(self, key: str) -> T | None:
        return self._items.get(key)

    def __getitem__(self, key: str) -> T:
        return self._items[key]

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[T]:
        return iter(self._items.values())

    def keys(self) -> list[str]:
        return list(self._items)
