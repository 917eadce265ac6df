"""HTML from users (signatures, headers, message bodies) made safe to send and to show."""

from __future__ import annotations

import nh3


def sanitize_html(html: str) -> str:
    """Keep formatting, links and images; drop scripts, event handlers and other active content."""
    if not html.strip():
        return ""
    return str(nh3.clean(html, link_rel="noopener noreferrer"))
