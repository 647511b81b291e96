"""Which links a message may carry: plain http(s) addresses a reader can follow.

Feeds are written by strangers; a ``javascript:`` or ``data:`` href, a link with control
characters or spaces that could smuggle markup, or an absurdly long one is dropped, never shown.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["MAX_URL", "web_link"]

MAX_URL = 2048
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def web_link(url: str | None, *, max_length: int = MAX_URL) -> str | None:
    """``url`` (stripped) when it is a followable http(s) link, else None."""
    if not url:
        return None
    url = url.strip()
    if not url or len(url) > max_length or _UNSAFE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url
