"""Received HTML cleaned for showing: one test per shape of active content or remote load."""

from __future__ import annotations

import pytest

from postroom.services.mail_html import PLACEHOLDER_IMAGE, display_html
from postroom.services.mail_parts import content_disposition, download_name


def clean(html: str, *, load: bool = False, inline: dict[str, str] | None = None) -> str:
    shown = display_html(html, load_remote_images=load, inline_image=(inline or {}).get)
    return shown.html


@pytest.mark.parametrize(
    ("html", "forbidden"),
    [
        ("<script>alert(1)</script>tekst", "alert"),
        ("<SCRIPT SRC=http://x.example/x.js></SCRIPT>tekst", "x.js"),
        ('<img src="x.png" onerror="alert(1)">', "onerror"),
        ('<body onload="alert(1)">tekst</body>', "onload"),
        ('<a href="javascript:alert(1)">klik</a>', "javascript"),
        ('<a href="JaVaScRiPt&#58;alert(1)">klik</a>', "alert"),
        ('<a href="java\tscript:alert(1)">klik</a>', "alert"),
        ('<a href="vbscript:msgbox(1)">klik</a>', "vbscript"),
        ('<a href="data:text/html,<script>alert(1)</script>">klik</a>', "data:"),
        ('<iframe src="http://x.example/"></iframe>', "iframe"),
        ('<iframe srcdoc="<script>alert(1)</script>"></iframe>', "srcdoc"),
        ('<object data="http://x.example/a.swf"></object>', "object"),
        ('<embed src="http://x.example/a.swf">', "embed"),
        ('<form action="http://x.example/"><input name="p"><button>OK</button></form>', "form"),
        ('<svg onload="alert(1)"><circle r="5"/></svg>', "svg"),
        ("<math><mtext><script>alert(1)</script></mtext></math>", "alert"),
        ('<meta http-equiv="refresh" content="0;url=http://x.example/">', "refresh"),
        ('<base href="http://x.example/">', "base"),
        ('<link rel="stylesheet" href="http://x.example/a.css">', "a.css"),
        ("<style>@import url(http://x.example/a.css);</style>", "import"),
        ('<div style="width: expression(alert(1))">x</div>', "expression"),
        ('<div style="background: u\\72l(http://x.example/a.png)">x</div>', "x.example"),
        ('<div style="background: /**/url(http://x.example/a.png)">x</div>', "x.example"),
        ('<div style="behavior: url(x.htc)">x</div>', "behavior"),
        ("<div style=\"background-image: image-set('http://x.example/a.png' 1x)\">x</div>", "x.ex"),
        ('<p style="position: fixed; top: 0">nakładka</p>', "position"),
        ('<img src="//x.example/track.gif">', "x.example"),
        ('<img src="/relative.gif">', "relative"),
        ('<img srcset="http://x.example/a.png 1x" src="data:image/gif;base64,R0lGOD">', "srcset"),
        ('<video poster="http://x.example/p.png"></video>', "poster"),
        ('<table background="http://x.example/t.png"><tr><td>x</td></tr></table>', "x.example"),
        ('<input type="image" src="http://x.example/i.png">', "x.example"),
        ("<textarea>tajne</textarea>", "tajne"),
        ('<!--[if gte mso 9]><img src="http://x.example/mso.png"><![endif]-->', "x.example"),
    ],
)
def test_active_content_and_hidden_loads_are_removed(html: str, forbidden: str) -> None:
    for load in (False, True):
        assert forbidden.lower() not in clean(html, load=load).lower()


