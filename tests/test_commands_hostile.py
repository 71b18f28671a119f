"""`runbinder check` never crashes or hangs on hostile command text.

Each hostile command is generated here (none is committed: some are megabytes), written into a runbook of its own
in one scratch project, and the real CLI checks the whole project in a subprocess, as a user would run it: it must
finish in time, exit 1, and report each command's finding at its file, line and column, with no traceback, no
"internal error" and no crash of the interpreter (a native parser's segmentation fault kills the process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runbinder.checks import Item, commands
from runbinder.checks.commands import (
    MAX_CODE_BYTES,
    MAX_NESTING,
    MAX_OPERATORS,
    CommandChecker,
    command_items,
    guard,
    measure,
    run_tool,
    shellcheck_texts,
)
from runbinder.validate import load_project

from .conftest import CASES

# A loaded two-core CI machine: the whole hostile project is checked well within this.
RUN_SECONDS = 60

HEADER = """\
id: {id}
title: T
kind: alert-response
service: payments
owner: platform-team
summary: S.
last_reviewed: "2099-01-01"
phases:
  - title: P
    steps:
      - title: S
        commands:
          - language: {language}
"""
CODE_INDENT = 14  # columns before a line of a `code: |` block below


@dataclass(frozen=True)
class Hostile:
    """One hostile command and what `runbinder check` must say about it."""

    name: str
    language: str
    code: str
    rule: str | None  # None: the command is valid and must pass
    offset: int = 0  # character of the code the finding points at
    dialect: str | None = None
    quoted: bool = False  # written as a double-quoted scalar (escapes, or too long for an indented block)

    def runbook(self) -> str:
        text = HEADER.format(id=self.name, language=self.language)
        if self.dialect:
            text += f"            dialect: {self.dialect}\n"
        if self.quoted:  # JSON's string escapes are YAML's: the scalar holds exactly `code`
            return text + f"            code: {json.dumps(self.code)}\n"
        body = "".join(" " * CODE_INDENT + line + "\n" for line in self.code.split("\n"))
        return text + "            code: |-\n" + body

    def position(self) -> tuple[int, int]:
        """Line and column of the finding: inside a literal block exact, else the scalar's start."""
        code_line = 14 + (1 if self.dialect else 0)
        if self.quoted:
            return code_line, 19
        before = self.code[: self.offset]
        return code_line + 1 + before.count("\n"), CODE_INDENT + len(before) - (before.rfind("\n") + 1) + 1


def _nested(opener: str, inner: str, closer: str, depth: int) -> str:
    return opener * depth + inner + closer * depth


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join(['*' + chr(97 + n)] * 9)}]\n" for n in range(8)
)

