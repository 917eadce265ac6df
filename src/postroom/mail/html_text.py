"""HTML to readable plain text, for the text/plain part of a multipart/alternative message."""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Their content is never shown to a reader.
_HIDDEN = frozenset({"head", "title", "script", "style", "template", "noscript", "object"})
# A paragraph: a blank line before and after.
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "ul", "ol", "dl", "hr"}
)
# A block of its own: at least a line break before and after.
_BLOCKS = frozenset(
    {
        "div", "section", "article", "header", "footer", "main", "nav", "aside", "address",
        "figure", "figcaption", "form", "fieldset", "table", "tr", "li", "dt", "dd", "center",
        "caption", "details", "summary",
    }
)  # fmt: skip
_VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base"})
_SPACES = re.compile(r"[ \t\n\r\f\v\xa0]+")
_UNLINKED_SCHEMES = ("#", "javascript:", "data:", "cid:", "vbscript:")


class _Writer:
    """Lines of output; blank lines and breaks are requested and written lazily."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.line = ""
        self.started = False  # has the current line received text (beyond its prefix)?
        self.wanted = 0  # 1: a line break before the next text, 2: a blank line

    def want(self, breaks: int) -> None:
        self.wanted = max(self.wanted, breaks)

    def hard_break(self) -> None:
        """<br>: end the line even if it is empty (two <br> make a blank line)."""
        if self.wanted and (self.started or self.lines):
            self._end_line(blank=self.wanted == 2)  # a pending paragraph break absorbs it
            self.wanted = 0
            return
        self.wanted = 0
        self.lines.append(self.line.rstrip())
        self.line, self.started = "", False

    def write(self, text: str, prefix: str, *, collapse: bool) -> None:
        if self.wanted and (self.started or self.lines):
            self._end_line(blank=self.wanted == 2)
        self.wanted = 0
        if not self.started:
            if collapse:
                text = text.lstrip(" ")
                if not text:
                    return
            self.line = prefix
            self.started = True
        elif collapse and self.line.endswith(" "):
            text = text.lstrip(" ")
        self.line += text

    def _end_line(self, *, blank: bool) -> None:
        if self.started:
            self.lines.append(self.line.rstrip())
            self.line, self.started = "", False
        if blank and self.lines and self.lines[-1] != "":
            self.lines.append("")

    def result(self) -> str:
        lines = [*self.lines, self.line.rstrip()] if self.started else list(self.lines)
        text = "\n".join(lines)
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = _Writer()
        self.hidden = 0
        self.pre = 0
        self.pre_opened = False  # right after <pre>: a leading newline is not content
        self.quotes = 0
        self.lists: list[list[int | bool]] = []  # [counter, ordered] per open list
        self.marker = ""  # a list item's "- " or "3. ", written before its first text
        self.links: list[tuple[str, list[str]]] = []  # href, the text seen inside
        self.cells: list[int] = []  # cells seen in the current row, per open table
        self.cell_separator = False

    # Structure

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
            return
        attributes = dict(attrs)
        if tag in _VOID:
            self._void(tag, attributes)
            return
        self._block_start(tag)
        if tag == "a":
            self.links.append(((attributes.get("href") or "").strip(), []))
        elif tag in ("td", "th") and self.cells:
            self.cell_separator = self.cells[-1] > 0
            self.cells[-1] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            self._void(tag, dict(attrs))
        else:  # <div/> in HTML is a start tag whose end never comes; treat it as empty
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        if tag == "a" and self.links:
            self._link_end(*self.links.pop())
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "table" and self.cells:
            self.cells.pop()
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        elif tag == "blockquote":
            self.quotes = max(0, self.quotes - 1)
        if tag in _PARAGRAPHS:
            self.out.want(1 if tag in ("ul", "ol") and self.lists else 2)
        elif tag in _BLOCKS:
            self.out.want(1)

    def _block_start(self, tag: str) -> None:
        if tag in _PARAGRAPHS:
            # A list inside a list item continues the item: no blank line.
            self.out.want(1 if tag in ("ul", "ol") and self.lists else 2)
        elif tag in _BLOCKS:
            self.out.want(1)
        if tag in ("ul", "ol"):
            self.lists.append([0, tag == "ol"])
        elif tag == "li":
            self._list_item()
        elif tag == "table":
            self.cells.append(0)
        elif tag == "tr" and self.cells:
            self.cells[-1] = 0
        elif tag == "pre":
            self.pre += 1
            self.pre_opened = True
        elif tag == "blockquote":
            self.quotes += 1

    def _list_item(self) -> None:
        if not self.lists:
            self.lists.append([0, False])  # a stray <li>: a bullet all the same
        current = self.lists[-1]
        current[0] = int(current[0]) + 1
        indent = "   " * (len(self.lists) - 1)
        self.marker = f"{indent}{current[0]}. " if current[1] else f"{indent}- "

    def _void(self, tag: str, attributes: dict[str, str | None]) -> None:
        if self.hidden:
            return
        if tag == "br":
            self.out.hard_break()
        elif tag == "hr":
            self.out.want(2)
            self._text("-" * 20, collapse=False)
            self.out.want(2)
        elif tag == "img" and (alt := (attributes.get("alt") or "").strip()):
            self._text(alt, collapse=True)

    def _link_end(self, href: str, seen: list[str]) -> None:
        if not href or href.lower().startswith(_UNLINKED_SCHEMES) or self.hidden:
            return
        label = _SPACES.sub(" ", "".join(seen)).strip()
        if href.lower().startswith("mailto:"):
            href = href[len("mailto:") :].split("?", 1)[0]
        if not _same_target(label, href):
            self._text(f" ({href})" if label else href, collapse=False)

    # Text

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            self._preformatted(data)
            return
        self._text(_SPACES.sub(" ", data), collapse=True)

    def _preformatted(self, data: str) -> None:
        if self.pre_opened and data.startswith("\n"):
            data = data[1:]  # HTML ignores a newline right after <pre>
        self.pre_opened = False
        parts = data.replace("\r\n", "\n").split("\n")
        for number, part in enumerate(parts):
            if number:
                self.out.hard_break()
            if part:
                self._text(part, collapse=False)

    def _text(self, text: str, *, collapse: bool) -> None:
        if not text or (collapse and text == " " and not self.out.started):
            return
        for _href, seen in self.links:
            seen.append(text)
        if self.cell_separator and self.out.started and text.strip():
            self.cell_separator = False
            self.out.write(" | ", self._prefix(), collapse=False)
            text = text.lstrip(" ") if collapse else text
        prefix = self._prefix()
        self.marker = "" if text.strip() else self.marker
        self.out.write(text, prefix, collapse=collapse)

    def _prefix(self) -> str:
        quote = "> " * self.quotes
        if self.marker:
            return quote + self.marker
        return quote + "   " * len(self.lists)


def _same_target(label: str, target: str) -> bool:
    """Is the link's text its address already ("www.firma.pl" for https://www.firma.pl/)?"""
    if not label:
        return False
    bare = re.sub(r"^[a-z][a-z0-9+.-]*://", "", target.lower()).rstrip("/")
    shown = re.sub(r"^[a-z][a-z0-9+.-]*://", "", label.lower()).rstrip("/")
    return bare in (shown, shown.removeprefix("www.")) or bare.removeprefix("www.") == shown


def html_to_text(html: str) -> str:
    """Readable text of `html`: paragraphs, line breaks, lists, quotes, links as "text (url)"."""
    converter = _Converter()
    converter.feed(html)
    converter.close()
    return converter.out.result()