def test_remote_images_become_placeholders_until_asked_for() -> None:
    html = (
        '<p>Oferta</p><img src="https://x.example/logo.png" width="120" alt="Logo">'
        '<img src="HTTP://X.EXAMPLE/PIXEL.GIF">'
        '<table><tr><td style="background: #fff url(http://x.example/bg.png); color: red">a'
        "</td></tr></table>"
    )
    blocked = display_html(html, load_remote_images=False, inline_image=lambda _: None)
    assert blocked.remote_images == 3
    assert blocked.html.count(f'src="{PLACEHOLDER_IMAGE}"') == 2
    assert 'width="120"' in blocked.html and 'alt="Logo"' in blocked.html  # layout is kept
    assert "x.example" not in blocked.html and "color:red" in blocked.html.replace(" ", "")

    shown = display_html(html, load_remote_images=True, inline_image=lambda _: None)
    assert shown.remote_images == 3 and shown.images_loaded
    assert 'src="https://x.example/logo.png"' in shown.html
    assert "http://x.example/bg.png" in shown.html


def test_cid_images_come_from_the_message_and_data_images_stay() -> None:
    uri = "data:image/png;base64,iVBORw0KGgo="
    html = (
        '<img src="cid:logo@firma.example"><img src="cid:%3Cstopka@firma.example%3E">'
        '<img src="cid:brak@firma.example"><img src="data:image/gif;base64,R0lGOD">'
    )
    shown = display_html(
        html,
        load_remote_images=False,
        inline_image={"logo@firma.example": uri, "stopka@firma.example": uri}.get,
    )
    assert shown.html.count(f'src="{uri}"') == 2
    assert shown.used_content_ids == {"logo@firma.example", "stopka@firma.example"}
    assert '<img src="data:image/gif;base64,R0lGOD">' in shown.html
    assert shown.html.count("<img>") == 1  # the missing part: an image without a source
    assert shown.remote_images == 0


def test_links_open_outside_the_frame_without_a_referrer() -> None:
    html = '<a href="https://bank.example/">bank</a> <a href="mailto:jan@klient.example">Jan</a>'
    cleaned = clean(html)
    assert '<a href="https://bank.example/" target="_blank" rel="noopener noreferrer">' in cleaned
    assert 'href="mailto:jan@klient.example"' in cleaned


def test_formatting_survives() -> None:
    html = (
        '<table bgcolor="#eeeeee" cellpadding="4"><tr><td align="right" '
        'style="font-weight: bold; color: #336699; padding: 4px">12,50 zł</td></tr></table>'
        '<font color="red" face="Arial">Uwaga</font><p><b>Zażółć</b> <i>gęślą</i></p>'
    )
    cleaned = clean(html)
    for kept in ('bgcolor="#eeeeee"', 'align="right"', "font-weight", "color:#336699",
                 '<font color="red" face="Arial">', "<b>Zażółć</b>", "12,50 zł"):  # fmt: skip
        assert kept in cleaned.replace(": ", ":"), kept


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        (
            "Faktura żółć 12.pdf",
            'attachment; filename="Faktura zolc 12.pdf"; '
            "filename*=UTF-8''Faktura%20%C5%BC%C3%B3%C5%82%C4%87%2012.pdf",
        ),
        ("Łódź.txt", "attachment; filename=\"Lodz.txt\"; filename*=UTF-8''%C5%81%C3%B3d%C5%BA.txt"),
        (
            'a"b\\c;d%e.txt',
            "attachment; filename=\"a_b_c_d_e.txt\"; filename*=UTF-8''a%22b_c%3Bd%25e.txt",
        ),
        (
            "raport\r\nSet-Cookie: x",
            'attachment; filename="raport_Set-Cookie: x"; '
            "filename*=UTF-8''raport_Set-Cookie%3A%20x",
        ),
    ],
)
def test_content_disposition_keeps_the_name_and_cannot_be_broken(
    filename: str, header: str
) -> None:
    assert content_disposition(filename) == header


def test_download_names_lose_paths_and_get_an_extension_when_nameless() -> None:
    assert download_name("../../etc/passwd", "text/plain", "x") == "passwd"
    assert download_name("C:\\Dokumenty\\Umowa.pdf", "application/pdf", "x") == "Umowa.pdf"
    assert download_name("", "application/pdf", "12-3") == "12-3.pdf"
    assert download_name("  ", "application/x-unknown", "12-3") == "12-3.bin"