HOSTILE = [
    # promql-parser is native code: these crashed the interpreter (segmentation fault) before the guard.
    Hostile("promql-100k-parens", "promql", "(" * 100_000, "command.too-large"),
    Hostile("promql-deep", "promql", _nested("(", "up", ")", 5_000), "command.too-large", offset=4_999),
    Hostile("promql-chain", "promql", " + ".join(["up"] * 10_000), "command.too-large"),
    Hostile("promql-legal-deep", "promql", _nested("(", 'up{job="((("}', ")", MAX_NESTING - 1), None),
    # json raises RecursionError past ~1,000 levels, and Python reads at most 4,300 digits of a number.
    Hostile("json-deep", "json", _nested("[", "", "]", 5_000), "command.too-large", offset=4_999),
    Hostile("json-legal-deep", "json", _nested("[", '"[[["', "]", MAX_NESTING), None),
    Hostile("json-long-number", "json", '{"n": ' + "9" * 5_000 + "}", None),
    # sqlglot raises RecursionError from about 40 levels; libpg_query overflows its stack on long operator chains.
    Hostile(
        "mysql-nested",
        "sql",
        "SELECT " + _nested("(", "1", ")", 100) + ";",
        "command.too-large",
        dialect="mysql",
    ),
    Hostile("mysql-deep", "sql", "SELECT " + _nested("(", "1", ")", 5_000), "command.too-large", 7 + 4_999, "mysql"),
    Hostile("mysql-unterminated", "sql", "SELECT 'abc", "command.syntax", dialect="mysql"),
    Hostile("sqlite-long-hex", "sql", "SELECT 0x" + "f" * 5_000 + ";", "command.too-large", dialect="sqlite"),
    Hostile("postgres-chain", "sql", "SELECT " + "+".join(["1"] * 30_000) + ";", "command.too-large"),
    Hostile("postgres-deep", "sql", "SELECT " + _nested("(", "1", ")", 5_000), "command.too-large", 7 + 4_999),
    # YAML snippets: values their tags cannot read, tags naming Python objects, duplicates, aliases, depth.
    Hostile("yaml-bad-int", "yaml", "a: !!int abc", "command.syntax", offset=3),
    Hostile("yaml-bad-float", "yaml", "a: 1\nb: !!float x", "command.syntax", offset=8),
    Hostile("yaml-bad-date", "yaml", "a: 2024-13-45", "command.syntax", offset=3),
    Hostile("yaml-bad-timestamp", "yaml", "a: !!timestamp foo", "command.syntax", offset=3),
    # Valid YAML that Python cannot read (JSON's numbers above are never converted, so they pass).
    Hostile("yaml-long-int", "yaml", "a: " + "9" * 5_000, "command.too-large", offset=3),
    Hostile("yaml-python-object", "yaml", "a: !!python/object:os.system {}", "command.syntax", offset=3),
    Hostile("yaml-duplicate-key", "yaml", "a: 1\nb: 2\na: 3", "command.syntax", offset=10),
    # f, the sixth anchor, is the first to expand past MAX_EXPANDED_NODES (9 ** 6 nodes).
    Hostile("yaml-alias-bomb", "yaml", BILLION_LAUGHS, "command.too-large", offset=BILLION_LAUGHS.index("&f")),
    Hostile("yaml-recursive-alias", "yaml", "a: &a [*a]", "command.syntax", offset=3),
    Hostile("yaml-deep", "yaml", "- " * 300 + "x", "command.too-large", offset=2 * MAX_NESTING),
    Hostile("yaml-deep-flow", "yaml", "[" * 5_000, "command.too-large", offset=MAX_NESTING),
    # bash -n and ShellCheck: ShellCheck stalled for minutes on both of these.
    Hostile("bash-nested", "bash", "echo " + _nested("$(", "x", ")", 5_000), "command.too-large", 5 + 2 * 4_999),
    Hostile("bash-200k-lines", "bash", "echo x\n" * 200_000, "command.too-large", quoted=True),
    Hostile("bash-nul", "bash", "echo a\0b", "command.character", quoted=True),
    Hostile("bash-escape", "bash", "echo \x1b[2J", "command.character", quoted=True),
    # ShellCheck's time doubles with each substitution nested in another: 20 levels took over two minutes.
    Hostile(
        "bash-quoted-substitutions",
        "bash",
        "echo " + _nested('"$(echo ', "ok", ')"', 20),
        "command.too-large",
        offset=5 + 8 * 19 + 1,
    ),
    Hostile("bash-arithmetic", "bash", "echo " + _nested("$((", "1", "))", 16), "command.too-large", 5 + 3 * 15),
    Hostile("bash-process-substitution", "bash", "diff " + _nested("<(cat ", "x", ")", 16), "command.too-large", 95),
    # Legal, and within the limits: bashlex (the tools inventory) raises RecursionError on the first.
    Hostile("bash-legal-deep-if", "bash", _nested("if true; then ", "true; ", "fi; ", 400), None),
    Hostile("bash-legal-subshells", "bash", _nested("( ", "true", " )", MAX_NESTING), None),
    Hostile("bash-legal-substitutions", "bash", "echo " + _nested('"$(echo ', "ok", ')"', 8), None),
]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], float]:
    """The real CLI over one project holding every hostile command, each in a runbook of its own."""
    project = tmp_path_factory.mktemp("hostile")
    runbooks = project / "runbooks"
    runbooks.mkdir()
    (runbooks / "catalog.yaml").write_text((CASES / "base-catalog.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    for hostile in HOSTILE:
        (runbooks / f"{hostile.name}.yaml").write_text(hostile.runbook(), encoding="utf-8")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "runbinder", "check", "runbooks"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS * 2,
        check=False,
        env={**os.environ, "RUNBINDER_DEBUG": ""},  # an internal error prints its one line instead of raising
    )
    return result, time.monotonic() - started


def test_hostile_run_finishes_without_crash(hostile_run: tuple[subprocess.CompletedProcess[str], float]) -> None:
    result, seconds = hostile_run
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]  # problems found; not 3 (internal error), nor -11 (SIGSEGV)
    for symptom in ("Traceback", "internal error", "Segmentation fault", "Fatal Python error"):
        assert symptom not in output
    assert seconds < RUN_SECONDS, f"the check took {seconds:.0f} s"


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_hostile_command_finding(hostile: Hostile, hostile_run: tuple[subprocess.CompletedProcess[str], float]) -> None:
    result, _ = hostile_run
    prefix = f"runbooks/{hostile.name}.yaml:"
    found = [line for line in result.stdout.splitlines() if line.startswith(prefix)]
    if hostile.rule is None:
        assert found == []
        return
    line, col = hostile.position()
    assert len(found) == 1, found
    assert found[0].startswith(f"{prefix}{line}:{col}: error: "), found[0]
    assert found[0].endswith(f"({hostile.rule})"), found[0]


