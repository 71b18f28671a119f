"""The Content-Security-Policy of every generated page: the second wall behind the sanitizer.

Even if some text got past ``safe`` as markup, the browser runs no script but the site's own files and the
theme's own inline scripts, loads nothing from anywhere else, and embeds no frames or plugins. The theme's
inline scripts are recognised by their source: every ``<script>`` body in the theme's templates (custom_dir
overrides included) becomes a pattern in which only the ``{{ ... }}`` expressions vary, and a script on a page is
hashed into the policy only when it matches one whole. Scripts other plugins add on purpose are listed exactly
(``mermaid2_scripts``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'{hashes}",
    # Mermaid writes <style> into its SVGs. Styles cannot run script, and with img-src, font-src and connect-src
    # limited to the site, CSS cannot send anything anywhere either.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "frame-src 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
)

_TEMPLATE_SCRIPT = re.compile(r"<script(\s[^>]*)?>(.*?)</script>", re.DOTALL | re.IGNORECASE)
_PAGE_SCRIPT = re.compile(r"<script(\s[^>]*)?>(.*?)</script\s*>", re.DOTALL | re.IGNORECASE)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_EXECUTABLE_TYPES = ("", "text/javascript", "application/javascript", "module")


def _executable(attrs: str) -> bool:
    """An inline script the browser would run (JSON data blocks such as Material's config are not run)."""
    if re.search(r"\ssrc\s*=", attrs, re.IGNORECASE):
        return False
    match = re.search(r"""\stype\s*=\s*["']?([^"'\s>]*)""", attrs, re.IGNORECASE)
    return (match.group(1).lower() if match else "") in _EXECUTABLE_TYPES


def script_hash(body: str) -> str:
    """The CSP source expression allowing exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii") + "'"


def template_pattern(body: str) -> re.Pattern[str] | None:
    """A template's script body as a pattern: literal text, with each ``{{ expression }}`` matching any text
    without ``<``. Bodies with template statements (``{% %}``) inside are not trusted: they could expand to
    anything."""
    if "{%" in body or "{#" in body:
        return None
    parts = []
    last = 0
    for match in _JINJA.finditer(body):
        parts.append(re.escape(body[last : match.start()]))
        parts.append(r"[^<]*?")
        last = match.end()
    parts.append(re.escape(body[last:]))
    return re.compile("".join(parts), re.DOTALL)


@dataclass
class Policy:
    """The policy for a site: which inline scripts are the theme's own."""

    patterns: list[re.Pattern[str]] = field(default_factory=list)
    exact: set[str] = field(default_factory=set)
    _verdicts: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def for_theme(cls, template_dirs: Iterable[str], extra_scripts: Sequence[str] = ()) -> Policy:
        """Collect the inline scripts of every template in the theme's directories."""
        patterns: dict[str, re.Pattern[str]] = {}
        for directory in template_dirs:
            root = Path(directory)
            if not root.is_dir():
                continue
            for template in sorted(root.rglob("*.html")):
                try:
                    source = template.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                for attrs, body in _TEMPLATE_SCRIPT.findall(source):
                    if _executable(attrs or "") and body.strip():
                        pattern = template_pattern(body)
                        if pattern is not None:
                            patterns.setdefault(pattern.pattern, pattern)
        return cls(list(patterns.values()), set(extra_scripts))

    def _allowed(self, attrs: str, body: str) -> str:
        """The hash that allows an inline script, or "" when it is not to run (each page repeats the theme's)."""
        key = (attrs, body)
        if key not in self._verdicts:
            self._verdicts[key] = script_hash(body) if _executable(attrs) and self.trusted(body) else ""
        return self._verdicts[key]

    def trusted(self, body: str) -> bool:
        """True when ``body`` is one of the theme's inline scripts (or one a plugin adds on purpose)."""
        return body in self.exact or any(p.fullmatch(body) for p in self.patterns)

    def header(self, html: str) -> str:
        """The policy for one page, allowing the trusted inline scripts it holds."""
        hashes = sorted({h for attrs, body in _PAGE_SCRIPT.findall(html) if (h := self._allowed(attrs or "", body))})
        return "; ".join(d.format(hashes="".join(" " + h for h in hashes)) for d in DIRECTIVES)

    def apply(self, html: str) -> str:
        """The page with its policy as the first element of ``<head>``, before any script."""
        match = _HEAD.search(html)
        if match is None:
            return html
        meta = f'<meta http-equiv="Content-Security-Policy" content="{self.header(html)}">'
        return html[: match.end()] + meta + html[match.end() :]


def mermaid2_scripts(plugin: Any) -> list[str]:
    """The initialisation script mkdocs-mermaid2-plugin appends to pages with diagrams (its two forms)."""
    try:
        from mermaid2 import pyjs  # optional dependency, untyped

        plain = pyjs.dumps(dict(plugin.mermaid_args))
        loader = pyjs.dumps({**plugin.mermaid_args, "startOnLoad": False})  # what it sends with a custom loader
    except Exception:  # not configured yet, or a mermaid2 release that works differently: allow nothing extra
        return []
    return [f"mermaid.initialize({plain});", f"window.mermaidConfig = {{default: {loader}}};"]
