"""Find the placeholders a command or template uses: $VAR, ${VAR}, {name}, <NAME> and declared bare words."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

SHELL_LANGUAGES = frozenset({"bash", "sh"})

# Variables every shell or environment provides; a command using them declares nothing.
STANDARD_SHELL_VARIABLES = frozenset(
    {
        "HOME",
        "PATH",
        "USER",
        "LOGNAME",
        "PWD",
        "OLDPWD",
        "SHELL",
        "HOSTNAME",
        "RANDOM",
        "UID",
        "EUID",
        "PPID",
        "LINENO",
        "SECONDS",
        "IFS",
        "TMPDIR",
        "LANG",
        "TERM",
        "EDITOR",
        "PAGER",
        "BASH",
        "BASH_VERSION",
        "BASH_SOURCE",
        "FUNCNAME",
        "PIPESTATUS",
        "REPLY",
        "OPTARG",
        "OPTIND",
        "KUBECONFIG",
    }
)

_SHELL_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")
_BRACE = re.compile(r"(?<![$\w{])\{([A-Za-z_][A-Za-z0-9_-]*)\}(?!\})")
_ANGLE = re.compile(r"<([A-Za-z_][A-Za-z0-9_-]*)>")
_TEMPLATE = re.compile(r"\{([^{}\n]+)\}")
# Names a command gives values itself: `X=1`, `for X in`, `read X`, `export X=`.
_ASSIGNED = re.compile(
    r"(?:^|[\s;&|(])(?:export\s+|local\s+|declare\s+)?([A-Za-z_][A-Za-z0-9_]*)=|\bfor\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b"
    r"|\bread\s+(?:-[a-z]+\s+)*([A-Za-z_][A-Za-z0-9_]*)"
)


class Use(NamedTuple):
    """One placeholder occurrence: its name and the character offset where it starts."""

    name: str
    offset: int


# Shell quoting, token by token: an escape, a single-quoted string, a double-quoted string, or other text.
_NOT_NEWLINE = re.compile(r"[^\n]")
_SHELL_TOKENS = re.compile(r"""\\.|'[^']*'?|"(?:\\.|[^"\\])*"?|[^\\'"]+|.""", re.DOTALL)


def _mask_single_quotes(code: str) -> str:
    """Blank out single-quoted shell text (no expansion happens there), keeping offsets and newlines."""
    if "'" not in code:
        return code
    return "".join(
        _NOT_NEWLINE.sub(" ", token) if token.startswith("'") else token for token in _SHELL_TOKENS.findall(code)
    )


def command_uses(code: str, language: str, bare: Iterable[str] = ()) -> Iterator[Use]:
    """Placeholders used by a command; shell variables only for shell languages."""
    masked = _mask_single_quotes(code) if language in SHELL_LANGUAGES else code
    if language in SHELL_LANGUAGES and "$" in masked:
        assigned = {next(g for g in m.groups() if g) for m in _ASSIGNED.finditer(masked)}
        for match in _SHELL_VAR.finditer(masked):
            name = match.group(1) or match.group(2)
            if name not in STANDARD_SHELL_VARIABLES and name not in assigned:
                yield Use(name, match.start())
    for marker, pattern in (("{", _BRACE), ("<", _ANGLE)):
        if marker in masked:  # most commands have neither: skip the scan
            for match in pattern.finditer(masked):
                yield Use(match.group(1), match.start())
    yield from bare_uses(code, bare)


def bare_uses(text: str, bare: Iterable[str]) -> Iterator[Use]:
    """Occurrences of declared bare placeholders (USR, DB) as whole words."""
    for name in bare:
        for match in re.finditer(rf"(?<![\w$]){re.escape(name)}(?!\w)", text):
            yield Use(name, match.start())


def template_uses(text: str) -> Iterator[Use]:
    """``{placeholder}`` occurrences in a communication template (names may contain spaces)."""
    for match in _TEMPLATE.finditer(text):
        yield Use(match.group(1), match.start())
