"""A Markdown runbook as a tree: sections by heading, blocks with their source text, list items with their blocks.

The parser is markdown-it-py (CommonMark with GitHub's tables), which reports the source lines of every block,
so what the importer carries over is the author's own text, not a re-rendering of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference
from markdown_it.token import Token

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.DOTALL)


@dataclass
class Block:
    """One block of the source: a paragraph, list, code block, table, HTML block, quote, rule or heading."""

    kind: str
    text: str  # the block's source lines, as written (lists and quotes: with their markers)
    start: int  # first source line, 0-based
    end: int  # line after the last
    inline: str = ""  # paragraphs and headings: the inline source; code: the code
    info: str = ""  # code: the fence's info string
    level: int = 0  # headings: 1-6
    ordered: bool = False  # lists
    tight: bool = True  # lists: items without blank lines between them
    items: list[Item] = field(default_factory=list)  # lists
    links: list[str] = field(default_factory=list)  # link targets inside the block, in order
    images: list[str] = field(default_factory=list)  # image sources inside the block, in order
    cells: list[str] = field(default_factory=list)  # tables: every cell's text


@dataclass
class Item:
    """A list item: its blocks (the first is usually its paragraph)."""

    blocks: list[Block]
    start: int
    end: int


@dataclass
class Section:
    """A heading with what follows it up to the next heading of the same or a higher level."""

    title: str
    level: int
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    line: int = 0


@dataclass
class Document:
    """A parsed Markdown file."""

    text: str
    front_matter: dict[str, Any]
    root: Section  # level 0: the whole document
    body_offset: int = 0  # lines of front matter before the body


def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
    # Link targets exactly as written (no percent-encoding), so the importer finds them in the source text.
    parser.normalizeLink = lambda url: url  # type: ignore[method-assign]
    parser.normalizeLinkText = lambda link: link  # type: ignore[method-assign]
    return parser


def parse(text: str) -> Document:
    """Parse a Markdown runbook (front matter, then CommonMark with tables)."""
    front: dict[str, Any] = {}
    body = text
    offset = 0
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            loaded = None
        if isinstance(loaded, dict):
            front = {str(k): v for k, v in loaded.items()}
            body = text[match.end() :]
            offset = text[: match.end()].count("\n")
    lines = body.splitlines(keepends=True)
    env: dict[str, Any] = {}
    tokens = _parser().parse(body, env)
    blocks = _blocks(tokens, 0, len(tokens), lines)
    references = env.get("references", {})
    if references:
        # A reference definition may sit far from its use (often at the end of the file): each use becomes an
        # inline link, so a field carries its target with it (the definitions themselves leave no block).
        for block in _walk(blocks):
            block.inline = inline_references(block.inline, references) if block.kind != "code" else block.inline
            block.text = inline_references(block.text, references) if block.kind in ("table", "quote") else block.text
    root = Section("", 0)
    stack = [root]
    for block in blocks:
        if block.kind == "heading":
            section = Section(block.inline, block.level, line=block.start)
            while stack[-1].level >= block.level:
                stack.pop()
            stack[-1].children.append(section)
            stack.append(section)
        else:
            stack[-1].blocks.append(block)
    return Document(text=body, front_matter=front, root=root, body_offset=offset)


def _walk(blocks: list[Block]) -> list[Block]:
    out = []
    for block in blocks:
        out.append(block)
        for item in block.items:
            out += _walk(item.blocks)
    return out


_REFERENCE = re.compile(r"(!?)\[((?:[^\[\]\n]|\[[^\[\]\n]*\])+)\](?:\[([^\[\]\n]*)\]|(?![(:\[]))")


def inline_references(text: str, references: dict[str, Any]) -> str:
    """``[text][label]``, ``[label][]`` and ``[label]`` written as inline links to their definitions' targets."""

    def inline(match: re.Match[str]) -> str:
        label = match.group(3) if match.group(3) else match.group(2)
        found = references.get(normalizeReference(label))
        if not isinstance(found, dict) or "href" not in found:
            return match.group(0)
        title = f' "{found["title"]}"' if found.get("title") else ""
        return f"{match.group(1)}[{match.group(2)}]({found['href']}{title})"

    return _REFERENCE.sub(inline, text) if "[" in text else text


def _closing(tokens: list[Token], start: int) -> int:
    """Index of the token that closes the one at ``start``."""
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index
    return len(tokens) - 1


