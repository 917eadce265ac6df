"""Rendering company templates: compile a version once, render it for each recipient, and find
the rows that cannot be rendered before anything is sent."""

# Three parts: the subject and the text body as plain text, the HTML body autoescaped and then
# sanitized (mail/html.py); a text body left empty is made from the HTML. A missing variable is
# an error naming the part, the line and the variable, never a blank in a sent document.

from __future__ import annotations

import functools
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.environment import Template
from jinja2.exceptions import SecurityError

from postroom.config import Settings
from postroom.db.models_campaigns import TemplateVersion
from postroom.enums import Language
from postroom.errors import FieldProblem, ValidationError
from postroom.mail.html import sanitize_html
from postroom.mail.html_text import html_to_text
from postroom.services.template_limits import (
    RenderLimits,
    TemplateLimitError,
    current,
    rendering,
)
from postroom.services.template_sandbox import MissingVariableError, compile_tree, parse_part

PARTS = ("subject", "html", "text")
PART_NAMES = {"subject": "the subject", "html": "the HTML body", "text": "the text body"}
# The largest source of one part; a subject is one line.
MAX_SOURCE_CHARS = {"subject": 2000, "html": 512 * 1024, "text": 512 * 1024}
# Missing variables reported per row and part before the row is given up on.
_MAX_MISSING_PER_PART = 20
DEFAULT_LIMITS = RenderLimits()  # 2 s, 1,000,000 characters: see limits_from(settings)
_LIMIT_REASONS = {"time": "too_slow", "size": "too_large", "number": "too_large"}
__all__ = [
    "CompiledTemplate",
    "RenderLimits",
    "RenderedMessage",
    "RowProblem",
    "TemplateRenderError",
    "check_rows",
    "compile_sources",
    "compile_version",
    "limits_from",
    "render",
]


class TemplateRenderError(ValidationError):
    """A template that cannot be compiled or rendered: its syntax, a missing variable, a refused
    escape from the sandbox, or a time or size limit. `part`, `line` and `variable` say where
    (each may be None); `reason` is a stable word: syntax_error, undefined_variable, unsafe,
    too_slow, too_large, bad_subject, render_failed. `message` says it all in English."""

    code = "template_error"

    def __init__(
        self,
        message: str,
        *,
        part: str | None = None,
        line: int | None = None,
        variable: str | None = None,
        reason: str = "render_failed",
        top_level: bool = False,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, [FieldProblem(part or "template", message, reason)])
        self.detail = detail or message  # what is wrong, without where (for translated pages)
        self.part = part
        self.line = line
        self.variable = variable
        self.reason = reason
        self.top_level = top_level  # a variable of its own, not an attribute of another


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    html: str  # sanitized; "" when the template has no HTML body
    text: str  # as written, or made from the HTML when the template's text body is empty


@dataclass(frozen=True)
class RowProblem:
    """A row that cannot be rendered; `variable` is set when a variable has no value."""

    row_number: int
    variable: str | None
    line: int | None
    message: str
    part: str | None = None


@dataclass(frozen=True, eq=False)
class CompiledTemplate:
    """Parsed once, rendered for any number of rows (safe to share between threads)."""

    templates: Mapping[str, Template]  # only the parts that are not empty
    variables: tuple[str, ...]  # every variable the parts use, sorted
    language: Language = Language.PL
    limits: RenderLimits = DEFAULT_LIMITS
    version_id: int | None = None
    version: int | None = None
    # (line, attribute) -> "client.nip": names an attribute that is missing the way it is written.
    paths: Mapping[str, Mapping[tuple[int, str], str]] = field(default_factory=dict)


def limits_from(settings: Settings) -> RenderLimits:
    return RenderLimits(
        timeout_seconds=settings.template_render_timeout_seconds,
        max_output_chars=settings.template_max_output_chars,
    )


def _where(part: str, line: int | None) -> str:
    name = PART_NAMES.get(part, part)
    return f"Line {line} of {name}" if line else name[0].upper() + name[1:]


def _dotted(node: nodes.Node | None) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Filter) and node.name.startswith("postroom_"):
        return _dotted(node.node)
    if isinstance(node, nodes.Getattr):
        parent = _dotted(node.node)
        return f"{parent}.{node.attr}" if parent else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        parent = _dotted(node.node)
        return f"{parent}.{node.arg.value}" if parent else None
    return None