def test_yaml_multi_document_snippet_is_valid(tmp_path: Path) -> None:
    """A stream of manifests (`---` between them) is valid YAML; each document is checked."""
    checker, items = _checker(
        tmp_path,
        [
            ("yaml", "kind: A\n---\nkind: B"),
            ("yaml", "kind: A\n---\nkind: B\nkind: C"),
        ],
    )
    assert [d.rule for d in checker.run(items[0])] == []
    assert [(d.line, d.col, d.rule) for d in checker.run(items[1])] == [(23, 15, "command.syntax")]


# -- the guard's measures


@pytest.mark.parametrize(
    ("language", "dialect", "code", "depth"),
    [
        ("promql", "postgres", 'sum(rate(x{job="((((("}[5m])) # ((((', 3),
        ("promql", "postgres", "up{a='(((', b=`[[[`}", 1),
        ("promql", "postgres", 'up{a="\\"((("}', 1),
        ("json", "postgres", '{"a": "[[[[{{{", "b": [1, "\\"]]]["]}', 2),
        ("sql", "postgres", "SELECT '(((' || $$ ((( $$ || $x$ ((( $x$, \"a((\" -- (((\nFROM t /* ((( */", 0),
        ("sql", "postgres", "SELECT E'\\'(((', 'it''s ((('", 0),
        ("sql", "postgres", "SELECT some'\\' ((", 2),  # `some` then the string '\': not an E'' string
        ("sql", "postgres", "SELECT a$b$ ((", 2),  # a$b$ is a name: no dollar quote starts inside it
        ("sql", "mysql", "SELECT 'it\\'s (((' # (((\n, `a((`", 0),
        ("sql", "sqlite", "SELECT [a((] FROM t", 0),
        ("bash", "postgres", "echo '((((' \"$(date)\" # ((((", 1),
        ("bash", "postgres", 'echo \\( "it\'s ((" x#y $(date)', 1),  # a # inside a word is no comment
        ("bash", "postgres", 'echo "$(echo "$(date)")"', 2),
        ("bash", "postgres", "case $x in a) echo $(date);; esac", 1),
    ],
)
def test_nesting_ignores_literals_and_comments(language: str, dialect: str, code: str, depth: int) -> None:
    assert measure(code, language, dialect).depth == depth


