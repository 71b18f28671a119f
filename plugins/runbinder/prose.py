"""What the Markdown door will neutralise in a document's prose, as located diagnostics for validation.

An author learns at commit time, not from a blank spot on a page, that a ``javascript:`` link will be removed,
a remote image shown as a link, or a tag shown as text (rule ``markdown.unsafe``). Only fields that could hold
such a thing (``<`` before a letter, ``](``, ``][``, ``]:``) are rendered, so validation keeps its speed.
"""

from __future__ import annotations

import re

from .diagnostics import Diagnostic, Level
from .loader import Document
from .schemas import markdown_fields, markdown_tree

_MAYBE = re.compile(r"<[A-Za-z/!?]|\]\s*[(\[:]")


def markdown_diagnostics(doc: Document) -> list[Diagnostic]:
    """``markdown.unsafe`` findings of every Markdown field of a loaded document."""
    if not isinstance(doc.data, dict):
        return []
    out: list[Diagnostic] = []
    for path, text in markdown_fields(doc.data, markdown_tree(doc.kind)):
        if not _MAYBE.search(text):
            continue
        from .safe import markdown_findings  # Markdown and nh3 load only for prose that needs them

        for finding in markdown_findings(text):
            line, col = doc.locate_in_scalar(path, finding.offset)
            level: Level = "error" if finding.level == "error" else "warning"
            out.append(Diagnostic(doc.display, line, col, level, finding.message, finding.rule))
    return out
