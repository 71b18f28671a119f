"""Markdown structure for generated pages: tables, headings, admonitions, fences, ids.

Every piece of runbook text reaches these builders already made safe by a door in ``runbinder.safe``
(``md_text`` for plain text, ``block``/``bullet_list`` for Markdown fields); they only decide the layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .. import safe
from ..review import interval


@dataclass
class Page:
    """A generated page: its docs path, its plain-text title and its Markdown body."""

    path: str
    title: str
    markdown: str
    searchable: bool = True
    """False for pages that only list what other pages hold (the runbooks index, the tags): a search then leads to
    the runbook itself, not to every list that names it."""

    def document(self) -> str:
        """The page as MkDocs reads it: front matter (the title, escaped) and the body."""
        return safe.page_front_matter(self.title, searchable=self.searchable) + self.markdown


@dataclass
class Anchors:
    """The HTML ids of one page, each handed out once: a phase titled "Escalation" cannot take the id of the
    page's own escalation section."""

    used: set[str] = field(default_factory=set)

    def reserve(self, *ids: str) -> None:
        """Ids the page's fixed sections own."""
        self.used.update(ids)

    def take(self, preferred: str) -> str:
        """``preferred``, or ``preferred-2``, ``-3``... when it is taken."""
        candidate, n = preferred, 1
        while candidate in self.used:
            n += 1
            candidate = f"{preferred}-{n}"
        self.used.add(candidate)
        return candidate


def heading(level: int, text: str, anchor: str | None = None, classes: Sequence[str] = ()) -> str:
    """A heading; ``text`` is already escaped (``safe.md_text``) or built from escaped parts. ``classes``
    (``[a-z0-9-]`` names of our own) need an anchor."""
    attrs = " ".join([f"#{anchor}"] + [f".{safe.css_ident(c)}" for c in classes]) if anchor else ""
    return f"{'#' * level} {text}" + (f" {{{attrs}}}" if attrs else "")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; cells must already be escaped or be links built from escaped text."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table built as HTML, for the indexes that run to a thousand rows (Python-Markdown's inline processing of
    their links was most of a rebuild). ``headers`` are plain text; cells are HTML already made safe
    (``safe.html_text``, ``Renderer.link_html``). It reaches the page as a fragment, through the sanitizer."""
    head = "".join(f"<th>{safe.html_text(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return safe.fragment(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def cell_list(items: Iterable[str]) -> str:
    """Several statements in one table cell, one per line, each with its bullet so they never run together.
    ``items`` are already escaped."""
    items = [item for item in items if item]
    if len(items) < 2:
        return "".join(items)
    return "<br>".join(f"• {item}" for item in items)


def indent(text: str, by: int = 4) -> str:
    """Indent every non-empty line, for content nested in an admonition."""
    pad = " " * by
    return "\n".join(pad + line if line.strip() else "" for line in text.split("\n"))


def admonition(kind: str, title: str, body: str, collapsible: bool = False) -> str:
    """A Material admonition; ``title`` is plain text (escaped here), ``body`` generated Markdown."""
    marker = "???" if collapsible else "!!!"
    return f'{marker} {kind} "{safe.md_text(title)}"\n\n{indent(body)}'


def fence(body: str, language: str = "text", title: str | None = None) -> str:
    """A fenced block (commands, templates, diagrams) showing ``body`` verbatim."""
    return safe.md_fence(body, language, title)


_UNITS = {"m": ("min", "min"), "h": ("hour", "hours"), "d": ("day", "days"), "w": ("week", "weeks")}


def duration(value: object) -> str:
    """15m -> 15 min, 1h -> 1 hour, 24h -> 24 hours (anything else as written)."""
    text = str(value)
    if interval(text) is None:
        return text
    number, unit = int(text[:-1]), text[-1]
    one, many = _UNITS[unit]
    return f"{number} {one if number == 1 else many}"


def humanize(ident: str) -> str:
    """alert-response -> Alert response."""
    return ident.replace("-", " ").capitalize()


def short(text: str, limit: int = 40) -> str:
    """Text cut to ``limit`` characters with an ellipsis (diagram edge labels)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def join(parts: Iterable[str]) -> str:
    """Blocks separated by blank lines; empty parts dropped."""
    return "\n\n".join(p.strip("\n") for p in parts if p) + "\n"
