"""List-Unsubscribe (RFC 2369) with one-click unsubscription (RFC 8058) for bulk mail (C2)."""

# Gmail and Yahoo require both headers on bulk mail since 2024, and RFC 8058 §4 requires the
# DKIM signature to cover them: add them before the message is signed (relay_identity signs
# them when present). The HTTPS URI must answer a POST with "List-Unsubscribe=One-Click" by
# unsubscribing, without a login or a page to confirm (§3.2).

from __future__ import annotations

from postroom.addresses import InvalidAddressError, ascii_address
from postroom.errors import ValidationError
from postroom.mail import mime_headers
from postroom.services.deliverability_headers import set_field

ONE_CLICK = "List-Unsubscribe=One-Click"
_FORBIDDEN = set(" \t\r\n<>\"',")


def _checked_url(url: str) -> str:
    if not url.startswith("https://") or len(url) > 900 or _FORBIDDEN & set(url):
        raise ValidationError.for_field(
            "unsubscribe_url",
            "One-click unsubscription needs an https:// address without spaces, quotes or "
            "angle brackets (RFC 8058 §3.1), at most 900 characters.",
            "invalid_unsubscribe_url",
        )
    return url


def header_values(url: str, mailto: str | None = None) -> list[tuple[str, str]]:
    """The two headers as (name, folded value): the HTTPS URI first, then a mailto: one."""
    tokens = [f"<{_checked_url(url)}>"]
    if mailto is not None:
        try:
            tokens = [tokens[0] + ",", f"<mailto:{ascii_address(mailto)}>"]
        except InvalidAddressError as exc:
            raise ValidationError.for_field("unsubscribe_mailto", str(exc), "invalid") from exc
    return [
        ("List-Unsubscribe", mime_headers.fold("List-Unsubscribe", tokens)),
        ("List-Unsubscribe-Post", ONE_CLICK),
    ]


def add_list_unsubscribe(raw: bytes, *, url: str, mailto: str | None = None) -> bytes:
    """A built message with both headers set (replacing any there were)."""
    for name, value in header_values(url, mailto):
        raw = set_field(raw, name, value)
    return raw