def test_nesting_reports_where_it_is_deepest() -> None:
    shape = measure('[{"a": [[1]]}, [2]]', "json")
    assert (shape.depth, shape.depth_offset) == (4, 8)
    shell = measure('echo "$(a "$(b)")" $(c)', "bash")
    assert (shell.substitutions, shell.substitutions_offset) == (2, 11)


def test_stray_closers_cannot_hide_depth() -> None:
    assert measure(")" * 500 + "(" * 300, "promql").depth == 300


def test_operators_count_outside_literals() -> None:
    assert measure('a + b / c and d or e{x!="+-*/"}', "promql").operators == 5
    assert measure("SELECT a::int + '+-*' -- + + +\n", "sql").operators == 2


@pytest.mark.parametrize(
    ("language", "at_limit", "past_limit"),
    [
        ("promql", _nested("(", "up", ")", MAX_NESTING), _nested("(", "up", ")", MAX_NESTING + 1)),
        ("json", _nested("[", "", "]", MAX_NESTING), _nested("[", "", "]", MAX_NESTING + 1)),
        ("sql", "SELECT " + _nested("(", "1", ")", MAX_NESTING), "SELECT " + _nested("(", "1", ")", MAX_NESTING + 1)),
        ("bash", _nested("( ", "true", " )", MAX_NESTING), _nested("( ", "true", " )", MAX_NESTING + 1)),
        ("promql", " + ".join(["up"] * (MAX_OPERATORS + 1)), " + ".join(["up"] * (MAX_OPERATORS + 2))),
        ("sql", "SELECT " + "+".join(["1"] * (MAX_OPERATORS + 1)), "SELECT " + "+".join(["1"] * (MAX_OPERATORS + 2))),
        ("json", '"' + "x" * (MAX_CODE_BYTES - 2) + '"', '"' + "x" * (MAX_CODE_BYTES - 1) + '"'),
        (
            "bash",
            "echo " + _nested("$(", "x", ")", commands.MAX_SUBSTITUTIONS),
            "echo " + _nested("$(", "x", ")", commands.MAX_SUBSTITUTIONS + 1),
        ),
    ],
    ids=["promql-depth", "json-depth", "sql-depth", "shell-depth", "promql-ops", "sql-ops", "size", "substitutions"],
)
def test_guard_accepts_each_limit_and_refuses_one_past_it(language: str, at_limit: str, past_limit: str) -> None:
    assert guard(at_limit, language) is None
    refusal = guard(past_limit, language)
    assert refusal is not None
    assert refusal.rule == "command.too-large"


def test_guard_measures_size_in_utf8_bytes() -> None:
    code = '"' + "é" * (MAX_CODE_BYTES // 2) + '"'  # fewer characters than the limit, more bytes
    refusal = guard(code, "json")
    assert refusal is not None
    assert refusal.rule == "command.too-large"
    assert "65,538 bytes" in refusal.message


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\x9b", chr(0xD800), chr(0xDFFF)])
def test_guard_refuses_unreadable_characters(char: str) -> None:
    refusal = guard(f"echo a{char}b", "bash")
    assert refusal is not None
    assert (refusal.rule, refusal.offset) == ("command.character", 6)
    assert f"U+{ord(char):04X}" in refusal.message


def test_guard_accepts_tabs_line_breaks_and_unparsed_languages() -> None:
    assert guard("echo a\tb\r\necho c\n", "bash") is None
    assert guard("\x00" * (MAX_CODE_BYTES + 1), "text") is None  # never parsed: nothing to protect


def test_surrogate_command_is_a_finding(tmp_path: Path) -> None:
    """YAML cannot hold a lone surrogate, but an item built another way can: still a finding, never a crash."""
    checker, items = _checker(tmp_path, [("bash", "echo ok")])
    items[0].data["code"] = "echo \ud800"
    assert [(d.rule, d.line, d.col) for d in checker.run(items[0])] == [
        ("command.character", 14, 25)
    ]  # the offset of the bad character


# -- parsers that fail in other ways than a syntax error


@pytest.mark.parametrize(
    ("error", "rule"),
    [
        (KeyError("internal"), "command.syntax"),
        (MemoryError(), "command.too-large"),
        (RecursionError("maximum recursion depth exceeded"), "command.too-large"),
        (OverflowError("int too large"), "command.too-large"),
    ],
)
def test_parser_failure_is_the_commands_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception, rule: str
) -> None:
    import promql_parser

    def fail(_text: str) -> None:
        raise error

    monkeypatch.setattr(promql_parser, "parse", fail)
    checker, items = _checker(tmp_path, [("promql", "up")])
    found = checker.run(items[0])
    assert [(d.line, d.col, d.rule) for d in found] == [(14, 20, rule)]  # the first character, after the quote
    assert type(error).__name__ in found[0].message


