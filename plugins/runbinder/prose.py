"""What the Markdown door will neutralise in a document's prose, as located diagnostics for validation.

An author learns at commit time, not from a blank spot on a page, that a ``javascript:`` link will be removed,
a remote image shown as a link, or a tag shown as text (rule ``markdown.unsafe``). Only fields that could hold
such a thing (``<`` before a letter, ``](``, ``][``, ``]:``) are rendered, so validation keeps its speed.

Text that was mis-encoded on its way into the YAML (UTF-8 read as Windows-1252: "ðŸš¨" for the siren emoji, "â€™"
for a curly apostrophe) is reported too (rule ``text.mojibake``, a warning with the intended text): a responder
would paste it as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

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


# A run of characters that Windows-1252 maps UTF-8 bytes to: a lead byte (U+00C2-U+00F4) and its continuation
# bytes (U+0080-U+00BF, or the Windows-1252 characters standing for 0x80-0x9F).
_CONTINUATION = (
    "\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u017d"
    "\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178"
)
_MOJIBAKE = re.compile(f"[\u00c2-\u00f4][{_CONTINUATION}]{{1,3}}")


def mojibake(text: str) -> list[tuple[int, str, str]]:
    """(offset, found, intended) for every mis-encoded sequence in ``text``; empty for ASCII and for text whose
    accented letters are real (café, naïve, Zürich)."""
    if text.isascii():
        return []
    found = []
    for match in _MOJIBAKE.finditer(text):
        try:
            intended = match.group(0).encode("cp1252").decode("utf-8")
        except UnicodeError:
            continue
        found.append((match.start(), match.group(0), intended))
    return found


def _all_strings(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _all_strings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _all_strings(value, (*path, i))


def encoding_diagnostics(doc: Document) -> list[Diagnostic]:
    """``text.mojibake`` warnings of every string of a loaded document."""
    out: list[Diagnostic] = []
    if doc.text.isascii() or not _MOJIBAKE.search(doc.text):  # the common case: one scan of the file, no walk
        return out
    for path, text in _all_strings(doc.data):
        for offset, found, intended in mojibake(text):
            line, col = doc.locate_in_scalar(path, offset)
            message = f"{found!r} looks like mis-encoded text (UTF-8 read as Windows-1252); did you mean {intended!r}?"
            out.append(Diagnostic(doc.display, line, col, "warning", message, "text.mojibake"))
    return out
