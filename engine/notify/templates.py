"""User-authored text templates (email subjects and bodies, notification titles) rendered in Jinja2's
immutable sandbox: no attribute escapes, HTML escaped in HTML bodies, undefined names are errors, and
bounded source, output, loop iterations and string growth, so a template cannot take the worker down."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from engine.core.errors import ErrorDetail, ValidationFailed

MAX_SOURCE = 64 * 1024
MAX_OUTPUT = 1024 * 1024
MAX_LOOP_ITERATIONS = 100_000  # per render, all loops together
MAX_GROWN_STRING = 10_000  # the longest string or list `*` may build
MAX_EXPONENT = 100
# str methods and filters that pad or multiply text by an argument: one call could fill the memory.
GROWING_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs", "format", "format_map", "replace"}
GROWING_FILTERS = ("center", "indent", "wordwrap", "format", "replace")
BUDGET_FILTER = "tg_loop_budget"

_budget: ContextVar[list[int]] = ContextVar("template_loop_budget")


class TemplateFailed(ValidationFailed):
    """A template that cannot be compiled or rendered; the error names the template's JSON path."""


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("'%' formatting of text is not allowed; join text with '~'")
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponents above {MAX_EXPONENT} are not allowed")
        if operator == "*" and _grown_size(left, right) > MAX_GROWN_STRING:
            raise SecurityError(f"'*' may build at most {MAX_GROWN_STRING} characters or items")
        return super().call_binop(context, operator, left, right)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in GROWING_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)


def _grown_size(left: Any, right: Any) -> int:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            return len(seq) * times
    return 0


def _loop_budget(iterable: Iterable[Any]) -> Iterator[Any]:
    budget = _budget.get()
    for item in iterable:
        budget[0] -= 1
        if budget[0] < 0:
            raise SecurityError(f"the template's loops ran more than {MAX_LOOP_ITERATIONS} times")
        yield item


@lru_cache(maxsize=2)
def _environment(html: bool) -> _Sandbox:
    env = _Sandbox(autoescape=html, undefined=StrictUndefined, auto_reload=False)
    for name in GROWING_FILTERS:
        env.filters.pop(name, None)
    env.filters[BUDGET_FILTER] = _loop_budget
    return env


@lru_cache(maxsize=256)
def _compile(source: str, html: bool) -> Template:
    if len(source) > MAX_SOURCE:
        raise SecurityError(f"a template may be at most {MAX_SOURCE} characters long")
    env = _environment(html)
    tree = env.parse(source)
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise TemplateSyntaxError("recursive loops are not allowed", loop.lineno)
        # Every loop draws from one budget per render: nested loops cannot multiply into hours of CPU.
        loop.iter = nodes.Filter(loop.iter, BUDGET_FILTER, [], [], None, None, lineno=loop.lineno)
    return env.from_string(tree)


def render(source: str, context: Mapping[str, Any], *, html: bool = False, path: str = "") -> str:
    """Render `source` with `context`. `html=True` escapes every value (for HTML email bodies); plain
    text is left as is. Any failure raises TemplateFailed located at `path` (e.g. "/actions/0/subject")."""
    token = _budget.set([MAX_LOOP_ITERATIONS])
    try:
        return _collect(_compile(source, html).generate(dict(context)))
    except (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError, RecursionError) as exc:
        detail = _detail(exc, path)
        raise TemplateFailed(f"the template cannot be rendered: {detail.message}", errors=[detail]) from None
    finally:
        _budget.reset(token)


def check(source: str, *, html: bool = False, path: str = "") -> list[ErrorDetail]:
    """Problems found without rendering (syntax, size, forbidden constructs): for definition time."""
    try:
        _compile(source, html)
    except (TemplateError, SecurityError) as exc:
        return [_detail(exc, path)]
    return []


def _collect(chunks: Iterator[str]) -> str:
    out, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise SecurityError(f"the rendered text is longer than {MAX_OUTPUT} characters")
        out.append(chunk)
    return "".join(out)


def _detail(exc: BaseException, path: str) -> ErrorDetail:
    if isinstance(exc, TemplateSyntaxError):
        return ErrorDetail(path, "template_syntax", f"line {exc.lineno}: {exc.message}")
    if isinstance(exc, UndefinedError):
        return ErrorDetail(path, "template_undefined", str(exc))
    if isinstance(exc, SecurityError):
        return ErrorDetail(path, "template_unsafe", str(exc))
    if isinstance(exc, RecursionError):
        return ErrorDetail(path, "template_error", "the template calls itself too deeply")
    return ErrorDetail(path, "template_error", str(exc) or type(exc).__name__)