def _attribute_paths(tree: nodes.Template) -> dict[tuple[int, str], str]:
    found: dict[tuple[int, str], str] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else None
        if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            name = str(node.arg.value)
        path = _dotted(node)
        if name is not None and path is not None:
            found.setdefault((node.lineno, name), path)
    return found


def _compile_part(source: str, part: str) -> tuple[Template, set[str], dict[Any, str]]:
    if len(source) > MAX_SOURCE_CHARS[part]:
        raise TemplateRenderError(
            f"{_where(part, None)} is longer than {MAX_SOURCE_CHARS[part]} characters.",
            part=part,
            reason="too_large",
        )
    try:
        tree = parse_part(source, part)
        # Read before compiling: the compiler's optimizer may rewrite parts of the tree.
        variables, paths = meta.find_undeclared_variables(tree), _attribute_paths(tree)
        template = compile_tree(tree, part)
    except TemplateSyntaxError as exc:
        message = f"{_where(part, exc.lineno)}: {exc.message}"
        raise TemplateRenderError(
            message, part=part, line=exc.lineno, reason="syntax_error", detail=exc.message
        ) from None
    except RecursionError:
        raise TemplateRenderError(
            f"{_where(part, None)} is nested too deeply.", part=part, reason="syntax_error"
        ) from None
    return template, variables, paths


@dataclass(frozen=True, eq=False)
class _Parts:
    templates: Mapping[str, Template]
    variables: tuple[str, ...]
    paths: Mapping[str, Mapping[tuple[int, str], str]]


def _compile_parts(subject: str, html: str, text: str) -> _Parts:
    templates, variables, paths = {}, set(), {}
    for part, source in zip(PARTS, (subject, html, text), strict=True):
        if source.strip():
            templates[part], found, paths[part] = _compile_part(source, part)
            variables |= found
    return _Parts(
        types.MappingProxyType(templates),
        tuple(sorted(variables)),
        types.MappingProxyType(paths),
    )


# A campaign compiles its version for each batch of rows it queues, and a compile takes
# milliseconds: recent ones are kept. Only templates of ordinary size, so that the cache stays
# small whatever is written.
_cached_parts = functools.lru_cache(maxsize=32)(_compile_parts)
_CACHED_SOURCE_CHARS = 64 * 1024


def compile_sources(
    subject: str,
    html: str,
    text: str,
    *,
    language: Language = Language.PL,
    limits: RenderLimits = DEFAULT_LIMITS,
    version_id: int | None = None,
    version: int | None = None,
) -> CompiledTemplate:
    """Compile the three parts; a syntax error is a TemplateRenderError naming part and line."""
    small = len(subject) + len(html) + len(text) <= _CACHED_SOURCE_CHARS
    parts = (_cached_parts if small else _compile_parts)(subject, html, text)
    return CompiledTemplate(
        templates=parts.templates,
        variables=parts.variables,
        language=language,
        limits=limits,
        version_id=version_id,
        version=version,
        paths=parts.paths,
    )


def compile_version(
    version: TemplateVersion,
    *,
    language: Language = Language.PL,
    limits: RenderLimits = DEFAULT_LIMITS,
) -> CompiledTemplate:
    """Parse a saved version once, to render it for thousands of rows. `limits`: see
    limits_from(settings); `language`: the default locale of the money and date filters."""
    return compile_sources(
        version.subject,
        version.html,
        version.text,
        language=language,
        limits=limits,
        version_id=version.id,
        version=version.version,
    )


def _template_line(exc: BaseException, part: str) -> int | None:
    """The template line being run when `exc` was raised: Jinja rewrites tracebacks so that
    the frames of template code carry the template's file name and line numbers."""
    filename, line, trace = f"<{part}>", None, exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == filename:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _explained(exc: Exception, compiled: CompiledTemplate, part: str) -> TemplateRenderError:
    line = _template_line(exc, part)
    if isinstance(exc, MissingVariableError):
        name = exc.name
        if not exc.top_level and line is not None:
            name = compiled.paths.get(part, {}).get((line, exc.name), exc.name)
        return TemplateRenderError(
            f"{_where(part, line)}: the variable {name!r} has no value.",
            part=part,
            line=line,
            variable=name,
            reason="undefined_variable",
            top_level=exc.top_level,
        )
    reason, detail = _reason_of(exc)
    message = f"{_where(part, line)}: {detail}"
    return TemplateRenderError(message, part=part, line=line, reason=reason, detail=detail)


