"""Located problems and the three ways of printing them (text, json, github).

File names and messages quote what users wrote, and a file name may hold any character but ``/`` and NUL. Every
format therefore escapes what could break its lines or steer whatever reads them: a terminal (control characters),
a GitHub Actions log, whose runner takes a line starting with ``::`` (after leading spaces) or holding ``##[`` anywhere
as a workflow command, and GitHub's own escaping inside the annotations of the ``github`` format.
"""

from __future__ import annotations

import json
import re
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
        """The yamllint-style line editors and CI understand: always one line, whatever the path or message hold."""
        path = printable(self.path)
        if path.lstrip().startswith("::"):  # would read as a GitHub workflow command
            path = "./" + path
        return _defuse(f"{path}:{self.line}:{self.col}: {self.level}: {printable(self.message)} ({self.rule})")

    def github(self) -> str:
        """A GitHub Actions workflow command that annotates the line in a pull request."""
        kind = "error" if self.level == "error" else "warning"
        # GitHub's escaping first, so that it decodes the file name back to the real one; then what GitHub leaves
        # (other control characters, which its log viewer would interpret) is made visible.
        path = printable(_github_property(self.path))
        title = printable(_github_property(self.rule))
        message = printable(_github_data(self.message))
        return f"::{kind} file={path},line={self.line},col={self.col},title={title}::{message}"


# C0 and C1 controls and DEL (newlines, terminal escapes), Unicode line separators (str.splitlines and some editors
# break there), bidirectional overrides (they reorder what a terminal shows) and lone surrogates (the bytes of a file
# name that is not UTF-8, as Python keeps them: they cannot be written to a UTF-8 stream at all).
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """``text`` with every character of _UNPRINTABLE written as a visible escape (``\\n``, ``\\x1b``, ``\\u202e``).

    A byte of a file name that is not UTF-8 is shown as that byte (``\\xff``)."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _defuse(line: str) -> str:
    # GitHub's runner also takes the old "##[command]" form anywhere in a line; one '#' written as an escape
    # leaves it readable and inert.
    return line.replace("##[", "#\\x23[")


def _github_property(value: str) -> str:
    """GitHub's escaping for a workflow command property (file=, title=)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")


def _github_data(value: str) -> str:
    """GitHub's escaping for a workflow command's data (the message)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


# What json.dumps(ensure_ascii=False) writes as is but a terminal or CI log would act on; JSON's \u escapes keep the
# decoded strings exactly as they were.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]|##\[")


def _json_escape(match: re.Match[str]) -> str:
    found = match.group()
    return "##\\u005b" if found == "##[" else f"\\u{ord(found):04x}"


def sort_key(d: Diagnostic) -> tuple[str, int, int, str, str]:
    """Order by file, then position, so output reads top to bottom."""
    return (d.path, d.line, d.col, d.rule, d.message)


def format_diagnostics(diagnostics: Iterable[Diagnostic], fmt: str) -> str:
    """Render diagnostics in one of FORMATS; the result ends with a newline unless empty."""
    items = sorted(diagnostics, key=sort_key)
    if fmt == "json":
        dumped = json.dumps([asdict(d) for d in items], indent=2, ensure_ascii=False)
        return _JSON_UNSAFE.sub(_json_escape, dumped) + "\n"
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
