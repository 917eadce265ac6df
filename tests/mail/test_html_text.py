"""The text part made from HTML: one case per construct a message body uses."""

from __future__ import annotations

import pytest

from postroom.mail.html_text import html_to_text

CASES = [
    pytest.param(
        "<p>Dzień dobry,</p><p>w załączniku faktura.</p>",
        "Dzień dobry,\n\nw załączniku faktura.",
        id="paragraphs",
    ),
    pytest.param(
        "Termin:<br>14 dni<br/>od dziś",
        "Termin:\n14 dni\nod dziś",
        id="line breaks",
    ),
    pytest.param(
        "a<br><br>b",
        "a\n\nb",
        id="two breaks make a blank line",
    ),
    pytest.param(
        "  Faktura \n\t nr   1/2026  ",
        "Faktura nr 1/2026",
        id="white space collapses",
    ),
    pytest.param(
        "100&nbsp;z&#322; &amp; VAT &lt;23%&gt;",
        "100 zł & VAT <23%>",
        id="entities",
    ),
    pytest.param(
        '<a href="https://alfa.example.test/f/1">Pobierz fakturę</a>',
        "Pobierz fakturę (https://alfa.example.test/f/1)",
        id="link",
    ),
    pytest.param(
        '<a href="https://www.alfa.example.test/">www.alfa.example.test</a>',
        "www.alfa.example.test",
        id="link showing its address",
    ),
    pytest.param(
        '<a href="mailto:biuro@alfa.example.test?subject=x">Napisz</a>',
        "Napisz (biuro@alfa.example.test)",
        id="mail link",
    ),
    pytest.param(
        '<a href="https://alfa.example.test/"></a>',
        "https://alfa.example.test/",
        id="link without text",
    ),
    pytest.param(
        '<a href="#top">Do góry</a> <a href="javascript:x()">X</a>',
        "Do góry X",
        id="anchor and script links",
    ),
    pytest.param(
        '<a href="https://alfa.example.test"><img src="l.png" alt="Logo Alfa"></a>',
        "Logo Alfa (https://alfa.example.test)",
        id="image link",
    ),
    pytest.param(
        "<ul><li>netto</li><li>VAT</li></ul>",
        "- netto\n- VAT",
        id="bullets",
    ),
    pytest.param(
        "<ol><li>Pobierz</li><li>Zapłać</li></ol>",
        "1. Pobierz\n2. Zapłać",
        id="numbers",
    ),
    pytest.param(
        "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>",
        "- a\n   - b\n- c",
        id="nested list",
    ),
    pytest.param(
        "<p>Przed</p><ul><li>x</li></ul><p>Po</p>",
        "Przed\n\n- x\n\nPo",
        id="list between paragraphs",
    ),
    pytest.param(
        "<h1>Faktura</h1><p>Treść</p>",
        "Faktura\n\nTreść",
        id="headings",
    ),
    pytest.param(
        "<blockquote>Pytanie<br>klienta</blockquote>Odpowiedź",
        "> Pytanie\n> klienta\n\nOdpowiedź",
        id="quote",
    ),
    pytest.param(
        "<pre>\nKwota   100,00\nVAT      23,00</pre>",
        "Kwota   100,00\nVAT      23,00",
        id="preformatted",
    ),
    pytest.param(
        "<table><tr><th>Pozycja</th><th>Kwota</th></tr>"
        "<tr><td>Usługa</td><td></td><td>100 zł</td></tr></table>",
        "Pozycja | Kwota\nUsługa | 100 zł",
        id="table",
    ),
    pytest.param(
        "<html><head><title>T</title><style>p{color:red}</style></head><body><script>alert(1)</script><p>Widoczne</p></body></html>",
        "Widoczne",
        id="hidden content",
    ),
    pytest.param(
        "<div>Jan Nowak</div><div>Księgowość</div>",
        "Jan Nowak\nKsięgowość",
        id="divs",
    ),
    pytest.param(
        "<p>a</p><hr><p>b</p>",
        "a\n\n--------------------\n\nb",
        id="rule",
    ),
    pytest.param(
        "",
        "",
        id="empty",
    ),
    pytest.param(
        "<div><p></p></div>",
        "",
        id="only markup",
    ),
]


@pytest.mark.parametrize(("html", "text"), CASES)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_unclosed_and_stray_tags_do_not_break_it() -> None:
    # As a browser shows it: "c" still belongs to the unclosed list item.
    assert html_to_text("<li>a<li>b</p></div><b>c") == "- a\n- b\n\n   c"
