"""Which link targets runbook text may use: one answer for validation, checks, the site and the binder."""

from __future__ import annotations

import re

SAFE_SCHEMES = ("http", "https", "mailto", "tel")
"""Schemes a link may use; anything else (javascript:, data:, file:, vbscript:, ...) is refused."""

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
# Browsers ignore ASCII whitespace and control characters inside a scheme ("java\tscript:"), so they are
# removed before the scheme is read.
_IGNORED = re.compile(r"[\x00-\x20\x7f]")


def scheme(url: str) -> str | None:
    """The scheme a browser would see (lower case), or None for a relative URL."""
    match = _SCHEME.match(_IGNORED.sub("", url))
    return match.group(1).lower() if match else None


def is_safe(url: str) -> bool:
    """True for relative URLs and the schemes in SAFE_SCHEMES."""
    found = scheme(url)
    return found is None or found in SAFE_SCHEMES


def is_web_url(url: str) -> bool:
    """True for absolute http(s) URLs without spaces or control characters: the only ones shown as live links."""
    return url.startswith(("https://", "http://")) and not _IGNORED.search(url)
