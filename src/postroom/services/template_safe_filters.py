"""The filters of Jinja2 that could build huge values or run long, made safe for templates."""

# Each one checks the arguments that decide how much it produces (a width, a count, a format)
# before it runs; every filter is also wrapped so that its arguments and result stay within
# the rendering's size limit and each call meets its deadline (template_limits.py).

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2 import pass_environment, pass_eval_context
from markupsafe import Markup, soft_str

from postroom.services.template_limits import (
    MAX_FORMAT_NUMBER,
    TemplateLimitError,
    check_value,
    current,
    weight,
)

_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d+)?(?:\.(\*|\d+))?")


def check_format(spec: str) -> None:
    for width, precision in _FORMAT_SPEC.findall(spec):
        for number in (width, precision):
            if number == "*" or (number and int(number) > MAX_FORMAT_NUMBER):
                raise TemplateLimitError(
                    "number", f"A format width or precision above {MAX_FORMAT_NUMBER}."
                )


# Filters whose work grows faster than their input (regular expressions, sorting, pure-Python
# wrapping) run as one step the deadline cannot interrupt: their input is bounded instead.
_INPUT_LIMITS = {
    "striptags": 100_000,
    "urlize": 100_000,
    "wordwrap": 100_000,
    "sort": 100_000,
    "unique": 100_000,
    "groupby": 100_000,
    "dictsort": 100_000,
}


def _check_input(name: str, values: Iterable[Any]) -> None:
    limit = _INPUT_LIMITS.get(name)
    if limit is None:
        return
    for value in values:
        if isinstance(value, str | list | tuple | dict) and len(value) > limit:
            raise TemplateLimitError("size", f"`{name}` takes at most {limit} characters or items.")


def guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Any filter: its arguments and its result must stay within the size limit."""

    @functools.wraps(func)  # keeps jinja_pass_arg: pass_context and friends still work
    def guarded(*args: Any, **kwargs: Any) -> Any:
        state = current()
        state.tick()
        for value in (*args, *kwargs.values()):
            check_value(value)
        _check_input(name, args)
        result = func(*args, **kwargs)
        if isinstance(result, str):
            state.check_size(len(result))
        return result

    return guarded


def _cap(name: str, value: Any, limit: int) -> None:
    size = len(value) if isinstance(value, str) else value
    if isinstance(size, int) and size > limit:
        raise TemplateLimitError("number", f"The `{name}` argument may be at most {limit}.")


def _center(value: str, width: int = 80) -> str:
    _cap("width", width, MAX_FORMAT_NUMBER)
    return jinja_filters.do_center(value, width)


def _indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    _cap("width", width, 100)
    return jinja_filters.do_indent(s, width, first, blank)


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    check_format(str(value))
    return jinja_filters.do_format(value, *args, **kwargs)


@pass_eval_context
def _replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
    text = soft_str(s)
    found = text.count(soft_str(old)) if count is None else min(count, len(text) + 1)
    current().check_size(len(text) + found * len(soft_str(new)))
    return jinja_filters.do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: str | None = None) -> str:
    items = list(value)
    if attribute is not None:
        getter = jinja_filters.make_attrgetter(eval_ctx.environment, attribute)
        items = [getter(item) for item in items]
    state, total = current(), 0
    for item in items:
        state.tick()
        total += weight(item, state) + len(d)
        state.check_size(total)
    return jinja_filters.sync_do_join(eval_ctx, items, d)


@pass_environment
def _wordwrap(
    environment: Any,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    _cap("wrapstring", wrapstring or "", 10)
    return jinja_filters.do_wordwrap(
        environment, s, width, break_long_words, wrapstring, break_on_hyphens
    )


def _slice(value: Collection[Any], slices: int, fill_with: Any = None) -> Iterator[list[Any]]:
    _cap("slices", slices, MAX_FORMAT_NUMBER)
    return jinja_filters.sync_do_slice(value, slices, fill_with)


def _batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    _cap("linecount", linecount, 10_000)
    return jinja_filters.do_batch(value, linecount, fill_with)


@pass_eval_context
def _tojson(eval_ctx: Any, value: Any, indent: int | None = None) -> Markup:
    _cap("indent", indent or 0, 8)
    return jinja_filters.do_tojson(eval_ctx, value, indent)


REPLACED_FILTERS: dict[str, Callable[..., Any]] = {
    "center": _center,
    "indent": _indent,
    "format": _format,
    "replace": _replace,
    "join": _join,
    "wordwrap": _wordwrap,
    "slice": _slice,
    "batch": _batch,
    "tojson": _tojson,
}
