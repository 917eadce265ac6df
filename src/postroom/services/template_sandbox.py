"""The Jinja2 environment company templates run in: sandboxed, strict, and kept within limits."""

# What it guards against, besides what Jinja's ImmutableSandboxedEnvironment already refuses
# (attributes starting with "_", Python internals, changing lists and dicts):
# - other templates and files: no loader; {% include %}, {% import %} and {% extends %} are
#   refused when the template is parsed;
# - memory: `*`, `**`, `+` and `%` are checked before they run ('a' * 10**9, 9**9**9,
#   '%0999999999d' % 1), and so is every value a template builds (lists, `~`, macro and
#   block output, filter results), measured as written out (template_limits.weight);
# - time: every loop iteration, call, filter, operator and output chunk checks the deadline;
# - str methods that build strings of a size given as a number (center, ljust, zfill…) or that
#   bypass these checks (format, join, replace) are unavailable; the filters of the same
#   names check their arguments instead.

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes, pass_context
from jinja2.environment import Template
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.utils import Namespace, missing
from jinja2.visitor import NodeTransformer
from markupsafe import Markup, soft_str

from postroom.services.template_filters import FILTERS
from postroom.services.template_limits import (
    MAX_INT_BITS,
    TemplateLimitError,
    check_value,
    current,
    weight,
)
from postroom.services.template_safe_filters import REPLACED_FILTERS, check_format, guarded_filter

LOOP_GUARD = "postroom_loop_guard"
VALUE_GUARD = "postroom_value_guard"
HTML_PART = "html"  # the only part that is autoescaped: subject and text are not HTML
_STR_METHODS_REFUSED = frozenset(
    {"format", "format_map", "center", "ljust", "rjust", "zfill", "expandtabs"}
    | {"join", "replace", "translate", "maketrans", "encode"}
)
_OTHER_TEMPLATES = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


class MissingVariableError(UndefinedError):
    """A variable (or an attribute of one) the template uses has no value."""

    def __init__(self, message: str | None = None, *, name: str, top_level: bool) -> None:
        super().__init__(message)
        self.name = name
        self.top_level = top_level


class _Strict(StrictUndefined):
    """StrictUndefined whose error names the variable, so it can be reported, not guessed
    from the message. The sandbox's "unsafe attribute" undefined keeps its SecurityError."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[Exception] = UndefinedError,
    ) -> None:
        if exc is UndefinedError:
            exc = functools.partial(  # type: ignore[assignment]
                MissingVariableError, name=str(name), top_level=obj is missing
            )
        super().__init__(hint, obj, name, exc)  # type: ignore[arg-type]


def _check_int(value: object) -> None:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError("number", f"A number larger than {MAX_INT_BITS} bits.")


def _check_binop(operator: str, left: Any, right: Any) -> None:
    check_value(left)
    check_value(right)
    if operator == "**" and isinstance(left, int) and isinstance(right, int):
        if right > 0 and abs(left) > 1 and abs(left).bit_length() * right > MAX_INT_BITS:
            raise TemplateLimitError("number", f"A power larger than {MAX_INT_BITS} bits.")
    elif operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise TemplateLimitError("number", f"A product larger than {MAX_INT_BITS} bits.")
        elif isinstance(right, int) and isinstance(left, str | list | tuple):
            current().check_size(weight(left, current()) * max(0, right))
        elif isinstance(left, int) and isinstance(right, str | list | tuple):
            current().check_size(weight(right, current()) * max(0, left))
    elif operator == "%" and isinstance(left, str):
        check_format(left)


def checked_concat(parts: Iterable[str]) -> str:
    """ "".join for macro, block and {% set %} output, refusing it once too large."""
    state, pieces, total = current(), [], 0
    for piece in parts:
        total += len(piece)
        state.check_size(total)
        pieces.append(piece)
    return "".join(pieces)


def _checked_str_join(seq: Iterable[Any]) -> str:
    """`a ~ b` outside autoescaping."""
    parts = []
    for value in seq:
        check_value(value)
        parts.append(str(value))
    return checked_concat(parts)


def _checked_markup_join(seq: Iterable[Any]) -> str:
    """`a ~ b` with autoescaping: escaped unless a part is already markup."""
    parts = []
    for value in seq:
        check_value(value)
        parts.append(soft_str(value))
    if any(hasattr(part, "__html__") for part in parts):
        joined = Markup("").join(parts)
        current().check_size(len(joined))
        return joined
    return checked_concat(parts)


@pass_context
def _loop_guard(_context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    state = current()
    for item in iterable:
        state.tick()
        yield item


@pass_context
def _value_guard(_context: Context, value: Any) -> Any:
    check_value(value)
    return value


def _finalize(value: Any) -> Any:
    current().tick()
    check_value(value)
    return value


class _Guards(NodeTransformer):
    """Wrap every loop's iterable and every list, tuple and dict literal in a guard filter."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802  (NodeVisitor's naming)
        node = self.generic_visit(node)  # type: ignore[assignment]
        node.iter = nodes.Filter(node.iter, LOOP_GUARD, [], [], None, None, lineno=node.lineno)
        return node

    def _literal(self, node: nodes.Expr) -> nodes.Node:
        node = self.generic_visit(node)  # type: ignore[assignment]
        if getattr(node, "ctx", "load") != "load":  # an assignment target: (a, b) = …
            return node
        return nodes.Filter(node, VALUE_GUARD, [], [], None, None, lineno=node.lineno)

    visit_List = visit_Tuple = visit_Dict = _literal  # noqa: N815


