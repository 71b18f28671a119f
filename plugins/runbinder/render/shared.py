"""Shared pages: Markdown files in the project's ``pages/`` folder that runbooks link to (helper procedures,
background), published as pages of their own through the same door as runbook prose."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .. import safe
from . import blocks as b
from .base import Renderer

MAX_BYTES = 4 * 1024 * 1024
_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(?:\n|\Z)", re.DOTALL)
_H1 = re.compile(r"\A\s*#[ \t]+(.+?)[ \t#]*(?:\n|\Z)")


def read_page(path: Path) -> tuple[str, str]:
    """(title, Markdown body) of a shared page: the front matter's title, else its first-level heading, else its
    file name. Unreadable bytes are shown as replacement characters, never an error."""
    with path.open("rb") as handle:
        raw = handle.read(MAX_BYTES)
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    title = ""
    match = _FRONT.match(text)
    if match:
        try:
            front = yaml.safe_load(match.group(1))
        except yaml.YAMLError:
            front = None
        if isinstance(front, dict) and isinstance(front.get("title"), str):
            title = front["title"]
        text = text[match.end() :]
    heading = _H1.match(text)
    if heading:
        title = title or heading.group(1).strip()
        text = text[heading.end() :]
    return title or path.stem.replace("-", " ").replace("_", " "), text.strip("\n")


def shared_page(r: Renderer, path: str, source: Path) -> b.Page:
    """A shared page: its title, then its body."""
    title, body = read_page(source)
    parts = [b.heading(1, safe.md_text(title))]
    if body.strip():
        parts.append(safe.page_block(body, r.context(path)))
    parts.append(r.referenced_by("page", path, path, 2, "referenced-by"))
    return b.Page(path, title, b.join(parts))