def test_postgres_own_depth_limit_is_too_large(tmp_path: Path) -> None:
    """NOT NOT ... nests without a bracket or an operator; libpg_query stops it itself (its parser stack holds
    10,000 levels) with "memory exhausted", which is the command's size, not its syntax."""
    checker, items = _checker(tmp_path, [("sql", "SELECT " + "NOT " * 12_000 + "true")])
    found = checker.run(items[0])
    assert [d.rule for d in found] == ["command.too-large"]
    assert "memory exhausted" in found[0].message


def test_native_parser_runs_on_a_large_stack() -> None:
    """libpg_query overflows the usual 8 MiB stack near 25,000 chained operators: the second wall holds.

    In a process of its own: a regression is a segmentation fault, which would end this test session."""
    script = (
        "import pglast\n"
        "from runbinder.checks.commands import _native\n"
        "_native(pglast.parse_sql, 'SELECT ' + '+'.join(['1'] * 40_000))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


# -- deadlines


def test_run_tool_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    result = run_tool(["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], None, 1.0)
    assert result is None
    assert time.monotonic() - started < 10  # the background sleep held the pipes open: it was killed too
    assert _gone(int(pid_file.read_text()))
    assert run_tool(["sh", "-c", "echo out; echo err >&2; exit 3"], None, 10.0) == (3, b"out\n", b"err\n")


def test_bash_n_deadline_is_the_commands_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bash").write_text("#!/bin/sh\nexec sleep 60\n")
    (fake / "bash").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(commands, "BASH_DEADLINE", 0.5)
    monkeypatch.setattr(commands, "_BASH_VERDICTS", {})
    checker, items = _checker(tmp_path, [("bash", "echo stalls")])
    found = checker.run(items[0])
    assert [(d.rule, d.line, d.col) for d in found] == [("command.too-large", 14, 20)]
    assert "did not finish" in found[0].message


@pytest.fixture
def fake_shellcheck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A ShellCheck that stalls (with a child of its own) on any file holding STALL, and logs every run."""
    real = commands.find_shellcheck()
    if real is None:
        pytest.skip("ShellCheck is not installed")
    script = tmp_path / "shellcheck"
    log = tmp_path / "runs.log"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$#" >> {log}\n'
        'for arg in "$@"; do\n'
        '  case "$arg" in --*) ;; *) if grep -q STALL "$arg"; then\n'
        f"    sleep 60 & echo $! >> {tmp_path / 'pids'}; wait; fi;;\n"
        "  esac\n"
        "done\n"
        f'exec {real} "$@"\n'
    )
    script.chmod(0o755)
    monkeypatch.setattr(commands, "SHELLCHECK_DEADLINE", 2.0)
    monkeypatch.setattr(commands, "SHELLCHECK_SECONDS_PER_KIB", 0.0)
    monkeypatch.setattr(commands, "find_shellcheck", lambda: str(script))
    monkeypatch.setattr(commands, "_SHELLCHECK_VERDICTS", {})
    monkeypatch.setattr(commands, "_BASH_VERDICTS", {})
    yield script
    for line in (tmp_path / "pids").read_text().split() if (tmp_path / "pids").exists() else []:
        assert _gone(int(line)), "a stalled ShellCheck's child outlived its deadline"


def test_a_stalling_snippet_costs_only_its_own_verdict(fake_shellcheck: Path) -> None:
    texts = ["echo ok", "echo $x", "# STALL\necho hi"]
    started = time.monotonic()
    verdicts = shellcheck_texts(str(fake_shellcheck), texts, "warning")
    assert time.monotonic() - started < 20
    assert verdicts["# STALL\necho hi"] == "timeout"
    assert verdicts["echo ok"] == []
    unassigned = verdicts["echo $x"]
    assert isinstance(unassigned, list)
    assert [c["code"] for c in unassigned] == [2154]  # x is referenced but not assigned
    # One batch of three (it stalled), then each text alone.
    assert (fake_shellcheck.parent / "runs.log").read_text().split() == ["6", "4", "4", "4"]


def test_shellcheck_timeout_is_reported_and_remembered(tmp_path: Path, fake_shellcheck: Path) -> None:
    checker, items = _checker(tmp_path, [("bash", "echo ok"), ("bash", "# STALL\necho hi")])
    checker.prepare(items)
    assert checker.run(items[0]) == []
    found = checker.run(items[1])
    assert [(d.rule, d.line, d.col) for d in found] == [("shellcheck.timeout", 17, 15)]
    runs = (fake_shellcheck.parent / "runs.log").read_text()
    checker.prepare(items)  # a rebuild under `mkdocs serve`: both verdicts are kept, nothing runs again
    assert (fake_shellcheck.parent / "runs.log").read_text() == runs


# -- searches that must stay linear on any field


def test_secret_and_safety_patterns_stay_linear() -> None:
    import re

    started = time.monotonic()
    for text in ("a." * (1 << 19), "eyJaaaaaaaaa-" * (1 << 16), "--user=" + "a--user=" * (1 << 17)):
        for _rule, pattern, _what in commands.SECRET_PATTERNS:
            list(re.finditer(pattern, text))
    for text in ("nginx " * (1 << 16), "redis-cli " * (1 << 15), "iptables " * (1 << 15)):
        for pattern, _what in commands._SHELL_DESTRUCTIVE:
            re.search(pattern, text)
    assert time.monotonic() - started < 20  # was hours: each start scanned to the end of the text


def test_tools_fallback_stays_linear() -> None:
    started = time.monotonic()
    assert list(commands.executables("\n" * 65_536)) == []  # bashlex fails; the line search must not backtrack
    assert time.monotonic() - started < 10  # was 45 s


# -- helpers


def _checker(tmp_path: Path, commands_: list[tuple[str, str]]) -> tuple[CommandChecker, list[Item]]:
    """A one-runbook project (each command written as a double-quoted scalar) and a checker over it."""
    runbooks = tmp_path / "project" / "runbooks"
    runbooks.mkdir(parents=True)
    (runbooks / "catalog.yaml").write_text((CASES / "base-catalog.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    text = HEADER.format(id="unit", language=commands_[0][0]).rsplit("\n", 2)[0] + "\n"
    for language, code in commands_:
        if "\n" in code:
            body = "".join(" " * CODE_INDENT + line + "\n" for line in code.split("\n"))
            text += f"          - language: {language}\n            code: |-\n{body}"
        else:
            text += f"          - language: {language}\n            code: {json.dumps(code)}\n"
    (runbooks / "unit.yaml").write_text(text, encoding="utf-8")
    project = load_project(runbooks, [runbooks / "unit.yaml"], tmp_path / "project")
    assert not [d for d in project.diagnostics if d.level == "error"], project.diagnostics
    return CommandChecker(project), command_items(project)


def _gone(pid: int) -> bool:
    """True once the process has exited (a zombie left for an init that does not reap counts as exited)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False
