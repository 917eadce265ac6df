"""Rendering: escaping per part, sanitizing, the text part, the subject rule, the missing-variable
report for rows, and the money and date filters."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from postroom.enums import Language
from postroom.services.template_render import (
    RowProblem,
    TemplateRenderError,
    check_rows,
    compile_sources,
    render,
)
from tests.templates.support import INVOICE_HTML, INVOICE_ROW, INVOICE_SUBJECT

NBSP = "\xa0"


def test_an_invoice_renders_with_escaping_in_html_only() -> None:
    compiled = compile_sources(INVOICE_SUBJECT, INVOICE_HTML, "")
    row = {**INVOICE_ROW, "client": {"name": "A & <B>", "nip": "1"}}
    message = render(compiled, row)
    assert message.subject == "Faktura FV/7/2026 dla A & <B>"  # a header: not HTML
    assert "A &amp; &lt;B&gt;" not in message.subject
    assert "<b>FV/7/2026</b>" in message.html
    assert "1&nbsp;234,56&nbsp;zł" in message.html  # no-break spaces, as entities in HTML
    assert "23.11.2026" in message.html
    # No text body: made from the HTML.
    assert "w załączeniu faktura FV/7/2026 na kwotę 1 234,56 zł." in message.text.replace(NBSP, " ")
    assert compiled.variables == ("amount", "client", "due", "invoice_no")


def test_a_text_body_is_not_escaped_and_wins_over_the_html() -> None:
    compiled = compile_sources("S", "<p>{{ name }}</p>", "Dear {{ name }},\nbye")
    message = render(compiled, {"name": "Tom & <Jerry>"})
    assert message.text == "Dear Tom & <Jerry>,\nbye"
    assert message.html == "<p>Tom &amp; &lt;Jerry&gt;</p>"


def test_html_is_sanitized_after_rendering() -> None:
    source = '<p onclick="x()">Hi</p><script>alert(1)</script>{{ extra|safe }}'
    html = render(compile_sources("S", source, ""), {"extra": "<img src=x onerror=alert(2)>"}).html
    assert "<script" not in html
    assert "onclick" not in html
    assert "onerror" not in html
    assert "<p>Hi</p>" in html


@pytest.mark.parametrize("value", ["a\r\nBcc: x@example.com", "a\nb", "a\x00b"])
def test_a_rendered_subject_with_a_line_break_is_refused(value: str) -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render(compile_sources("Re: {{ v }}", "", "Body"), {"v": value})
    assert (caught.value.part, caught.value.reason) == ("subject", "bad_subject")
    assert caught.value.problems[0].field == "subject"


def test_a_syntax_error_names_the_part_and_the_line() -> None:
    with pytest.raises(TemplateRenderError) as caught:
        compile_sources("S", "<p>a</p>\n<p>b</p>\n{% if x %}\n<p>never closed</p>", "")
    error = caught.value
    assert (error.part, error.reason) == ("html", "syntax_error")
    assert error.line is not None and error.line >= 3
    assert error.message.startswith(f"Line {error.line} of the HTML body:")


def test_a_missing_variable_names_the_line_and_the_variable() -> None:
    compiled = compile_sources(INVOICE_SUBJECT, INVOICE_HTML, "")
    row = {**INVOICE_ROW, "client": {"name": "Gamma"}}  # no nip
    with pytest.raises(TemplateRenderError) as caught:
        render(compiled, row)
    error = caught.value
    assert (error.part, error.line, error.variable) == ("html", 3, "client.nip")
    assert error.message == "Line 3 of the HTML body: the variable 'client.nip' has no value."
    assert error.problems[0].field == "html"
    assert error.problems[0].code == "undefined_variable"


def test_a_variable_tested_with_is_defined_or_default_may_be_missing() -> None:
    source = "{% if discount is defined %}-{{ discount }}%{% endif %}{{ note|default('') }}ok"
    assert render(compile_sources("S", "", source), {}).text == "ok"


def test_check_rows_reports_each_missing_variable_of_each_row() -> None:
    compiled = compile_sources(INVOICE_SUBJECT, INVOICE_HTML, "Kwota: {{ amount }}")

    def rows() -> Any:  # a generator: rows are read one at a time
        yield 1, INVOICE_ROW
        yield 2, {k: v for k, v in INVOICE_ROW.items() if k != "amount"}
        yield 3, {"invoice_no": "FV/9"}
        yield 4, {**INVOICE_ROW, "client": {"name": "Delta"}}
        yield 5, INVOICE_ROW

    problems = check_rows(compiled, rows())
    found = [(p.row_number, p.variable, p.part, p.line) for p in problems]
    assert found == [
        (2, "amount", "html", 2),
        (3, "client", "subject", 1),
        (3, "amount", "html", 2),
        (3, "due", "html", 3),
        (4, "client.nip", "html", 3),
    ]
    assert problems[0] == RowProblem(
        2, "amount", 2, "Line 2 of the HTML body: the variable 'amount' has no value.", "html"
    )


def test_check_rows_reports_other_errors_without_a_variable() -> None:
    compiled = compile_sources("S", "{{ amount|money }}", "")
    problems = check_rows(compiled, [(1, {"amount": "12,50"}), (2, {"amount": "dużo"})])
    assert [(p.row_number, p.variable, p.part) for p in problems] == [(2, None, "html")]
    assert "'dużo' is not an amount" in problems[0].message


def test_check_rows_finds_a_line_break_put_into_the_subject() -> None:
    compiled = compile_sources("Re: {{ v }}", "", "x")
    problems = check_rows(compiled, [(7, {"v": "a\nBcc: x@example.com"})])
    assert [(p.row_number, p.part, p.variable) for p in problems] == [(7, "subject", None)]


@pytest.mark.parametrize(
    ("value", "arguments", "language", "expected"),
    [
        (1234.56, "'PLN'", Language.PL, f"1{NBSP}234,56{NBSP}zł"),
        ("1234.56", "", Language.PL, f"1{NBSP}234,56{NBSP}zł"),
        ("1 234,56", "", Language.PL, f"1{NBSP}234,56{NBSP}zł"),
        ("1,234.56", "", Language.PL, f"1{NBSP}234,56{NBSP}zł"),
        (Decimal("0.005"), "", Language.PL, f"0,01{NBSP}zł"),  # half up, like an invoice
        (-1234567, "'EUR'", Language.PL, f"-1{NBSP}234{NBSP}567,00{NBSP}€"),
        (99, "'USD'", Language.PL, f"99,00{NBSP}USD"),
        (1234.5, "'PLN'", Language.EN, f"PLN{NBSP}1,234.50"),
        (1234.5, "'EUR'", Language.EN, "€1,234.50"),
        (-5, "'USD'", Language.EN, "-$5.00"),
        (1234.5, "'EUR', locale='en'", Language.PL, "€1,234.50"),
        (1234.5, "'', decimals=0", Language.PL, f"1{NBSP}235"),
    ],
)
def test_money(value: Any, arguments: str, language: Language, expected: str) -> None:
    compiled = compile_sources("S", "", f"{{{{ v|money({arguments}) }}}}", language=language)
    assert render(compiled, {"v": value}).text == expected


@pytest.mark.parametrize(
    ("value", "source", "language", "expected"),
    [
        ("2026-11-23", "v|date", Language.PL, "23.11.2026"),
        ("23.11.2026", "v|date", Language.PL, "23.11.2026"),
        (date(2026, 3, 5), "v|date", Language.PL, "05.03.2026"),
        (datetime(2026, 11, 23, 9, 30), "v|date('long')", Language.PL, "23 listopada 2026"),
        ("2026-11-23T09:30:00+01:00", "v|date", Language.EN, "23 Nov 2026"),
        ("2026-11-23", "v|date('long')", Language.EN, "23 November 2026"),
        ("2026-11-23", "v|date('long', locale='en')", Language.PL, "23 November 2026"),
        ("2026-11-23", "v|date('iso')", Language.PL, "2026-11-23"),
        (1234.5, "v|number", Language.PL, f"1{NBSP}234,50"),
        (1234.5, "v|number(1)", Language.EN, "1,234.5"),
    ],
)
def test_dates_and_numbers(value: Any, source: str, language: Language, expected: str) -> None:
    compiled = compile_sources("S", "", f"{{{{ {source} }}}}", language=language)
    assert render(compiled, {"v": value}).text == expected


@pytest.mark.parametrize(
    ("source", "value", "words"),
    [
        ("v|money", "abc", "is not an amount"),
        ("v|money", True, "not an amount"),
        ("v|money('ZŁOTE')", 1, "is not a currency code"),
        ("v|money(locale='de')", 1, "unknown locale"),
        ("v|date", "jutro", "is not a date"),
        ("v|date('medium')", "2026-01-01", "unknown date format"),
    ],
)
def test_filter_misuse_is_a_template_error(source: str, value: Any, words: str) -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render(compile_sources("S", "", f"x\n{{{{ {source} }}}}"), {"v": value})
    assert (caught.value.line, caught.value.reason) == (2, "render_failed")
    assert words in caught.value.message


def test_a_missing_variable_given_to_a_filter_is_reported_as_missing() -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render(compile_sources("S", "", "{{ amount|money }}"), {})
    assert (caught.value.variable, caught.value.reason) == ("amount", "undefined_variable")
