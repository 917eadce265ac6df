"""The sandbox: every classic way out of a Jinja2 template, and every way to exhaust the server,
is refused as a template_error naming the part and the line."""

from __future__ import annotations

import pytest

from postroom.services.template_render import (
    RenderLimits,
    TemplateRenderError,
    compile_sources,
    render,
)

# A short time limit keeps the refused loops short; no test looks at how long anything took.
FAST = RenderLimits(timeout_seconds=0.3, max_output_chars=100_000)
SECRET_HOLDER = {"_secret": "hidden"}

ESCAPES = [
    # Python internals: classes, globals, the template's own context.
    ("{{ ''.__class__.__mro__ }}", "unsafe"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
    # No cycler, joiner or lipsum at all: what is left of the expression is refused either way.
    ("{{ cycler.__init__.__globals__ }}", "unsafe|undefined_variable"),
    ("{{ joiner.__init__.__globals__.os }}", "unsafe|undefined_variable"),
    ("{{ lipsum.__globals__['os'].popen('id').read() }}", "unsafe|undefined_variable"),
    ("{{ namespace.__init__.__globals__ }}", "unsafe"),
    ("{{ range.__self__ }}", "unsafe|undefined_variable"),
    ("{{ dict.__base__.__subclasses__() }}", "unsafe"),
    ("{{ self._TemplateReference__context }}", "unsafe"),
    ("{{ self.__init__.__globals__ }}", "unsafe"),
    ("{{ (1).__class__.__base__.__subclasses__() }}", "unsafe"),
    ("{% for x in 'ab' %}{{ loop.__class__ }}{% endfor %}", "unsafe"),
    ("{{ row._secret }}", "unsafe"),  # `_` names, even a dict key read as an attribute
    ("{{ row|attr('_secret') }}", "unsafe|undefined_variable"),  # never the key's value
    ("{{ row.__getitem__('_secret') }}", "unsafe"),
    # Changing data, formatting tricks.
    ("{{ row.pop('_secret') }}", "unsafe"),
    ("{{ '{0.__class__}'.format(row) }}", "unsafe"),
    ("{{ '{:>999999999}'.format(1) }}", "unsafe"),
    ("{{ 'a'.ljust(10**9) }}", "unsafe"),
    ("{{ ','.join(['a'] * 10) }}", "unsafe"),
    # Other templates and files: there is no loader, and the tags are refused.
    ("{% include '/etc/passwd' %}", "syntax_error"),
    ("{% import 'macros.html' as m %}", "syntax_error"),
    ("{% from 'x' import y %}", "syntax_error"),
    ("{% extends 'base.html' %}", "syntax_error"),
    # Memory: sizes are checked before the value is built.
    ("{{ range(10**9)|list }}", "too_large"),
    ("{{ 'a' * 10**9 }}", "too_large"),
    ("{{ ['a'] * 10**9 }}", "too_large"),
    ("{{ 10 ** 100000 }}", "too_large"),
    ("{{ '%0999999999d' % 1 }}", "too_large"),
    ("{{ '%*d'|format(10**9, 1) }}", "too_large"),
    ("{{ 'a'|center(10**9) }}", "too_large"),
    ("{{ 'a'|indent(10**9) }}", "too_large"),
    ("{{ {'a': 1}|tojson(10**9) }}", "too_large"),
    ("{{ [1]|slice(10**9)|list }}", "too_large"),
    ("{{ [1]|batch(10**9, 0)|list }}", "too_large"),
    ("{{ 'x'|wordwrap(1, wrapstring='y' * 10**6) }}", "too_large"),
    ("{{ ('a' * 99999)|replace('', 'xx') }}", "too_large"),
    ("{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}{{ ns.s|length }}", "too_large"),
    ("{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}"
     "{% endfor %}{{ ns.l }}", "too_large"),
    ("{% set n = namespace(x=3) %}{% for i in range(20) %}{% set n.x = n.x * n.x %}"
     "{% endfor %}{{ n.x }}", "too_large"),
    ("{% set big = 'a' * 90000 %}{% set x %}{% for i in range(100) %}{{ big }}{% endfor %}"
     "{% endset %}{{ x|length }}", "too_large"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "too_large"),
    # Filters whose work grows faster than their input take a bounded input.
    ("{{ ('<a>' * 40000)|striptags }}", "too_large"),
    ("{{ ('a ' * 60000)|urlize }}", "too_large"),
    ("{{ ('a' * 200000)|list|sort|length }}", "too_large"),
    # Time: loops and recursion that write nothing still meet the deadline.
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "too_slow"),
    ("{% macro m(n) %}{% if n %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(60) }}",
     "too_slow"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "reason"), ESCAPES)
def test_escape_or_exhaustion_is_refused(source: str, reason: str) -> None:
    body = f"<p>Line one</p>\n{source}"
    with pytest.raises(TemplateRenderError) as caught:
        render(compile_sources("Subject", body, "", limits=FAST), {"row": SECRET_HOLDER})
    error = caught.value
    assert error.code == "template_error"
    assert error.reason in reason.split("|"), error.message
    assert error.part == "html"
    assert error.line == 2, error.message
    assert error.message.startswith("Line 2 of the HTML body"), error.message
    assert "hidden" not in error.message


@pytest.mark.parametrize("part", ["subject", "text"])
def test_the_subject_and_text_are_sandboxed_too(part: str) -> None:
    sources = {"subject": "S", "html": "", "text": "Body"}
    sources[part] = "{{ ''.__class__ }}"
    with pytest.raises(TemplateRenderError) as caught:
        render(compile_sources(**sources, limits=FAST), {})
    assert (caught.value.part, caught.value.reason) == (part, "unsafe")


def test_ordinary_templates_still_have_loops_macros_and_filters() -> None:
    source = (
        "{% macro row(item) %}{{ item.name|upper }}={{ item.price|money }}{% endmacro %}"
        "{% for item in items %}{{ loop.index }}. {{ row(item) }}\n{% endfor %}"
        "{{ items|map(attribute='name')|join(', ') }}; {{ '%05.1f'|format(3.14159) }}; "
        "{{ (items|length) * 2 }}; {{ 'ab' * 2 }}; {{ 2 ** 10 }}; {{ [1, 2] + [3] }}"
    )
    items = [{"name": "usługa", "price": 100}, {"name": "towar", "price": 20.5}]
    text = render(compile_sources("S", "", source), {"items": items}).text
    assert text == (
        "1. USŁUGA=100,00\xa0zł\n2. TOWAR=20,50\xa0zł\n"
        "usługa, towar; 003.1; 4; abab; 1024; [1, 2, 3]"
    )


def test_the_output_limit_counts_all_parts_together() -> None:
    limits = RenderLimits(timeout_seconds=5, max_output_chars=10_000)
    half = "{{ 'x' * 6000 }}"
    render(compile_sources("S", half, "", limits=limits), {})  # one part fits
    with pytest.raises(TemplateRenderError) as caught:
        render(compile_sources("S", half, half, limits=limits), {})
    assert (caught.value.part, caught.value.reason) == ("text", "too_large")
