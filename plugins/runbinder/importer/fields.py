"""Source blocks back to Markdown for runbook fields, in the dialect runbinder renders (Python-Markdown).

CommonMark nests a list under a marker's width (two spaces after "- "), Python-Markdown under four: a nested
list copied as written would silently render flat. Lists are therefore rebuilt from their parsed structure, with
every other piece of text (paragraphs, table rows, code) carried over as the author wrote it, links rewritten.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

from .. import urls
from .source import Block

Rewrite = Callable[[str], str]
"""A link target as written in the source to the target it has in the project."""


def rewrite_links(text: str, targets: Iterable[str], rewrite: Rewrite) -> str:
    """``text`` with each link or image target (inline, angle-bracketed or reference definition) rewritten."""
    for target in sorted(set(targets), key=len, reverse=True):
        new = rewrite(target)
        if new == target or not target:
            continue
        quoted = re.escape(target)
        keep = functools.partial(_replace, new)
        text = re.sub(r"(\]\(\s*<?)" + quoted + r"(?=>?(?:\s|\)))", keep, text)
        text = re.sub(r"(^\s*\[[^\]\n]+\]:\s*<?)" + quoted + r"(?=>?(?:\s|$))", keep, text, flags=re.M)
    return text


def _replace(new: str, match: re.Match[str]) -> str:
    return match.group(1) + new


def field_markdown(blocks: Iterable[Block], rewrite: Rewrite) -> str:
    """Blocks as one Markdown field."""
    text = "\n\n".join(part for part in (_block(b, rewrite, 0) for b in blocks) if part.strip()).strip("\n")
    return unsafe_links_as_text(remote_images_as_links(text))


_LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?((?:\s+\"[^\"]*\")?)\s*\)")


def unsafe_links_as_text(text: str) -> str:
    """A link whose target no browser should follow (``javascript:``, or AsciiDoc's ``link:https://...`` pasted into
    Markdown) as its label with the target beside it in code: the site would remove the link, the text stays."""

    def keep(match: re.Match[str]) -> str:
        if urls.is_safe(match.group(2)):
            return match.group(0)
        return f"{match.group(1)} (`{match.group(2)}`)"

    return _LINK.sub(keep, text) if "](" in text else text


_REMOTE_IMAGE = re.compile(r"!\[([^\]\n]*)\]\((\s*<?https?://[^)\s>]+>?)((?:\s+\"[^\"]*\")?\s*)\)")


def remote_images_as_links(text: str) -> str:
    """``![alt](https://...)`` as a link to the image: the site makes no request, the address is kept."""
    return _REMOTE_IMAGE.sub(lambda m: f"[Image: {m.group(1) or 'remote image'}]({m.group(2)}{m.group(3)})", text)


def _indent(text: str, by: int) -> str:
    pad = " " * by
    return "\n".join(pad + line if line.strip() else "" for line in text.split("\n"))


def _block(block: Block, rewrite: Rewrite, depth: int) -> str:
    if block.kind == "paragraph":
        return rewrite_links(_dedent(block.inline), block.links + block.images, rewrite)
    if block.kind == "heading":
        return f"{'#' * block.level} {block.inline}"
    if block.kind == "code":
        return fence(block.inline, block.info)
    if block.kind == "list":
        return list_markdown(block, rewrite, depth)
    if block.kind == "comment":
        return ""  # kept in the runbook's provenance.review instead (the import collects them)
    if block.kind == "hr":
        return "* * *"  # "---" under a paragraph would make it a heading in Python-Markdown
    # Tables, HTML and quotes: as written (HTML is shown as text by runbinder, never lost).
    return rewrite_links(_dedent(block.text).rstrip("\n"), block.links + block.images, rewrite)


def list_markdown(block: Block, rewrite: Rewrite, depth: int = 0) -> str:
    """A list rebuilt with Python-Markdown's four-space nesting."""
    lines = []
    for number, item in enumerate(block.items, 1):
        marker = f"{number}." if block.ordered else "-"
        parts = [_block(child, rewrite, depth + 1) for child in item.blocks]
        parts = [p for p in parts if p.strip()]
        if not parts:
            lines.append(marker)
            continue
        first, rest = parts[0], parts[1:]
        head = f"{marker} " + _indent(first, 4).lstrip(" ")
        body = [head, *(_indent(p, 4) for p in rest)]
        lines.append(("\n" if block.tight else "\n\n").join(body))
    return ("\n" if block.tight else "\n\n").join(lines)


def fence(code: str, info: str = "") -> str:
    """A fenced code block that no backtick run in ``code`` can close."""
    longest = max((len(m) for m in re.findall(r"^[ \t]*(`{3,})", code, re.MULTILINE)), default=2)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{code.rstrip(chr(10))}\n{ticks}"


def _dedent(text: str) -> str:
    lines = text.split("\n")
    widths = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
    cut = min(widths, default=0)
    return "\n".join(line[cut:] for line in lines)


def plain(markdown: str) -> str:
    """Inline Markdown as plain text for a title: link labels, code span contents, no emphasis markers."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"!?\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"`+([^`]*)`+", r"\1", text)
    text = re.sub(r"(\*\*|__|\*|_)(\S(?:.*?\S)?)\1", r"\2", text)
    return " ".join(text.split())


def title_from(markdown: str, limit: int = 80) -> str:
    """A step title from the text that introduces it: its first sentence, or its first ``limit`` characters."""
    text = plain(markdown.split("\n\n", 1)[0])
    match = re.match(r"(.+?[.:!?])(?:\s|$)", text)
    title = (match.group(1) if match else text).rstrip(":.").strip()
    if len(title) > limit:
        cut = title[:limit].rsplit(" ", 1)[0]
        title = cut + "…"
    return title
