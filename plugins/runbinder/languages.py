"""Command languages: the fence labels runbooks use, and what each is read as."""

from __future__ import annotations

ALIASES = {
    "shell": "bash",
    "console": "bash",
    "zsh": "bash",
    "yml": "yaml",
    "txt": "text",
    "plaintext": "text",
    "log": "text",
}
"""Labels accepted as another language: a ``console`` block is shell commands once its prompts are removed."""

HIGHLIGHT = {"sh": "bash", "promql": "text", "markdown": "markdown", "php": "php", "text": "text"}
"""The Pygments lexer for a language where the names differ (PromQL has none: shown as text)."""


def canonical(language: object) -> str:
    """The language a command is checked and highlighted as (``bash`` when none is given)."""
    name = str(language or "bash")
    return ALIASES.get(name, name)


def highlight(language: object) -> str:
    """The Pygments lexer name for a command language."""
    name = canonical(language)
    return HIGHLIGHT.get(name, name)
