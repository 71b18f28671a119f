"""Escaping for everything that goes from YAML into Markdown.

Two kinds of text come from runbooks: plain text (titles, names, table cells)
and Markdown fields (summaries, step text). Plain text is escaped so no
character means anything to Markdown or HTML. Markdown fields keep their
Markdown, but lose every way to reach HTML: ``<`` and ``&`` are escaped
outside code (no raw HTML, no entity tricks), ``{`` is escaped (no attr_list
attributes such as ``{: onclick=...}``), and links with script-capable
schemes are disarmed. Validation reports those links too (rule markdown.unsafe).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}#|!])")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")
UNSAFE_SCHEME = re.compile(r"^\s*(?:javascript|vbscript|data|file)\s*:", re.IGNORECASE)
# A link target may hold one level of balanced parentheses: [x](javascript:alert(1)).
_LINK_TARGET = re.compile(r"(\]\(\s*<?)((?:[^()\s>]|\([^()\s]*\))*)")
_REF_DEF = re.compile(r"^(\s*\[[^\]]+\]:\s*<?)(\S+)", re.MULTILINE)


def inline(text: object) -> str:
    """Plain text for use inside a Markdown line or table cell: shown exactly as written."""
    escaped = html.escape(str(text), quote=False)
    escaped = _MD_SPECIAL.sub(r"\\\1", escaped)
    return " ".join(escaped.split())  # newlines would end a table row or a heading


def code(text: object) -> str:
    """Inline code that survives any backticks inside the text; only for use outside tables."""
    value = " ".join(str(text).split())
    longest = max((len(m) for m in re.findall(r"`+", value)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{ticks}{pad}{value}{pad}{ticks}"


def _disarm_links(text: str) -> str:
    def fix(match: re.Match[str]) -> str:
        target = match.group(2)
        return match.group(1) + ("#unsafe-link" if UNSAFE_SCHEME.match(target) else target)

    return _REF_DEF.sub(fix, _LINK_TARGET.sub(fix, text))


def _escape_prose(text: str) -> str:
    out = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_escape_html_chars(text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_escape_html_chars(text[last:]))
    return "".join(out)


def _escape_html_chars(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("{", "\\{")


def markdown(text: object) -> str:
    """A Markdown field made safe: Markdown kept, raw HTML and script links neutralised."""
    lines = str(text).strip("\n").split("\n")
    out: list[str] = []
    fence: str | None = None
    for line in lines:
        match = _FENCE.match(line)
        if fence is not None:
            out.append(line)
            if match and match.group(2).startswith(fence[0]) and len(match.group(2)) >= len(fence):
                fence = None
            continue
        if match:
            fence = match.group(2)
            out.append(line)
            continue
        line = _disarm_links(_escape_prose(line))
        # A '>' opening a line would start a blockquote: ">50% of users" is a statement, not a quote.
        out.append(re.sub(r"^(\s*)>", r"\1\\>", line))
    return "\n".join(out)


def item(text: object) -> str:
    """A Markdown field as one list item's text (continuation lines indented under the bullet)."""
    return markdown(text).replace("\n", "\n    ")


def bullets(items: Iterable[object]) -> str:
    """A bulleted list of Markdown fields."""
    return "\n".join(f"- {item(i)}" for i in items)


def tasks(items: Iterable[object]) -> str:
    """A task list (printable check boxes) of Markdown fields."""
    return "\n".join(f"- [ ] {item(i)}" for i in items)


def fence(body: str, language: str = "text", title: str | None = None) -> str:
    """A fenced code block that no backtick run inside ``body`` can close early."""
    longest = max((len(m) for m in re.findall(r"^\s*(`{3,})", body, re.MULTILINE)), default=2)
    ticks = "`" * max(3, longest + 1)
    attrs = f' title="{html.escape(title, quote=True)}"' if title else ""
    return f"{ticks}{language}{attrs}\n{body.rstrip(chr(10))}\n{ticks}"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; cells must already be escaped (see ``inline``) or be links built from escaped text."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def indent(text: str, by: int = 4) -> str:
    """Indent every non-empty line, for content nested in an admonition."""
    pad = " " * by
    return "\n".join(pad + line if line.strip() else "" for line in text.split("\n"))


def admonition(kind: str, title: str, body: str, collapsible: bool = False) -> str:
    """A Material admonition; ``title`` is plain text."""
    marker = "???" if collapsible else "!!!"
    safe_title = title.replace("\\", "\\\\").replace('"', '\\"')
    return f'{marker} {kind} "{html.escape(safe_title, quote=False)}"\n\n{indent(body)}'


_UNITS = {"m": ("min", "min"), "h": ("hour", "hours"), "d": ("day", "days"), "w": ("week", "weeks")}


def duration(value: str) -> str:
    """15m -> 15 min, 1h -> 1 hour, 24h -> 24 hours."""
    number, unit = int(value[:-1]), value[-1]
    one, many = _UNITS[unit]
    return f"{number} {one if number == 1 else many}"


def humanize(ident: str) -> str:
    """alert-response -> Alert response."""
    return ident.replace("-", " ").capitalize()