def _reason_of(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, SecurityError):
        return "unsafe", f"{exc} Templates cannot reach Python internals."
    if isinstance(exc, TemplateLimitError):
        return _LIMIT_REASONS[exc.limit], exc.message
    if isinstance(exc, RecursionError):
        return "too_large", "macros call each other too deeply."
    if isinstance(exc, OverflowError | MemoryError):
        return "too_large", f"a value is too large ({exc})."
    return "render_failed", str(exc)


def _render_part(compiled: CompiledTemplate, part: str, variables: Mapping[str, Any]) -> str:
    template = compiled.templates.get(part)
    if template is None:
        return ""
    state, chunks = current(), []
    try:
        for chunk in template.generate(variables):
            state.add_output(len(chunk))
            chunks.append(chunk)
    except Exception as exc:  # anything a template does wrong is the template's error
        raise _explained(exc, compiled, part) from None
    return "".join(chunks)


def _checked_subject(subject: str) -> str:
    # A subject becomes a header: a line break would start a header of the template's choosing.
    if any((ord(ch) < 32 and ch != "\t") or ord(ch) == 127 for ch in subject):
        raise TemplateRenderError(
            "The rendered subject contains a line break or another control character; "
            "check the variables used in the subject.",
            part="subject",
            reason="bad_subject",
        )
    return subject.strip()


def render(compiled: CompiledTemplate, variables: Mapping[str, Any]) -> RenderedMessage:
    """One message: subject, sanitized HTML, and text (made from the HTML if the template has
    none). Raises TemplateRenderError."""
    with rendering(compiled.limits, compiled.language):
        subject = _checked_subject(_render_part(compiled, "subject", variables))
        html = _render_part(compiled, "html", variables)
        text = _render_part(compiled, "text", variables)
    html = sanitize_html(html) if html.strip() else ""
    if not text.strip():
        text = html_to_text(html) if html else ""
    return RenderedMessage(subject=subject, html=html, text=text)


def _problem(row_number: int, error: TemplateRenderError) -> RowProblem:
    return RowProblem(row_number, error.variable, error.line, error.message, error.part)


def _part_problems(
    compiled: CompiledTemplate, part: str, row_number: int, values: dict[str, Any]
) -> list[RowProblem]:
    """Render one part again and again, giving each missing variable an empty stand-in, so
    one pass reports every missing variable of the part, each at its first line."""
    found: list[RowProblem] = []
    for _ in range(_MAX_MISSING_PER_PART):
        try:
            rendered = _render_part(compiled, part, values)
            if part == "subject":
                _checked_subject(rendered)
            return found
        except TemplateRenderError as exc:
            if exc.reason != "undefined_variable" and found:
                return found  # most likely the stand-in's doing: report the missing ones
            found.append(_problem(row_number, exc))
            if not (exc.top_level and exc.variable and exc.variable not in values):
                return found
            values[exc.variable] = ChainableUndefined(name=exc.variable)
    return found


def _row_problems(
    compiled: CompiledTemplate, row_number: int, variables: Mapping[str, Any]
) -> list[RowProblem]:
    values, problems, named = dict(variables), [], set()
    with rendering(compiled.limits, compiled.language):
        for part in PARTS:
            for problem in _part_problems(compiled, part, row_number, values):
                if problem.variable is None or problem.variable not in named:
                    problems.append(problem)
                    named.add(problem.variable)
    return problems


def check_rows(
    compiled: CompiledTemplate, rows: Iterable[tuple[int, Mapping[str, Any]]]
) -> list[RowProblem]:
    """Every row that would not render, with its row number; rows are read one at a time, so a
    generator of thousands of rows is never held in memory. Each missing variable of a row is
    reported once, at the first line that needs it."""
    problems: list[RowProblem] = []
    for row_number, variables in rows:
        problems += _row_problems(compiled, row_number, variables)
    return problems
