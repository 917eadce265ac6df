"""Received HTML made safe to show: no script, no forms, no remote loads until the reader asks.

Stricter than mail/html.py (which cleans the HTML our users write): a received message is
written by a stranger. Scripts, event handlers, forms, frames, <style> blocks and every URL
scheme that runs code are removed; remote images (<img src="http…"> and CSS url()) are web
bugs that tell the sender when and where the mail was read, so they are replaced by a
placeholder until the reader asks for them (`load_remote_images`). cid: images (RFC 2392)
come from the message's own parts, as data: URIs given by `inline_image`.
The page that shows the result adds a sandboxed iframe and a Content-Security-Policy on top.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

import nh3

# A grey frame with a picture sign: where a blocked remote image would be.
_PLACEHOLDER_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="36" viewBox="0 0 48 36">'
    '<rect x="1" y="1" width="46" height="34" rx="3" fill="#eef1f6" stroke="#c5ccd8"/>'
    '<path d="M12 27l8-9 6 6 4-4 6 7z" fill="#a4adbb"/><circle cx="32" cy="12" r="3" '
    'fill="#a4adbb"/></svg>'
)
PLACEHOLDER_IMAGE = "data:image/svg+xml;base64," + base64.b64encode(
    _PLACEHOLDER_SVG.encode()
).decode("ascii")

_EXTRA_TAGS = {"font"}
# Never shown: their content goes too (nh3 keeps the text of other removed tags).
_DROPPED_WITH_CONTENT = {"script", "style", "title", "noscript", "template", "textarea", "select"}
_GENERIC_ATTRIBUTES = {"title", "lang", "dir", "align", "valign", "bgcolor", "width", "height"}
_EXTRA_ATTRIBUTES = {
    "a": {"name", "title"},
    "img": {"border", "title", "hspace", "vspace"},
    "font": {"color", "face", "size"},
    "table": {"border", "cellpadding", "cellspacing"},
    "td": {"nowrap"},
    "th": {"nowrap"},
}
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid", "data"}
# CSS properties that cannot fetch anything by themselves (no list-style-image, cursor,
# content, border-image, mask, filter), and the backgrounds, whose url() is checked below.
_STYLE_PROPERTIES = {
    "color", "background", "background-color", "background-image", "font", "font-family",
    "font-size", "font-style", "font-weight", "font-variant", "line-height", "letter-spacing",
    "word-spacing", "text-align", "text-decoration", "text-indent", "text-transform",
    "white-space", "word-break", "word-wrap", "overflow-wrap", "vertical-align", "direction",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
    "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "border", "border-top", "border-right", "border-bottom", "border-left", "border-color",
    "border-style", "border-width", "border-radius", "border-collapse", "border-spacing",
    "width", "min-width", "max-width", "height", "min-height", "max-height",
    "display", "table-layout", "float", "clear", "list-style-type", "opacity",
}  # fmt: skip
# CSS functions that compute a value; any other (url, image-set, src, element, …) may load.
_PURE_CSS_FUNCTIONS = {"rgb", "rgba", "hsl", "hsla", "calc", "min", "max", "clamp"}
_CSS_FUNCTION = re.compile(r"([a-z-]+)\s*\(", re.IGNORECASE)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)\s*(https?://[^'")\s\\]+)\s*\1\s*\)""", re.IGNORECASE)


@dataclass(frozen=True)
class DisplayHtml:
    """The cleaned HTML, how many remote images it has, and which cid: parts it showed."""

    html: str
    remote_images: int
    images_loaded: bool
    used_content_ids: frozenset[str] = field(default_factory=frozenset)


def _attributes() -> dict[str, set[str]]:
    allowed = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    allowed["*"] = set(_GENERIC_ATTRIBUTES) | {"style"}
    for tag, names in _EXTRA_ATTRIBUTES.items():
        allowed.setdefault(tag, set()).update(names)
    return allowed


_ATTRIBUTES = _attributes()
_TAGS = (set(nh3.ALLOWED_TAGS) | _EXTRA_TAGS) - _DROPPED_WITH_CONTENT


class _Filter:
    """nh3's attribute callback: sees every URL and style that passed the scheme check."""

    def __init__(self, load_remote: bool, inline_image: Callable[[str], str | None]) -> None:
        self.load_remote = load_remote
        self.inline_image = inline_image
        self.remote = 0
        self.content_ids: set[str] = set()

    def __call__(self, tag: str, attribute: str, value: str) -> str | None:
        if attribute == "style":
            return self._style(value)
        if tag == "img" and attribute == "src":
            return self._image(value)
        lowered = value.strip().lower()
        if attribute == "href" and lowered.startswith(("http:", "https:", "mailto:", "tel:")):
            return value
        if lowered.startswith(("data:", "cid:")):
            return None  # a link to a data: document or to a part is not a link
        return value

    def _image(self, value: str) -> str | None:
        lowered = value.strip().lower()
        if lowered.startswith("cid:"):
            content_id = unquote(value.strip()[4:]).strip("<>")
            found = self.inline_image(content_id)
            if found is not None:
                self.content_ids.add(content_id)
            return found
        if lowered.startswith("data:image/"):
            return value
        if lowered.startswith(("http:", "https:")):
            self.remote += 1
            return value if self.load_remote else PLACEHOLDER_IMAGE
        return None

    def _style(self, value: str) -> str | None:
        kept = [d.strip() for d in value.split(";") if d.strip() and self._declaration_ok(d)]
        return "; ".join(kept) or None

    def _declaration_ok(self, declaration: str) -> bool:
        # nh3 drops other properties after this filter: they must not count as images.
        if declaration.split(":", 1)[0].strip().lower() not in _STYLE_PROPERTIES:
            return False
        # A backslash could spell "url(" in CSS escapes; comments could hide it.
        if "\\" in declaration or "/*" in declaration:
            return False
        urls = _CSS_URL.findall(declaration)
        without_urls = _CSS_URL.sub("none", declaration)
        functions = {name.lower() for name in _CSS_FUNCTION.findall(without_urls)}
        if functions - _PURE_CSS_FUNCTIONS:
            return False  # url() of another scheme, image-set(), src(), element(), …
        if urls:
            self.remote += len(urls)
            return self.load_remote
        return True


def display_html(
    html: str,
    *,
    load_remote_images: bool,
    inline_image: Callable[[str], str | None],
) -> DisplayHtml:
    """`html` cleaned for showing; `inline_image(content_id)` gives a data: URI or None."""
    check = _Filter(load_remote_images, inline_image)
    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        attributes=_ATTRIBUTES,
        attribute_filter=check,
        url_schemes=_URL_SCHEMES,
        url_relative="deny",  # relative and //host URLs: nothing of ours, or another site
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties=_STYLE_PROPERTIES,
        strip_comments=True,
    )
    return DisplayHtml(
        html=str(cleaned),
        remote_images=check.remote,
        images_loaded=load_remote_images,
        used_content_ids=frozenset(check.content_ids),
    )