class TemplateEnvironment(ImmutableSandboxedEnvironment):
    """One per process; templates come only from strings (compile_part), never from files."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})
    concat = staticmethod(checked_concat)

    def __init__(self) -> None:
        super().__init__(
            undefined=_Strict,
            autoescape=lambda name: name == HTML_PART,
            finalize=_finalize,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # No lipsum, cycler or joiner: nothing a message needs, and more objects to probe.
        self.globals = {"range": safe_range, "dict": dict, "namespace": Namespace}
        self.filters.update(REPLACED_FILTERS)
        self.filters.update(FILTERS)
        self.filters = {name: guarded_filter(name, func) for name, func in self.filters.items()}
        self.filters[LOOP_GUARD] = _loop_guard
        self.filters[VALUE_GUARD] = _value_guard

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for node in tree.find_all(_OTHER_TEMPLATES):
            raise TemplateSyntaxError(
                "A template cannot include, import or extend other templates.",
                node.lineno,
                name,
                filename,
            )
        guarded: nodes.Template = _Guards().visit(tree)
        return guarded

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str | bytes) and attr in _STR_METHODS_REFUSED:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # `x._name` is refused even where it would only read a dict key: a template has no
        # business with private names, and x["_name"] still reads such a key as data.
        if attribute.startswith("_"):
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is refused by is_safe_attribute instead of sandboxed

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        current().tick()
        for value in (*args, *kwargs.values()):
            check_value(value)
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        current().tick()
        _check_binop(operator, left, right)
        result = super().call_binop(context, operator, left, right)
        _check_int(result)
        check_value(result)
        return result


@functools.cache
def environment() -> TemplateEnvironment:
    return TemplateEnvironment()


def parse_part(source: str, part: str) -> nodes.Template:
    """The syntax tree, guards inserted; errors name `<part>` as the file (see template_render)."""
    return environment().parse(source, name=part, filename=f"<{part}>")


def compile_tree(tree: nodes.Template, part: str) -> Template:
    """A template from a tree parse_part made (never from a file)."""
    env = environment()
    code = env.compile(tree, name=part, filename=f"<{part}>")
    template = env.template_class.from_code(env, code, env.make_globals(None))
    # `~` is compiled to calls of these module-level helpers of the generated code.
    namespace = template.root_render_func.__globals__
    namespace["str_join"] = _checked_str_join
    namespace["markup_join"] = _checked_markup_join
    return template
