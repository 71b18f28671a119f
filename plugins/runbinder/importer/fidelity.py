"""Proof that an import dropped nothing: every item of the sources, looked for in what the import wrote.

Items are counted from the source files with their own parse: every non-empty code line, paragraph, list item,
table cell, heading, link target and image. Each must appear in the project's YAML or shared pages, as written
or as the import rewrote it (a link target to another imported file, a prompt taken off a command line, a remote
image turned into a link). Whitespace is compared loosely; nothing else is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .commands import _HASH_PROMPT, _PROMPT, _SQL_PROMPT
from .layout import IMPACT, SUMMARY, key
from .source import Block, Section, parse

MAPPED_HEADINGS = frozenset(SUMMARY) | frozenset(IMPACT)
_HUGO_REF = re.compile(r"\{\{[<%]\s*(?:rel)?ref\s+\"([^\"\n]+)\"\s*[>%]\}\}")


@dataclass
class Fidelity:
    """Counts of source items by kind, and every item not found in the output."""

    counted: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    missing: list[tuple[str, str, str]] = field(default_factory=list)  # (source file, kind, item)

    @property
    def complete(self) -> bool:
        """True when every item was found."""
        return not self.missing


def _normal(text: str) -> str:
    text = re.sub(r"!\[([^\]]*)\]\(", r"[Image: \1](", text)  # remote images become links
    text = re.sub(r"\]\([^)\n]*\)", "]()", text)  # link targets are compared separately
    text = text.replace("**", "").replace("`", "")
    return " ".join(text.split())


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def output_text(project: Path) -> tuple[str, str]:
    """(normalised text, raw text) of everything an import wrote: YAML strings and shared pages."""
    raw: list[str] = []
    for path in sorted(project.rglob("*")):
        if path.suffix == ".yaml" and path.is_file():
            raw += _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
        elif path.suffix == ".md" and path.is_file():
            raw.append(path.read_text(encoding="utf-8"))
    joined = "\n".join(raw)
    return _normal(joined), joined


def _items(section: Section) -> Iterator[tuple[str, str]]:
    if section.title:
        yield "heading", section.title
    for block in section.blocks:
        yield from _block_items(block)
    for child in section.children:
        yield from _items(child)


def _block_items(block: Block) -> Iterator[tuple[str, str]]:
    if block.kind == "paragraph":
        yield "paragraph", block.inline
    elif block.kind == "code":
        for line in block.inline.split("\n"):
            if line.strip():
                yield "code line", line
    elif block.kind == "list":
        for item in block.items:
            for child in item.blocks:
                for sub_kind, text in _block_items(child):
                    yield ("list item" if sub_kind == "paragraph" else sub_kind), text
    elif block.kind == "table":
        for cell in block.cells:
            if cell.strip():
                yield "table cell", cell
    elif block.kind == "html":
        summary = re.search(r"<summary>(.*?)</summary>", block.inline, re.IGNORECASE | re.DOTALL)
        rest = re.sub(r"(?is)</?details[^>]*>|<summary>.*?</summary>", "", block.inline).strip()
        if summary:
            yield "heading", re.sub(r"<[^>]+>", "", summary.group(1)).strip()
        if rest:
            yield "html", rest
    elif block.kind == "comment" and block.inline:
        yield "comment", block.inline
    elif block.kind == "quote":
        yield "quote", block.text
    for target in block.links:
        yield "link target", target
    for source in block.images:
        yield "image", source


def check(sources: Iterable[Path], project: Path, rewrites: dict[str, dict[str, str]]) -> Fidelity:
    """Look for every item of ``sources`` in ``project``; ``rewrites`` are the import's own link rewrites
    (Report.rewrites, by source file as shown)."""
    normal, raw = output_text(project)
    result = Fidelity()
    all_rewrites = {target: new for mapping in rewrites.values() for target, new in mapping.items()}
    for source in sources:
        text = _HUGO_REF.sub(lambda m: m.group(1), source.read_text(encoding="utf-8-sig"))
        document = parse(text)
        for name, value in document.front_matter.items():
            if name == "title" and isinstance(value, str):
                result.counted["title"] += 1
                if _normal(value) in normal:
                    result.found["title"] += 1
                else:
                    result.missing.append((str(source), "title", value))
        for kind, item in _items(document.root):
            result.counted[kind] += 1
            if _present(kind, item, normal, raw, all_rewrites):
                result.found[kind] += 1
            else:
                result.missing.append((str(source), kind, item))
    return result


def _present(kind: str, item: str, normal: str, raw: str, rewrites: dict[str, str]) -> bool:
    if kind == "heading" and key(item) in MAPPED_HEADINGS:
        return True  # "Meaning", "Impact": the field they became carries their name (summary, impact)
    if kind in ("link target", "image"):
        return item in raw or (item in rewrites and rewrites[item] in raw)
    if kind == "code line":
        stripped = item
        for prompt in (_PROMPT, _SQL_PROMPT, _HASH_PROMPT):
            match = prompt.match(item)
            if match:
                stripped = item[match.end() :]
                break
        return _normal(stripped) in normal or _normal(item) in normal
    return _normal(item) in normal
