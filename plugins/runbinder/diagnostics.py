"""Located problems and the three ways of printing them (text, json, github)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Level = Literal["error", "warning"]
FORMATS = ("text", "json", "github")


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem at one place. Lines and columns start at 1; 0 means "the whole file"."""

    path: str
    line: int
    col: int
    level: Level
    message: str
    rule: str

    def text(self) -> str:
        """The yamllint-style line editors and CI understand."""
        return f"{self.path}:{self.line}:{self.col}: {self.level}: {self.message} ({self.rule})"

    def github(self) -> str:
        """A GitHub Actions workflow command that annotates the line in a pull request."""
        kind = "error" if self.level == "error" else "warning"
        # Workflow commands treat these characters specially; escape them as GitHub documents.
        msg = self.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        path = self.path.replace("%", "%25").replace(",", "%2C").replace(":", "%3A")
        return f"::{kind} file={path},line={self.line},col={self.col},title={self.rule}::{msg}"


def sort_key(d: Diagnostic) -> tuple[str, int, int, str, str]:
    """Order by file, then position, so output reads top to bottom."""
    return (d.path, d.line, d.col, d.rule, d.message)


def format_diagnostics(diagnostics: Iterable[Diagnostic], fmt: str) -> str:
    """Render diagnostics in one of FORMATS; the result ends with a newline unless empty."""
    items = sorted(diagnostics, key=sort_key)
    if fmt == "json":
        return json.dumps([asdict(d) for d in items], indent=2, ensure_ascii=False) + "\n"
    if not items:
        return ""
    if fmt == "github":
        return "\n".join(d.github() for d in items) + "\n"
    return "\n".join(d.text() for d in items) + "\n"


def summary(diagnostics: Iterable[Diagnostic], files: int) -> str:
    """A one-line count for the end of a text report."""
    items = list(diagnostics)
    errors = sum(d.level == "error" for d in items)
    warnings = len(items) - errors
    checked = f"{files} file{'s' if files != 1 else ''} checked"
    if not items:
        return f"{checked}: no problems"
    return f"{checked}: {errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