def _blocks(tokens: list[Token], start: int, stop: int, lines: list[str]) -> list[Block]:
    out: list[Block] = []
    index = start
    while index < stop:
        token = tokens[index]
        end = _closing(tokens, index) if token.nesting == 1 else index
        span = token.map or [0, 0]
        source = "".join(lines[span[0] : span[1]])
        inner = tokens[index : end + 1]
        if token.type == "heading_open":
            out.append(Block("heading", source, span[0], span[1], inline=_plain(inner), level=int(token.tag[1])))
        elif token.type == "paragraph_open":
            links, images = _refs(inner)
            out.append(
                Block("paragraph", source, span[0], span[1], inline=inner[1].content, links=links, images=images)
            )
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            out.append(_list(tokens, index, end, lines, source))
        elif token.type in ("fence", "code_block"):
            out.append(Block("code", source, span[0], span[1], inline=token.content, info=token.info.strip()))
        elif token.type == "table_open":
            cells = [t.content for t in inner if t.type == "inline"]
            links, images = _refs(inner)
            out.append(Block("table", source, span[0], span[1], cells=cells, links=links, images=images))
        elif token.type == "html_block":
            # A comment is invisible on GitHub: it is a note to the authors, not text for a responder.
            comment = re.fullmatch(r"\s*<!--(.*?)-->\s*", token.content, re.DOTALL)
            kind = "comment" if comment else "html"
            out.append(
                Block(kind, source, span[0], span[1], inline=comment.group(1).strip() if comment else token.content)
            )
        elif token.type == "blockquote_open":
            links, images = _refs(inner)
            out.append(Block("quote", source, span[0], span[1], links=links, images=images))
        elif token.type == "hr":
            out.append(Block("hr", source, span[0], span[1]))
        index = end + 1
    return out


def _list(tokens: list[Token], index: int, end: int, lines: list[str], source: str) -> Block:
    span = tokens[index].map or [0, 0]
    items: list[Item] = []
    position = index + 1
    while position < end:
        token = tokens[position]
        close = _closing(tokens, position)
        if token.type == "list_item_open":
            item_span = token.map or [0, 0]
            items.append(Item(_blocks(tokens, position + 1, close, lines), item_span[0], item_span[1]))
        position = close + 1
    links, images = _refs(tokens[index : end + 1])
    ordered = tokens[index].type == "ordered_list_open"
    # markdown-it hides the paragraphs of a tight list's items.
    level = tokens[index].level + 2
    tight = all(t.hidden for t in tokens[index:end] if t.type == "paragraph_open" and t.level == level)
    return Block(
        "list", source, span[0], span[1], ordered=ordered, tight=tight, items=items, links=links, images=images
    )


def _plain(tokens: list[Token]) -> str:
    """A heading's text without its Markdown: text, code spans and link labels."""
    parts = []
    for token in tokens:
        for child in token.children or []:
            if child.type in ("text", "code_inline"):
                parts.append(child.content)
            elif child.type == "softbreak":
                parts.append(" ")
    return " ".join("".join(parts).split())


def _refs(tokens: list[Token]) -> tuple[list[str], list[str]]:
    links: list[str] = []
    images: list[str] = []
    for token in tokens:
        for child in token.children or []:
            if child.type == "link_open":
                links.append(str(child.attrs.get("href", "")))
            elif child.type == "image":
                images.append(str(child.attrs.get("src", "")))
    return links, images


def item_markdown(item: Item, lines: list[str]) -> str:
    """A list item's own text without its marker, dedented (continuation lines under the marker)."""
    first = lines[item.start] if item.start < len(lines) else ""
    marker = re.match(r"[ \t]*(?:[-*+]|\d+[.)])[ \t]*", first)
    width = len(marker.group(0)) if marker else 0
    out = [first[width:]]
    for line in lines[item.start + 1 : item.end]:
        stripped = len(line) - len(line.lstrip(" "))
        out.append(line[min(width, stripped) :])
    return "".join(out).strip("\n")


def comments(section: Section) -> list[str]:
    """The HTML comments of a document, in order (authors' notes the import keeps for review)."""
    found = [b.inline for b in _walk(section.blocks) if b.kind == "comment" and b.inline]
    for child in section.children:
        found += comments(child)
    return found
