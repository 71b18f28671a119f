"""Code blocks to commands: language, prompts removed, output kept apart, PromQL recognised, placeholders found."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..languages import canonical

SHELL_LABELS = frozenset({"", "bash", "sh", "shell", "console", "zsh"})
KNOWN_LANGUAGES = frozenset(
    {
        "bash", "sh", "shell", "console", "zsh", "sql", "promql", "yaml", "yml", "json", "php", "javascript",
        "python", "text", "txt", "plaintext", "log", "markdown",
    }
)  # fmt: skip
"""The languages the schema accepts (its aliases included)."""

# Shell prompts as transcripts show them: "$ ", "sh-4.4# ", "[root@node /]# ", "user@host:~$ ".
_PROMPT = re.compile(
    r"^(?P<indent>[ \t]*)(?P<prompt>\$|(?:sh|bash)-\d+(?:\.\d+)*[#$]|\[[^\]\n]{1,60}\][#$]"
    r"|[\w.-]+@[\w.-]+:[^\s$#]*[#$])[ \t]"
)
_HASH_PROMPT = re.compile(r"^(?P<indent>[ \t]*)(?P<prompt>#)[ \t](?=[a-z])")
_SQL_PROMPT = re.compile(r"^(?P<indent>[ \t]*)(?P<prompt>[\w-]+=[#>]|mysql>|sqlite>)[ \t]")
_SHELL_START = re.compile(
    r"^\s*(?:sudo\s+)?(?:oc|kubectl|curl|wget|helm|virtctl|ceph|rados|rbd|etcdctl|echo|cat|grep|awk|sed|jq|ssh|"
    r"systemctl|journalctl|export|for|if|while|cd|ls|watch|podman|docker|crictl|chroot|openssl|git|python3?|"
    r"oc-\w+|az|aws|gcloud|promtool|amtool|curl)\b"
)


# Markdown that no shell command starts with: a bold lead-in (**Status:** Investigating) or bullet points of prose.
_BOLD_LINE = re.compile(r"^\s*\*\*[^*\s][^*]*\*\*")
_BULLET_LINE = re.compile(r"^\s*[-*] [A-Za-z~<>]")
_LABEL_LINE = re.compile(r"^\s*[A-Z][A-Za-z /()-]{0,30}: \S")


@dataclass
class Converted:
    """What one code block became: commands, and anything worth a reviewer's look."""

    commands: list[dict[str, Any]] = field(default_factory=list)
    review: list[str] = field(default_factory=list)


def convert(code: str, info: str) -> Converted:
    """A fenced or indented code block as runbinder commands."""
    label = (info.split() or [""])[0].lower()
    out = Converted()
    language = label if label in KNOWN_LANGUAGES else ("bash" if label == "" else "text")
    if label and label not in KNOWN_LANGUAGES:
        out.review.append(f"a code block fenced as {label!r} is kept as text")
    if label in SHELL_LABELS:
        commands = _transcript(code, label)
        if commands is not None:
            out.commands = [{**c, "language": c.get("language", "bash")} for c in commands]
            return out
        misfenced = _not_shell(code)
        if misfenced == "promql" and not _parses(" ".join(_uncommented(code).split())):
            # one query a line: each its own command, so each is checked on its own
            out.commands = _queries(code)
            out.review.append(f"PromQL queries fenced as {label or 'code'} are read as PromQL, one per command")
            return out
        if misfenced is not None:
            out.commands = [{"language": misfenced, "code": code.strip("\n")}]
            what = {
                "promql": "a PromQL query",
                "yaml": "YAML",
                "json": "JSON",
                "text": "text that is not a shell command",
            }[misfenced]
            out.review.append(f"{what} fenced as {label or 'code'} is read as {misfenced}")
            return out
    body = code.strip("\n")  # blank lines around a block mean nothing (and a shebang must come first)
    if not body.strip():
        return out
    lines = body.split("\n")
    if label in ("promql", "sql") and all(re.match(r"\s*\$ ", line) for line in lines if line.strip()):
        body = "\n".join(re.sub(r"^(\s*)\$ ", r"\1", line) for line in lines)  # a prompt before each query
        out.review.append(f"prompts were taken off a {label} block")
    out.commands = [{"language": language, "code": body}]
    if label in ("sql", "") and _SQL_PROMPT.match(body):
        out.commands = _transcript(body, "sql") or out.commands
    return out


