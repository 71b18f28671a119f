"""Find the placeholders a command or template uses, in every common spelling, and what a runbook assigns itself.

Spellings: ``$VAR`` and ``${VAR}``, ``{name}``, ``<NAME>`` and ``<name with spaces>`` (``<instance label from
alert>``), ``${name-with-hyphens}``, and declared bare words. A shell variable that the same command, or an earlier
command of the same runbook, gives a value (``X=1``, ``export X=``, ``read X``, ``for X in``) is not a placeholder.
``neutral`` replaces the spellings that are not shell words with same-length words, so parsers never mistake a
placeholder for syntax and their messages keep their columns.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console", "zsh"})
"""Languages read as shell (the schema accepts the usual fence labels as aliases of bash)."""

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
        "BASHPID",
        "FUNCNAME",
        "PIPESTATUS",
        "REPLY",
        "OPTARG",
        "OPTIND",
        "KUBECONFIG",
        "COLUMNS",
        "LINES",
        "SHLVL",
        "HOSTTYPE",
        "OSTYPE",
        "MACHTYPE",
    }
)

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# ${name} and $name; ${name...} with an operator after the name (${X:-default}, ${X#prefix}) uses name.
_SHELL_VAR = re.compile(rf"\$(?:\{{({_NAME})([^}}]*)\}}|({_NAME}))")
# ${top-user-from-last-command}: words joined by hyphens, read as one placeholder unless its first word is known.
_HYPHENATED = re.compile(r"-[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*")
_BRACE = re.compile(r"(?<![$\w{])\{([A-Za-z_][A-Za-z0-9_.-]*)\}(?!\})")
# <NAME>, <pod-name>, <instance label from alert>, <"Used By:" field>: not after '<' (a heredoc), not ending in a
# space (`cmd <in >out` is two redirections), no shell operator inside.
_ANGLE = re.compile(r"(?<!<)<([A-Za-z_\"'](?:[^<>\n|;&()$=`]*[^\s<>|;&()$=`])?)>")
_TEMPLATE = re.compile(r"\{([^{}\n]+)\}")
# Names a command gives values itself: `X=1`, `X+=1`, `X=(...)`, `export X=`, `local X`, `for X in`, `read -r X Y`.
_ASSIGNED = re.compile(
    rf"(?:^|[\s;&|(`])(?:export\s+|local\s+|declare\s+(?:-\w+\s+)*|readonly\s+|typeset\s+)?({_NAME})\+?="
    rf"|\b(?:for|select)\s+({_NAME})\s+in\b"
    rf"|\b(?:export|local|declare|readonly|typeset)[ \t]+(?:-\w+[ \t]+)*((?:{_NAME}[ \t]+)*{_NAME})[ \t]*(?=$|[;&|])"
    r"|(?:^|[\s;&|(])(read|mapfile|readarray)((?:[ \t]+[^\s;&|<>]+)+)",
    re.MULTILINE,
)
# Options of `read` and of `mapfile` that take a value (the word after them is not a variable name).
_OPTION_VALUES = {
    "read": frozenset({"-a", "-d", "-i", "-n", "-N", "-p", "-t", "-u"}),
    "mapfile": frozenset({"-d", "-n", "-O", "-s", "-u", "-C", "-c"}),
}


class Use(NamedTuple):
    """One placeholder occurrence: its name and the character offset where it starts."""

    name: str
    offset: int


# Shell quoting, token by token: an escape, a single-quoted string, a double-quoted string, or other text.
_NOT_NEWLINE = re.compile(r"[^\n]")
_SHELL_TOKENS = re.compile(r"""\\.|'[^']*'?|"(?:\\.|[^"\\])*"?|[^\\'"]+|.""", re.DOTALL)


def _mask_single_quotes(code: str, fill: str = " ") -> str:
    """Blank out single-quoted shell text (no expansion happens there), keeping offsets and newlines."""
    if "'" not in code:
        return code
    return "".join(
        _NOT_NEWLINE.sub(fill, token) if token.startswith("'") else token for token in _SHELL_TOKENS.findall(code)
    )


@functools.lru_cache(maxsize=4096)  # validation asks for each command twice; runbooks repeat commands
def assigned_names(code: str, language: str = "bash") -> frozenset[str]:
    """Shell variables a command gives a value (or declares) itself; nothing for other languages."""
    if language not in SHELL_LANGUAGES:
        return frozenset()
    masked = _mask_single_quotes(code, "_")  # a quoted word stays one word: `read -p 'Pod? ' POD`
    names: set[str] = set()
    for match in _ASSIGNED.finditer(masked):
        single = match.group(1) or match.group(2)
        if single:
            names.add(single)
        elif match.group(3):
            names.update(match.group(3).split())
        elif match.group(5):
            values = _OPTION_VALUES["read" if match.group(4) == "read" else "mapfile"]
            skip = False
            for word in match.group(5).split():
                if skip:
                    skip = False
                elif word.startswith("-"):
                    skip = word in values
                elif re.fullmatch(_NAME, word):
                    names.add(word)
    return frozenset(names)


