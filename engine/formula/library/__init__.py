"""The built-in formula functions, one module per family, and the registry that holds them."""

from __future__ import annotations

from functools import lru_cache

from engine.core.registry import Registry
from engine.formula.functions import Function
from engine.formula.library import dates, logic, numbers, texts


def register_builtins(registry: Registry[Function]) -> Registry[Function]:
    for module in (logic, numbers, texts, dates):
        for fn in module.FUNCTIONS:
            registry.register(fn)
    return registry


@lru_cache
def functions() -> Registry[Function]:
    """The process-wide registry of formula functions (keys are upper case)."""
    return register_builtins(Registry("formula function"))