def _transcript(code: str, label: str) -> list[dict[str, Any]] | None:
    """Commands and their output from a console transcript; None when the block has no prompts."""
    lines = code.rstrip("\n").split("\n")
    patterns = [_SQL_PROMPT] if label == "sql" else [_PROMPT]
    if label == "console" and not any(_PROMPT.match(line) for line in lines):
        patterns.append(_HASH_PROMPT)
    prompts = [next((p.match(line) for p in patterns if p.match(line)), None) for line in lines]
    if not any(prompts):
        return None
    commands: list[dict[str, Any]] = []
    before: list[str] = []
    continuing = False
    heredoc: str | None = None
    for line, match in zip(lines, prompts, strict=True):
        if match and not continuing and heredoc is None:
            text = line[match.end() :]
            command: dict[str, Any] = {"code": text, "output": []}
            prompt = match.group("prompt")
            if prompt not in ("$", "#"):
                command["runs_in"] = f"a session with the prompt {prompt}"
            if label == "sql":
                command["language"] = "sql"
            commands.append(command)
        elif commands and (continuing or heredoc is not None):
            commands[-1]["code"] += "\n" + line
        elif commands:
            commands[-1]["output"].append(line)
        else:
            before.append(line)
        if commands and not commands[-1]["output"]:
            last = commands[-1]["code"].split("\n")[-1]
            continuing = last.rstrip().endswith("\\")
            if heredoc is None:
                start = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", last)
                heredoc = start.group(1) if start else None
            elif last.strip() == heredoc:
                heredoc = None
        else:
            continuing = False
    out = []
    if before:
        out.append({"language": "text", "code": "\n".join(before), "title": "Shown before the first prompt"})
    for command in commands:
        entry = {k: v for k, v in command.items() if k != "output"}
        if not entry["code"].strip():
            entry["code"] = entry["code"] or " "
        output = "\n".join(command["output"]).strip("\n")
        if output.strip():
            entry["sample_output"] = output
        out.append(entry)
    return [c for c in out if c["code"].strip()] or None


# A log line: klog's "I0611 11:13:35" or "update.go:2641]", an ISO timestamp, logfmt's "level=".
_LOG_LINE = re.compile(
    r"^\s*(?:[IWEF]\d{4} \d\d:\d\d:\d\d|(?:\d+\s+)?[\w.-]+\.go:\d+\]|\d{4}-\d\d-\d\d[T ]\d\d:\d\d|level=\w+ )"
)
_YAML_LINE = re.compile(r"^\s*(?:- )?[\w.\-/\"']+:(?:\s|$)|^\s*- |^\s*#|^\s*$|^\s*\.\.\.\s*$")
# key = value on every line: Go, TOML or INI settings (bash would read "key" as a command).
_SETTING_LINE = re.compile(r"^\s*[\w.\[\]\"-]+\s+=\s+\S")
# A message quoted on its own (an error a program prints), not a command.
_QUOTED = re.compile(r"""^\s*(?:"[^"\n]*"|'[^'\n]*')""")