def command_uses(code: str, language: str, bare: Iterable[str] = (), known: Iterable[str] = ()) -> Iterator[Use]:
    """Placeholders used by a command; shell variables only for shell languages.

    ``known`` names shell variables that already have a value (given by an earlier command of the runbook): they
    are not placeholders, nor is anything the command assigns itself."""
    shell = language in SHELL_LANGUAGES
    masked = _mask_single_quotes(code) if shell else code
    if shell and "$" in masked:
        assigned = assigned_names(code, language) | set(known)
        for match in _SHELL_VAR.finditer(masked):
            name = match.group(1) or match.group(3)
            after = match.group(2) or ""
            if match.group(1) and _HYPHENATED.fullmatch(after) and not _is_known(name, assigned):
                # ${top-user-from-last-command}: a placeholder named by hyphenated words, not a default value
                yield Use(name + after, match.start())
            elif name not in STANDARD_SHELL_VARIABLES and name not in assigned:
                yield Use(name, match.start())
    if "{" in masked:  # most commands have none: skip the scan
        for match in _BRACE.finditer(masked):
            yield Use(match.group(1), match.start())
    if "<" in code:  # a placeholder in single quotes ('<namespace label>') is still one to replace
        for match in _ANGLE.finditer(code):
            yield Use(match.group(1), match.start())
    yield from bare_uses(code, bare)


def _is_known(name: str, assigned: Iterable[str]) -> bool:
    """``${NAME-default}`` reads as bash's default value when NAME is a known or environment-style variable."""
    return name in assigned or name in STANDARD_SHELL_VARIABLES or name.isupper()


def runbook_uses(
    commands: Sequence[tuple[str, str]], bare: Iterable[str] = (), known: Iterable[str] = ()
) -> list[list[Use]]:
    """The placeholders of each of a runbook's commands, given as (code, language) in order: a shell variable set by
    an earlier command (``export NAMESPACE=...``, ``read X``) is not one."""
    bare = list(bare)
    given = set(known)
    out: list[list[Use]] = []
    for code, language in commands:
        out.append(list(command_uses(code, language, bare, given)))
        given |= assigned_names(code, language)
    return out


def bare_uses(text: str, bare: Iterable[str]) -> Iterator[Use]:
    """Occurrences of declared bare placeholders (USR, DB) as whole words."""
    for name in bare:
        for match in re.finditer(rf"(?<![\w$]){re.escape(name)}(?!\w)", text):
            yield Use(name, match.start())


def template_uses(text: str) -> Iterator[Use]:
    """``{placeholder}`` occurrences in a communication template (names may contain spaces)."""
    for match in _TEMPLATE.finditer(text):
        yield Use(match.group(1), match.start())


def neutral(code: str) -> str:
    """The command with every placeholder that is not a shell word (``<NAME>``, ``<name with spaces>``, ``{id}``)
    replaced by a word of the same length (``_NAME_``, ``_name_with_spaces_``, ``_id_``), so a placeholder is never a
    syntax error and a parser's line and column still point into the command as written."""
    if "<" not in code and "{" not in code:
        return code
    code = _ANGLE.sub(_same_length_word, code)
    return _BRACE.sub(_same_length_word, code)


def _same_length_word(match: re.Match[str]) -> str:
    return "_" + re.sub(r"\W", "_", match.group(1)) + "_"


class Span(NamedTuple):
    """Where a placeholder stands in a command, markers included (``$X``, ``${X:-y}``, ``<X>``, ``{x}``, ``X``)."""

    name: str
    start: int
    end: int


def extent(code: str, use: Use) -> int:
    """The offset just past the placeholder ``use`` as written, its markers included."""
    start = use.offset
    if code.startswith("${", start):
        close = code.find("}", start)
        return close + 1 if close >= 0 else start + 2 + len(use.name)
    if code.startswith("$", start):
        return start + 1 + len(use.name)
    if code.startswith(("<", "{"), start):
        return start + len(use.name) + 2
    return start + len(use.name)


def spans(code: str, language: str, names: Iterable[str], bare: Iterable[str] = ()) -> list[Span]:
    """The placeholders of ``names`` (those the page declares) in a command, in order and never overlapping: what
    the site marks in the highlighted command and fills in with the reader's values."""
    wanted = set(names)
    found = sorted(
        (Span(use.name, use.offset, extent(code, use)) for use in command_uses(code, language, bare)),
        key=lambda s: (s.start, -s.end),
    )
    out: list[Span] = []
    for span in found:
        if span.name in wanted and (not out or span.start >= out[-1].end) and "\n" not in code[span.start : span.end]:
            out.append(span)
    return out