def _not_shell(code: str) -> str | None:
    """The language of a block fenced as shell that holds no shell command: PromQL, YAML, or text (log lines,
    program source, arithmetic). Only blocks bash refuses count as text, so a real command with a real syntax
    error stays a command for `runbinder check` to report."""
    lines = [line for line in code.split("\n") if line.strip()]
    if not lines or _SHELL_START.match(lines[0]):
        return None
    if _looks_like_promql(code):
        return "promql"
    if all(_YAML_LINE.match(line) for line in lines) and any(":" in line for line in lines):
        try:
            loaded = yaml.safe_load(re.sub(r"(?m)^\s*\.\.\.\s*$", "", code))  # "..." for lines left out
        except yaml.YAMLError:
            loaded = None
        if isinstance(loaded, (dict, list)):
            return "yaml"
    if lines[0].lstrip().startswith(("{", "[")):
        try:
            json.loads(code)
        except ValueError:
            pass
        else:
            return "json"
    if all(_LOG_LINE.match(line) or line.startswith((" ", "\t")) for line in lines):
        return "text"
    if all(_SETTING_LINE.match(line) or line.lstrip().startswith(("#", "//")) for line in lines):
        return "text"
    if _QUOTED.match(lines[0]):
        return "text"
    if any(_BOLD_LINE.match(line) for line in lines) or sum(bool(_BULLET_LINE.match(line)) for line in lines) >= 2:
        return "text"  # a message or template written in Markdown (**Status:** ..., - bullet points)
    if len(lines) >= 3 and sum(bool(_LABEL_LINE.match(line)) for line in lines) * 2 >= len(lines):
        return "text"  # a form to fill in: Title: ..., Detected: ..., Owner: ...
    from ..checks.commands import _bash_n

    status, _ = _bash_n(code)
    return "text" if status not in (0, None) else None


def _queries(code: str) -> list[dict[str, Any]]:
    """One command per query line; the comment lines before a query become its title."""
    commands: list[dict[str, Any]] = []
    comments: list[str] = []
    for line in code.split("\n"):
        comment = re.match(r"^\s*(?:#|//)\s?(.*)$", line)
        if comment:
            comments.append(comment.group(1).strip())
        elif line.strip():
            command: dict[str, Any] = {"language": "promql", "code": line.strip()}
            if any(comments):
                command["title"] = " ".join(c for c in comments if c)
            commands.append(command)
            comments = []
    return commands


def _uncommented(code: str) -> str:
    return "\n".join(line for line in code.split("\n") if line.strip() and not re.match(r"^\s*(#|//)", line))


def _looks_like_promql(code: str) -> bool:
    """One query, or one query a line, with comment lines (``#``, ``//``) allowed around them."""
    lines = _uncommented(code).split("\n")
    text = "\n".join(lines).strip()
    if not text or _SHELL_START.match(text) or len(lines) > 40:
        return False
    if not re.match(r"^[a-zA-Z_:(][\w:]*\s*(?:\{|\(|\[|by\b|without\b|$|[<>=!]=?|\s)", text):
        return False
    if not re.search(r"[{(\[]", text) or len(text) > 8000 or text.count("(") > 200:
        return False  # the native parser is only handed short, shallow text
    return _parses(" ".join(text.split())) or all(_parses(line.strip()) for line in lines)


def _parses(query: str) -> bool:
    try:
        import promql_parser

        promql_parser.parse(query)
    except Exception:  # anything the parser rejects is not PromQL
        return False
    return True


@dataclass
class Facts:
    """What runbinder's own checks will see in a command: its placeholders (to declare), the shell variables it
    assigns, the programs it runs (for the tools inventory) and whether it changes state (``destructive``)."""

    placeholders: list[str]
    assigned: frozenset[str]
    programs: set[str]
    change: str | None


def inspect(code: str, language: str, known: set[str]) -> Facts:
    """A command seen through the very functions `runbinder validate` and `check` use, so what the import
    declares and marks is what they expect."""
    from ..checks.commands import STANDARD_EXECUTABLES, executables, state_change
    from ..placeholders import SHELL_LANGUAGES, assigned_names, command_uses

    names: list[str] = []
    for use in command_uses(code, language, (), known):
        if use.name not in names:
            names.append(use.name)
    programs: set[str] = set()
    change = None
    if language in SHELL_LANGUAGES:
        defined = set(re.findall(r"^\s*(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\s*\)", code, re.MULTILINE))
        programs = {
            name
            for name, _ in executables(code)
            if name not in STANDARD_EXECUTABLES
            and "/" not in name
            and name not in defined
            and re.fullmatch(r"[A-Za-z0-9._+-]+", name)
        }
    found = state_change(code, canonical(language))
    if found is not None:
        change = str(found)
    return Facts(names, assigned_names(code, language), programs, change)
