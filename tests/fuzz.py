"""Seeded fuzzing of runbinder's promise: every bad input gets located messages and exit 0 or 1, never a traceback.

    python -m tests.fuzz [--mutants N] [--seed S] [--stages validate,check,...] [--only I] [--keep DIR]

Each mutant is the bundled project (runbooks/, loaded as data) with one to three mutations: type-aware changes of the
data (another type, huge, empty or negative numbers, deep nesting, control characters, HTML and Markdown payloads,
impossible dates, huge durations, unknown keys, removed keys, duplicate and reserved ids, wrong references, malformed
URLs), changes of the YAML text (tags, duplicate keys, tabs, control characters, a BOM, truncation, bad bytes,
anchors and aliases) and of file names (newlines, workflow commands, bytes that are not UTF-8). Mutant ``i`` of seed
``S`` is the same on every machine: ``--seed S --only i`` rebuilds it, ``--keep DIR`` writes it out.

A *stage* is a function taking the mutant project directory and returning a list of problems (empty when all is
well). STAGES holds them by name; ``--stages name[:every],...`` picks which run, and how often (every Nth mutant).
More faces plug in the same way, e.g. ``STAGES["render"] = render_stage``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from runbinder import urls
from runbinder.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "runbooks"

Stage = Callable[[Path], list[str]]
"""Takes the mutant project directory (holding runbooks/), returns its problems."""

PathT = tuple[Any, ...]

# ----------------------------------------------------------------------------------------------- output invariants

# path:line:col: level: message (rule)
DIAGNOSTIC = re.compile(
    r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<level>error|warning): (?P<message>.*) \((?P<rule>[\w.*-]+)\)$"
)
SUMMARY = re.compile(r"^\d+ files? checked: (no problems|\d+ errors?, \d+ warnings?)$")
GITHUB = re.compile(
    r"^::(error|warning) file=(?P<file>[^,\n]*),line=(?P<line>\d+),col=(?P<col>\d+),title=(?P<title>[^,:]*)::.*$"
)
WHOLE_FILE_RULES = frozenset({"file.read", "file.size", "file.binary", "catalog.missing"})
"""The documented diagnostics about a whole file, at 0:0."""
PYTHON_FRAMES = ("Traceback", 'File "', "internal error")


def line_problems(lines: Sequence[str]) -> list[str]:
    """Problems of text-format diagnostic lines: the shape, positions >= 1 except whole-file rules, no forged lines."""
    problems = []
    for line in lines:
        match = DIAGNOSTIC.match(line)
        if match is None:
            problems.append(f"not a diagnostic line: {line[:200]!r}")
            continue
        problems += _position_problems(line, int(match["line"]), int(match["col"]), match["rule"])
        if not match["path"].startswith(("runbooks/", "./")):
            problems.append(f"unexpected path: {line[:200]!r}")
        if line.lstrip().startswith("::") or "##[" in line:
            problems.append(f"line reads as a GitHub workflow command: {line[:200]!r}")
    return problems


def _position_problems(shown: str, line: int, col: int, rule: str) -> list[str]:
    if line >= 1 and col >= 1:
        return []
    if line == col == 0 and rule in WHOLE_FILE_RULES:
        return []
    return [f"position {line}:{col} for rule {rule}: {shown[:200]!r}"]


def output_problems(code: int, out: str, err: str, fmt: str = "text") -> list[str]:
    """Everything that breaks the promise in one run's exit status and output."""
    problems = []
    if code not in (0, 1):
        problems.append(f"exit status {code}")
    for frame in PYTHON_FRAMES:
        if frame in out or frame in err:
            problems.append(f"{frame!r} in the output")
    for name, text in (("stdout", out), ("stderr", err)):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            problems.append(f"{name} cannot be written as UTF-8: {exc}")
    errors = 0
    if fmt == "text":
        lines = out.splitlines()
        problems += line_problems(lines)
        errors = sum(": error: " in line for line in lines)
        problems += [f"unexpected stderr line: {line[:200]!r}" for line in err.splitlines() if not SUMMARY.match(line)]
    elif fmt == "json":
        problems += _json_problems(out)
        with contextlib.suppress(ValueError, TypeError):
            errors = sum(item["level"] == "error" for item in json.loads(out))
    elif fmt == "github":
        for line in out.splitlines():
            match = GITHUB.match(line)
            if match is None:
                problems.append(f"not a workflow command: {line[:200]!r}")
                continue
            problems += _position_problems(line, int(match["line"]), int(match["col"]), match["title"])
        errors = sum(line.startswith("::error ") for line in out.splitlines())
    if code == 1 and errors == 0 and fmt != "github":
        problems.append("exit status 1 without an error")
    if code == 0 and errors:
        problems.append("exit status 0 with errors")
    return problems


def _json_problems(out: str) -> list[str]:
    try:
        items = json.loads(out)
    except ValueError as exc:
        return [f"output is not JSON: {exc}"]
    problems = []
    if "##[" in out or any(line.lstrip().startswith("::") for line in out.splitlines()):
        problems.append("JSON output holds a GitHub workflow command")
    keys = {"path", "line", "col", "level", "message", "rule"}
    for item in items:
        if not isinstance(item, dict) or set(item) != keys:
            problems.append(f"unexpected JSON item: {item!r:.200}")
            continue
        problems += _position_problems(item["message"], item["line"], item["col"], item["rule"])
    return problems


# ------------------------------------------------------------------------------------------------------ stages


@dataclass
class Crash:
    """What a run that crashed raised, for the report (found again with RUNBINDER_DEBUG=1)."""

    kind: str
    where: str
    text: str


class _Timeout(BaseException):  # not an Exception: the CLI's last-resort handler must not take it for a crash
    pass


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM, main thread only; elsewhere no limit)."""
    usable = hasattr(signal, "setitimer") and _main_thread()
    if not usable:
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise _Timeout(f"took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


TIME_LIMIT = 30.0
"""Seconds one stage may take for one mutant (check runs ShellCheck on changed commands)."""

CURRENT: Mutant | None = None
"""The mutant being run, for stages that look at what it changed."""
CRASHES: list[Crash] = []
"""Crashes seen by the in-process stages of the current mutant, with their tracebacks."""
RULES: Counter[str] = Counter()
"""Rules reported by the in-process runs (coverage: the mutations reach every kind of check)."""


def run_cli(project: Path, argv: Sequence[str], limit: float | None = None) -> tuple[int, str, str]:
    """``runbinder ARGV`` in this process, in ``project``, with captured output."""
    out, err = io.StringIO(), io.StringIO()
    before = Path.cwd()
    os.chdir(project)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), deadline(limit or TIME_LIMIT):
            try:
                code = cli_main(list(argv))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
            except _Timeout as exc:
                return -1, out.getvalue(), f"{err.getvalue()}timeout: {exc}"
        if code == 3:
            CRASHES.append(_debug_crash(argv))
    finally:
        os.chdir(before)
    RULES.update(m["rule"] for m in map(DIAGNOSTIC.match, out.getvalue().splitlines()) if m)
    return code, out.getvalue(), err.getvalue()


def _debug_crash(argv: Sequence[str]) -> Crash:
    """Run again with RUNBINDER_DEBUG=1 (which lets the exception through) to name the crash."""
    previous = os.environ.get("RUNBINDER_DEBUG")
    os.environ["RUNBINDER_DEBUG"] = "1"
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cli_main(list(argv))
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        ours = [f for f in frames if f"{os.sep}runbinder{os.sep}" in f.filename]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].name}"
        if ours and ours[-1] is not frames[-1]:
            where += f" via {Path(ours[-1].filename).name}:{ours[-1].name}"
        return Crash(type(exc).__name__, where, "".join(traceback.format_exception(exc)))
    finally:
        if previous is None:
            del os.environ["RUNBINDER_DEBUG"]
        else:
            os.environ["RUNBINDER_DEBUG"] = previous
    return Crash("none", "?", "exit 3 without an exception on the second run")


def snapshot(project: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``project`` with its size and modification time."""
    found = {}
    for folder, _dirs, files in os.walk(project):
        for name in files:
            stat = os.stat(os.path.join(folder, name))
            found[os.path.join(folder, name)] = (stat.st_size, stat.st_mtime_ns)
    return found


def validate_stage(fmt: str) -> Stage:
    """`runbinder validate --format FMT runbooks`, which must also leave the tree as it was."""

    def stage(project: Path) -> list[str]:
        before = snapshot(project)
        code, out, err = run_cli(project, ["validate", "--format", fmt, "runbooks"])
        problems = output_problems(code, out, err, fmt)
        if snapshot(project) != before:
            problems.append("validate changed files in the project")
        return problems

    return stage


def check_stage(project: Path) -> list[str]:
    """`runbinder check runbooks` (offline), as of a fixed day so review dates do not age."""
    code, out, err = run_cli(project, ["check", "--as-of", "2026-01-01", "runbooks"])
    return output_problems(code, out, err)


def check_changed_stage(project: Path) -> list[str]:
    """`runbinder check FILE ...` on the files the current mutant changed, as pre-commit runs it: the project is
    still loaded (catalogs in full), but only those files' commands are checked, which is much faster."""
    changed = [rel for rel, content in (CURRENT.changes.items() if CURRENT else ()) if content is not None]
    if not changed:
        return []
    code, out, err = run_cli(project, ["check", "--as-of", "2026-01-01", *changed])
    return output_problems(code, out, err)


def subprocess_stage(*argv: str) -> Stage:
    """A real `python -m runbinder ARGV` process: the console path, real streams and encodings."""

    def stage(project: Path) -> list[str]:
        env = {k: v for k, v in os.environ.items() if k != "RUNBINDER_DEBUG"}
        try:
            result = subprocess.run(
                [sys.executable, "-m", "runbinder", *argv],
                cwd=project,
                capture_output=True,
                timeout=TIME_LIMIT * 2,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return [f"timeout after {TIME_LIMIT * 2:g} s"]
        try:
            out, err = result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [f"output is not UTF-8: {exc}"]
        return output_problems(result.returncode, out, err)

    return stage


def render_stage(project: Path) -> list[str]:
    """A mutant validation accepts renders: every page and the navigation, with the MkDocs plugin's renderer.

    Only mutants without validation errors reach the renderers (MkDocs stops before them otherwise), so this
    stage renders those and skips the rest."""
    from datetime import date

    from runbinder.render.site import SiteRenderer
    from runbinder.validate import find_root, load_project

    root = find_root(project / "runbooks")
    if root is None:
        return []
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        loaded = load_project(root, None, project)
    if any(d.level == "error" for d in loaded.diagnostics):
        return []
    try:
        with deadline(TIME_LIMIT):
            renderer = SiteRenderer(loaded.index, today=date(2026, 1, 1), directory_urls=True)
            pages = renderer.pages()
            renderer.nav()
            problems = []
            for path, page in pages.items():
                problems += [f"{path}: {p}" for p in live_markup(page_html(page.document()))]
            return problems
    except _Timeout as exc:
        return [f"render {exc}"]
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        CRASHES.append(
            Crash(
                type(exc).__name__,
                f"{Path(frames[-1].filename).name}:{frames[-1].name}",
                "".join(traceback.format_exception(exc)),
            )
        )
        return [f"render raised {type(exc).__name__}: {exc}"]
    return []


_SITE_EXTENSIONS = [
    "admonition", "attr_list", "md_in_html", "tables", "toc", "meta", "pymdownx.details", "pymdownx.superfences",
    "pymdownx.tasklist", "pymdownx.highlight", "pymdownx.inlinehilite", "pymdownx.magiclink",
]  # fmt: skip


def page_html(document: str) -> str:
    """A generated page as HTML through a site's Markdown (with attribute lists and raw HTML in Markdown on)."""
    import markdown

    from runbinder import safe

    return markdown.markdown(document, extensions=[*_SITE_EXTENSIONS, safe.FragmentExtension()])


class _Markup(HTMLParser):
    DANGEROUS = frozenset(
        {"script", "style", "iframe", "frame", "object", "embed", "svg", "math", "meta", "link", "base", "form"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.DANGEROUS:
            self.problems.append(f"live <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                self.problems.append(f"live attribute {name} on <{tag}>")
            if name in ("href", "src") and value and not urls.is_safe(value):
                self.problems.append(f"live {name}={value[:60]!r} on <{tag}>")
            if name == "src" and value and urls.scheme(value) in ("http", "https"):
                self.problems.append(f"remote {name}={value[:60]!r} on <{tag}>")

    handle_startendtag = handle_starttag


def live_markup(html: str) -> list[str]:
    """Anything in a page that could run script, load from elsewhere or embed a document."""
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.problems


def build_stage(project: Path) -> list[str]:
    """The real `mkdocs build` of a mutant: it builds (no live markup in any page) or stops with located messages,
    and a failed build leaves the previous site as it was."""
    config = project / "mkdocs.yml"
    if not config.exists():
        shutil.copy2(ROOT / "mkdocs.yml", config)
        (project / "docs").mkdir(exist_ok=True)
        text = config.read_text(encoding="utf-8").replace(
            "runbooks_dir: runbooks", 'runbooks_dir: runbooks\n      checks: "off"'
        )
        config.write_text(text, encoding="utf-8")
    site = project / "site"
    site.mkdir(exist_ok=True)
    (site / "previous.html").write_text("the last good site", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SOURCE_DATE_EPOCH": "1767225600"},
    )
    output = result.stdout + result.stderr
    problems = [f"build output has {frame!r}" for frame in ("Traceback", 'File "', "internal error") if frame in output]
    if result.returncode != 0:
        if not (site / "previous.html").is_file():
            problems.append("a failed build cost the previous site")
        if "runbinder" not in output:
            problems.append(f"the build failed without a runbinder message: {output[-300:]!r}")
        return problems
    for page in sorted(site.rglob("*.html")):
        if page.name == "print.html":
            continue  # the binder page has its own drawing script; it is inspected by the binder stage
        content = page.read_text(encoding="utf-8")
        start, end = content.find("<article"), content.find("</article>")
        problems += [f"{page.relative_to(site)}: {p}" for p in live_markup(content[start:end])]
    return problems


def binder_stage(project: Path) -> list[str]:
    """A mutant that validates prints a binder whose text holds nothing of a file it must not read."""
    from runbinder.binder import find_chromium

    chromium = find_chromium()
    if chromium is None:
        return []
    output = project / "binder.pdf"
    code, out, err = run_cli(project, ["binder", "runbooks", "-o", str(output), "--chromium", chromium], limit=600)
    # The one line besides diagnostics: where the binder went ("wrote PATH (N pages)").
    out = "".join(line for line in out.splitlines(keepends=True) if not (code == 0 and line.startswith("wrote ")))
    problems = [p for p in output_problems(code, out, err) if "unexpected stderr" not in p]
    if code == 0 and shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(output), "-"], capture_output=True, text=True, check=False).stdout
        if "root:x:0:0" in text:
            problems.append("the binder printed /etc/passwd")
    return problems


STAGES: dict[str, Stage] = {
    "validate": validate_stage("text"),
    "validate-json": validate_stage("json"),
    "validate-github": validate_stage("github"),
    "check": check_stage,
    "check-changed": check_changed_stage,
    "validate-subprocess": subprocess_stage("validate", "runbooks"),
    "check-subprocess": subprocess_stage("check", "--as-of", "2026-01-01", "runbooks"),
    "render": render_stage,
    "build": build_stage,
    "binder": binder_stage,
}

SLOW_STAGES = {"build": 300.0, "binder": 600.0}
"""Stages that run a whole MkDocs build or a browser, with limits of their own."""

DEFAULT_PLAN = (
    "validate,check,check-changed,render:2,validate-json:4,validate-github:4,"
    "validate-subprocess:100,check-subprocess:250,build:25,binder:250"
)
"""Which stages run on which mutants: name[:every]; the first mutant runs every stage."""


# -------------------------------------------------------------------------------------------------------- mutator

HOSTILE_STRINGS = (
    "\x00",
    "bell\x07here",
    "\x1b[31mred\x1b[0m",
    "line\u2028separator",
    "\u202eevil",
    "cr\r\nlf",
    "tab\there",
    "\x9bcsi",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "![x](data:text/html;base64,PHNjcmlwdD4=)",
    "```\nfence",
    "| a | b |\n|---|---|",
    "{{ jinja }} {% raw %}",
    "$(rm -rf /)",
    "`backtick`",
    "::error file=x::forged",
    "##[add-mask]secret",
    "%0A%25",
    "x" * 20_000,
    "",
    " ",
    "ünïcödé 🚀",
)
NUMBERS = (0, -1, -(10**30), 10**30, 10**4000, 2**63, 3.5, -0.0, float("inf"), float("-inf"), float("nan"), 1e308)
OTHER_TYPES: tuple[Any, ...] = (None, True, False, 0, 1, "text", "", [], {}, [1, 2], {"a": 1}, [[]], {"x": None})
DATES = ("2023-02-30", "0000-01-01", "9999-12-31", "2023-02", "2023-13-01", "2023-04-31", "1999-2-3", "2024-02-29")
DURATIONS = ("99999999999w", "99999w", "100000d", "0m", "1" + "0" * 5000 + "d", "-5m", "15", "1.5h", "5y", "1w")
URLS = (
    "http://[::1/",
    "http://a:99999/",
    "http://a:port/",
    "https://ex\u3000ample.com/",
    "https://exa\uff03mple.com/",
    "javascript:alert(1)",
    "java\tscript:alert(1)",
    "//evil.example",
    "http://exa mple.com",
    "mailto:",
    "runbooks/nope.md#x",
    "",
)
ID_KEYS = frozenset({"id"})
TEXT_KEYS = frozenset(
    {"title", "summary", "description", "text", "note", "label", "condition", "when", "purpose", "changes", "name"}
)
DATE_KEYS = frozenset({"last_reviewed", "date"})
DURATION_KEYS = frozenset({"review_interval", "timebox", "response_time", "resolution_time", "after"})
REF_KEYS = frozenset(
    {
        "service",
        "owner",
        "severity",
        "policy",
        "escalation_policy",
        "runbook",
        "via",
        "level",
        "use",
        "related",
        "to",
        "dependencies",
        "include_checklists",
        "members",
        "filled_by",
        "severities",
        "next",
        "services",
    }
)
TAGS = (
    "!!int",
    "!!float",
    "!!bool",
    "!!timestamp",
    "!!binary",
    "!!str",
    "!!null",
    "!!set",
    "!!map",
    "!!seq",
    "!!omap",
    "!custom",
    "!!python/object/apply:os.system",
    "!<tag:yaml.org,2002:int>",
)
CONTROL = ("\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x80", "\x9b", "\ufffe", "\ud7ff", "\x85", "\t")
HOSTILE_NAMES = (
    "x\n::error file=forged.yaml,line=1::forged.yaml",
    "::warning::colon.yaml",
    "  ::indented.yaml",
    "##[add-mask]mask.yaml",
    "a%0Ab,c:d.yaml",
    "\x1b[31mred.yaml",
    "cr\rname.yaml",
    "bidi\u202egnp.yaml",
    "line\u2028sep.yaml",
    "not-utf8-\udcff.yaml",
    "sp ace.yaml",
    "x.yml",
    "extra.catalog.yaml",
    ".hidden.yaml",
)


@dataclass
class Mutant:
    """One mutated project, as changes to the bundled files (enough to rebuild and reproduce it)."""

    index: int
    seed: int
    steps: list[str] = field(default_factory=list)
    operators: list[str] = field(default_factory=list)
    changes: dict[str, bytes | None] = field(default_factory=dict)  # relative path -> new bytes, None: removed

    def reproduce(self) -> str:
        """The command that runs this mutant alone."""
        return f"python -m tests.fuzz --seed {self.seed} --only {self.index} --keep /tmp/runbinder-mutant"


class Mutator:
    """Builds mutants of the bundled project; every choice comes from a generator seeded by (seed, index)."""

    def __init__(self, base: dict[str, bytes]) -> None:
        self.base = base
        self.files = sorted(base)
        self.data: dict[str, dict[str, Any]] = {}
        for rel, raw in base.items():
            data = _load(raw)
            if data is not None:
                self.data[rel] = data
        self.ids = sorted({str(v) for d in self.data.values() for p, v in _walk(d) if p and p[-1] == "id"})
        self.operators: list[tuple[int, Callable[[random.Random, Mutant], None]]] = [
            (6, self.retype),
            (3, self.number),
            (2, self.nest),
            (4, self.hostile_string),
            (4, self.hostile_text),
            (3, self.date),
            (3, self.duration),
            (3, self.unknown_key),
            (4, self.remove_key),
            (2, self.duplicate_id),
            (2, self.reserved_id),
            (4, self.wrong_reference),
            (2, self.url),
            (3, self.tag),
            (2, self.duplicate_key),
            (2, self.tab),
            (2, self.control_character),
            (1, self.bom),
            (2, self.truncate),
            (1, self.bad_bytes),
            (1, self.anchors),
            (1, self.long_number),
            (1, self.documents),
            (1, self.rename),
            (1, self.copy_file),
            (1, self.remove_file),
        ]

    def mutant(self, seed: int, index: int) -> Mutant:
        """Mutant ``index`` of ``seed``: one to three mutations."""
        rng = random.Random(f"{seed}:{index}")
        mutant = Mutant(index, seed)
        weights = [w for w, _ in self.operators]
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            (operator,) = rng.choices([op for _, op in self.operators], weights)
            mutant.operators.append(operator.__name__)
            operator(rng, mutant)
        return mutant

    # -- helpers

    def _pick_file(self, rng: random.Random, mutant: Mutant, catalog: float = 0.25) -> str:
        present = [f for f in self.files if mutant.changes.get(f, b"") is not None]
        catalogs = [f for f in present if f.endswith("catalog.yaml")]
        if catalogs and rng.random() < catalog:
            return rng.choice(catalogs)
        return rng.choice([f for f in present if f not in catalogs] or present)

    def _current(self, mutant: Mutant, rel: str) -> bytes:
        changed = mutant.changes.get(rel)
        return changed if changed is not None else self.base[rel]

    def _data(self, mutant: Mutant, rel: str) -> dict[str, Any] | None:
        if rel not in mutant.changes:
            return copy.deepcopy(self.data[rel]) if rel in self.data else None
        raw = mutant.changes[rel]
        return _load(raw) if raw is not None else None

    def _edit(
        self,
        rng: random.Random,
        mutant: Mutant,
        keys: frozenset[str] | None,
        change: Callable[[random.Random, Any, Any], tuple[str, Any]],
    ) -> None:
        """Change one value (under one of ``keys``, or anywhere) of a file's data and write the file back."""
        rel = self._pick_file(rng, mutant)
        data = self._data(mutant, rel)
        if data is None:  # an earlier mutation broke the YAML: change the text instead
            self.control_character(rng, mutant)
            return
        paths = [p for p, _ in _walk(data) if p and (keys is None or p[-1] in keys)]
        if not paths:
            paths = [p for p, _ in _walk(data) if p]
        path = rng.choice(paths)
        parent = _at(data, path[:-1])
        description, value = change(rng, path, parent[path[-1]])
        if value is _REMOVE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
        mutant.changes[rel] = _dump(data)
        mutant.steps.append(f"{rel}: {_json_path(path)} {description}")

    def _text_edit(self, rng: random.Random, mutant: Mutant, description: str, change: Callable[[str], str]) -> None:
        rel = self._pick_file(rng, mutant)
        raw = self._current(mutant, rel)
        text = raw.decode("utf-8", errors="surrogateescape")
        mutant.changes[rel] = change(text).encode("utf-8", errors="surrogateescape")
        mutant.steps.append(f"{rel}: {description}")

    # -- data mutations

    def retype(self, rng: random.Random, mutant: Mutant) -> None:
        """Replace a value by one of another type."""
        value = rng.choice(OTHER_TYPES)
        self._edit(rng, mutant, None, lambda r, p, old: (f"= {value!r} (was {type(old).__name__})", value))

    def number(self, rng: random.Random, mutant: Mutant) -> None:
        """A huge, empty, negative or special number."""
        value = rng.choice(NUMBERS)
        self._edit(rng, mutant, None, lambda r, p, old: (f"= number {str(value)[:20]}", value))

    def nest(self, rng: random.Random, mutant: Mutant) -> None:
        """Wrap a value in 20 to 80 levels of lists or mappings (the loader refuses more than 64)."""
        depth = rng.randint(20, 80)
        kind = rng.choice(("list", "map"))

        def change(r: random.Random, path: PathT, old: Any) -> tuple[str, Any]:
            value = old
            for _ in range(depth):
                value = [value] if kind == "list" else {"k": value}
            return f"nested {depth} levels of {kind}s", value

        self._edit(rng, mutant, None, change)

    def hostile_string(self, rng: random.Random, mutant: Mutant) -> None:
        """Control characters, HTML and Markdown payloads, shell and template syntax, workflow commands."""
        value = rng.choice(HOSTILE_STRINGS)
        self._edit(rng, mutant, None, lambda r, p, old: (f"= {value[:40]!r}", value))

    def hostile_text(self, rng: random.Random, mutant: Mutant) -> None:
        """A hostile but valid string in a free-text field, so that the mutant still validates and reaches the
        later stages (check, the renderers)."""
        value = rng.choice([h for h in HOSTILE_STRINGS if h.strip()])
        rel = self._pick_file(rng, mutant)
        data = self._data(mutant, rel)
        if data is None:
            self.bom(rng, mutant)
            return
        paths = [p for p, v in _walk(data) if p and p[-1] in TEXT_KEYS and isinstance(v, str) and v.strip()]
        if not paths:
            self.hostile_string(rng, mutant)
            return
        path = rng.choice(paths)
        _at(data, path[:-1])[path[-1]] = value
        mutant.changes[rel] = _dump(data)
        mutant.steps.append(f"{rel}: {_json_path(path)} = text {value[:40]!r}")

    def date(self, rng: random.Random, mutant: Mutant) -> None:
        """An impossible or odd date where a date belongs."""
        value = rng.choice(DATES)
        self._edit(rng, mutant, DATE_KEYS, lambda r, p, old: (f"= date {value!r}", value))

    def duration(self, rng: random.Random, mutant: Mutant) -> None:
        """A huge or malformed duration where a duration belongs."""
        value = rng.choice(DURATIONS)
        self._edit(rng, mutant, DURATION_KEYS, lambda r, p, old: (f"= duration {value[:20]!r}", value))

    def unknown_key(self, rng: random.Random, mutant: Mutant) -> None:
        """An unknown key (also of another type) in a mapping."""
        key = rng.choice(("xyzzy", "__proto__", "", 1, None, True, "id ", "Title"))
        rel = self._pick_file(rng, mutant)
        data = self._data(mutant, rel)
        if data is None:
            self.tab(rng, mutant)
            return
        mappings = [p for p, v in _walk(data) if isinstance(v, dict)]
        path = rng.choice(mappings)
        _at(data, path)[key] = "surprise"
        mutant.changes[rel] = _dump(data)
        mutant.steps.append(f"{rel}: {_json_path(path) or '(top)'} gains key {key!r}")

    def remove_key(self, rng: random.Random, mutant: Mutant) -> None:
        """Remove a key (often a required one)."""
        rel = self._pick_file(rng, mutant)
        data = self._data(mutant, rel)
        if data is None:
            self.truncate(rng, mutant)
            return
        paths = [p for p, _ in _walk(data) if p and isinstance(p[-1], str)]
        path = rng.choice(paths)
        del _at(data, path[:-1])[path[-1]]
        mutant.changes[rel] = _dump(data)
        mutant.steps.append(f"{rel}: {_json_path(path)} removed")

    def duplicate_id(self, rng: random.Random, mutant: Mutant) -> None:
        """An id another item already uses."""
        other = rng.choice(self.ids)
        self._edit(rng, mutant, ID_KEYS, lambda r, p, old: (f"= existing id {other!r}", other))

    def reserved_id(self, rng: random.Random, mutant: Mutant) -> None:
        """The reserved id 'index' (it would name a generated index page)."""
        self._edit(rng, mutant, ID_KEYS, lambda r, p, old: ("= reserved id 'index'", "index"))

    def wrong_reference(self, rng: random.Random, mutant: Mutant) -> None:
        """A reference to nothing, or to an id of another section."""
        value = rng.choice(("nope-does-not-exist", "Payments", rng.choice(self.ids), "index", ["nope"]))
        self._edit(rng, mutant, REF_KEYS, lambda r, p, old: (f"= reference {value!r}", value))

    def url(self, rng: random.Random, mutant: Mutant) -> None:
        """A malformed or unsafe URL where a URL belongs."""
        value = rng.choice(URLS)
        self._edit(rng, mutant, frozenset({"url"}), lambda r, p, old: (f"= url {value!r}", value))

    # -- text mutations

    def tag(self, rng: random.Random, mutant: Mutant) -> None:
        """A standard, custom or Python tag before a value."""
        tag = rng.choice(TAGS)

        def change(text: str) -> str:
            lines = text.split("\n")
            candidates = [i for i, line in enumerate(lines) if re.match(r"^\s*(- )?[\w-]+: \S", line)]
            if not candidates:
                return f"{tag} {text}"
            i = rng.choice(candidates)
            key, value = lines[i].split(": ", 1)
            lines[i] = f"{key}: {tag} {value}"
            return "\n".join(lines)

        self._text_edit(rng, mutant, f"tag {tag} inserted", change)

    def duplicate_key(self, rng: random.Random, mutant: Mutant) -> None:
        """A key line repeated right after itself."""

        def change(text: str) -> str:
            lines = text.split("\n")
            candidates = [i for i, line in enumerate(lines) if re.match(r"^\s*[\w-]+: \S", line)]
            if not candidates:
                return text + "\nid: again\nid: again\n"
            i = rng.choice(candidates)
            lines.insert(i + 1, lines[i])
            return "\n".join(lines)

        self._text_edit(rng, mutant, "a key line duplicated", change)

    def tab(self, rng: random.Random, mutant: Mutant) -> None:
        """A tab as indentation, or anywhere."""
        at_indent = rng.random() < 0.5

        def change(text: str) -> str:
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            if at_indent:
                lines[i] = "\t" + lines[i].lstrip(" ")
                return "\n".join(lines)
            pos = rng.randrange(len(text) + 1)
            return text[:pos] + "\t" + text[pos:]

        self._text_edit(rng, mutant, f"tab {'as indentation' if at_indent else 'inserted'}", change)

    def control_character(self, rng: random.Random, mutant: Mutant) -> None:
        """A control (or other forbidden) character at a random place."""
        char = rng.choice(CONTROL)
        where = rng.random()
        self._text_edit(
            rng,
            mutant,
            f"U+{ord(char):04X} inserted at {where:.3f}",
            lambda text: text[: int(len(text) * where)] + char + text[int(len(text) * where) :],
        )

    def bom(self, rng: random.Random, mutant: Mutant) -> None:
        """A byte-order mark at the start (allowed) or inside."""
        where = rng.choice((0.0, rng.random()))
        self._text_edit(
            rng,
            mutant,
            f"BOM at {where:.3f}",
            lambda text: text[: int(len(text) * where)] + "\ufeff" + text[int(len(text) * where) :],
        )

    def truncate(self, rng: random.Random, mutant: Mutant) -> None:
        """The file cut short (to nothing, sometimes)."""
        where = rng.choice((0.0, rng.random(), rng.random()))
        self._text_edit(rng, mutant, f"truncated at {where:.3f}", lambda text: text[: int(len(text) * where)])

    def bad_bytes(self, rng: random.Random, mutant: Mutant) -> None:
        """A byte that is not UTF-8, or a NUL."""
        rel = self._pick_file(rng, mutant)
        raw = self._current(mutant, rel)
        pos = rng.randrange(len(raw) + 1)
        byte = rng.choice((b"\xff", b"\x00", b"\xc3", b"\xed\xa0\x80"))
        mutant.changes[rel] = raw[:pos] + byte + raw[pos:]
        mutant.steps.append(f"{rel}: byte {byte!r} inserted at {pos}")

    def anchors(self, rng: random.Random, mutant: Mutant) -> None:
        """Anchors and aliases: a recursive alias, a small alias bomb, an undefined alias, a merge of a scalar."""
        extra = rng.choice(
            (
                "loop: &a [*a]\n",
                "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
                "x: *nowhere\n",
                "m:\n  <<: 1\n",
                "m: &m {a: 1}\nn:\n  <<: *m\n",
            )
        )
        self._text_edit(rng, mutant, f"appended {extra[:30]!r}", lambda text: text.rstrip("\n") + "\n" + extra)

    def long_number(self, rng: random.Random, mutant: Mutant) -> None:
        """A number longer than Python reads (plain decimal, or hex which has no limit)."""
        number = rng.choice(("9" * 4300, "9" * 4301, "9" * 6000, "0x" + "f" * 4000, "-" + "1" * 5000))
        self._text_edit(
            rng, mutant, f"number of {len(number)} characters appended", lambda t: t.rstrip("\n") + f"\nn: {number}\n"
        )

    def documents(self, rng: random.Random, mutant: Mutant) -> None:
        """Several YAML documents, or a document end marker with trailing text."""
        extra = rng.choice(("---\nid: second\n", "...\ntrailing\n", "--- |\n  text\n"))
        self._text_edit(rng, mutant, f"appended {extra!r}", lambda text: text.rstrip("\n") + "\n" + extra)

    # -- file mutations

    def rename(self, rng: random.Random, mutant: Mutant) -> None:
        """A runbook renamed to a hostile name (a newline, a workflow command, bytes that are not UTF-8), mostly
        with a problem in it too, so that its name is printed."""
        rel = self._pick_file(rng, mutant, catalog=0.0)
        name = rng.choice(HOSTILE_NAMES)
        new = str(Path(rel).parent / name)
        content = self._current(mutant, rel)
        flawed = rng.random() < 0.8
        mutant.changes[new] = content.rstrip(b"\n") + b"\nunknown_key: 1\n" if flawed else content
        mutant.changes[rel] = None
        mutant.steps.append(f"{rel}: renamed to {name!r}{' with an unknown key' if flawed else ''}")

    def copy_file(self, rng: random.Random, mutant: Mutant) -> None:
        """A runbook copied under another name (every id in it now duplicated)."""
        rel = self._pick_file(rng, mutant, catalog=0.1)
        new = str(Path(rel).with_name("copy-" + Path(rel).name))
        mutant.changes[new] = self._current(mutant, rel)
        mutant.steps.append(f"{rel}: copied to {new}")

    def remove_file(self, rng: random.Random, mutant: Mutant) -> None:
        """A file removed (the catalog, sometimes)."""
        rel = self._pick_file(rng, mutant, catalog=0.4)
        mutant.changes[rel] = None
        mutant.steps.append(f"{rel}: removed")


_REMOVE = object()


class _DataLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Dates stay strings, as runbinder reads them. The mutator's own loader: it must work whatever the code under
    test does with the mutants."""


_DataLoader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(raw: bytes) -> dict[str, Any] | None:
    """A file's data, or None when it is not (any longer) a YAML mapping that loads."""
    try:
        data = yaml.load(raw, Loader=_DataLoader)  # a safe loader
    except Exception:  # broken YAML is what the fuzzer makes: the next mutation works on the text instead
        return None
    # Aliases make shared (even recursive) structures, which a mutation would change in many places at once.
    return data if isinstance(data, dict) and not _ANCHOR.search(raw) else None


_ANCHOR = re.compile(rb"&[^\s&,\[\]{}]")


def _walk(value: Any, prefix: PathT = ()) -> Iterator[tuple[PathT, Any]]:
    """Every (path, value) of the data, stopping at 80 levels (an earlier mutant may hold a recursive alias)."""
    yield prefix, value
    if len(prefix) >= 80:
        return
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _walk(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _walk(child, (*prefix, i))


def _at(data: Any, path: PathT) -> Any:
    for part in path:
        data = data[part]
    return data


def _json_path(path: PathT) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _dump(data: Any) -> bytes:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=120)
    return text.encode("utf-8")


# ---------------------------------------------------------------------------------------------------------- runs


@dataclass
class Failure:
    """A mutant that broke the promise in one stage."""

    mutant: Mutant
    stage: str
    problems: list[str]
    crash: Crash | None = None


@dataclass
class Report:
    """What a fuzz run did and found."""

    mutants: int = 0
    runs: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)
    slowest: dict[str, float] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    rules: Counter[str] = field(default_factory=Counter)

    def crash_classes(self) -> Counter[str]:
        """How many mutants fail in each class: a crash by its exception and where it was raised, another broken
        promise by its kind (and the stage, for those only subprocesses see)."""
        members: dict[str, set[int]] = {}
        for failure in self.failures:
            if failure.crash is not None:
                name = f"crash: {failure.crash.kind} in {failure.crash.where}"
            else:
                name = _problem_class(failure.problems)
                if "subprocess" in failure.stage:
                    name += f" ({failure.stage})"
            members.setdefault(name, set()).add(failure.mutant.index)
        return Counter({name: len(indexes) for name, indexes in members.items()})

    def text(self) -> str:
        """A readable summary, with a reproducer for every failure."""
        lines = [f"{self.mutants} mutants"]
        for stage, count in sorted(self.runs.items()):
            lines.append(
                f"  {stage}: {count} runs, {self.seconds[stage]:.1f} s, slowest {self.slowest.get(stage, 0):.2f} s"
            )
        lines.append(f"  {len(self.rules)} distinct rules reported: {', '.join(sorted(self.rules))}")
        if not self.failures:
            lines.append("no failures")
            return "\n".join(lines)
        broken = len({f.mutant.index for f in self.failures})
        lines.append(f"{broken} mutants broke the promise ({len(self.failures)} failing stage runs), by class:")
        for name, count in self.crash_classes().most_common():
            lines.append(f"  {count:4d}  {name}")
        for failure in self.failures:
            lines.append(f"\nmutant {failure.mutant.index} (seed {failure.mutant.seed}), stage {failure.stage}:")
            lines += [f"  mutation: {step!r}" for step in failure.mutant.steps]
            lines += [f"  problem: {problem}" for problem in failure.problems[:5]]
            if failure.crash is not None:
                lines.append("  " + failure.crash.text.rstrip().replace("\n", "\n  "))
            lines.append(f"  reproduce: {failure.mutant.reproduce()}")
        return "\n".join(lines)


# Broken promises other than crashes, most telling first: (text found in a problem, class name).
_PROBLEM_CLASSES = (
    ('"<unicode string>", position', "a message on two lines, at 1:1 (a YAML reader error)"),
    ("reads as a GitHub workflow command", "an output line reads as a GitHub workflow command"),
    ("cannot be written as UTF-8", "output cannot be written as UTF-8"),
    ("unexpected path", "an output line broken in two (by a file name)"),
)


def _problem_class(problems: Sequence[str]) -> str:
    for needle, name in _PROBLEM_CLASSES:
        if any(needle in problem for problem in problems):
            return name
    return problems[0].split(": ", 1)[0]


def parse_plan(plan: str) -> list[tuple[str, int]]:
    """``validate,check:4`` -> [('validate', 1), ('check', 4)]."""
    out = []
    for part in plan.split(","):
        name, _, every = part.strip().partition(":")
        if name not in STAGES:
            raise SystemExit(f"unknown stage {name!r}; known: {', '.join(STAGES)}")
        out.append((name, int(every or 1)))
    return out


def load_base(source: Path = BUNDLED) -> dict[str, bytes]:
    """The bundled project's files by path relative to the project (runbooks/...)."""
    return {
        str(path.relative_to(source.parent)): path.read_bytes() for path in sorted(source.rglob("*")) if path.is_file()
    }


def apply(project: Path, base: dict[str, bytes], mutant: Mutant) -> None:
    """Write ``mutant``'s changes into ``project`` (a copy of ``base``)."""
    for rel, content in mutant.changes.items():
        target = project / rel
        if content is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)


def restore(project: Path, base: dict[str, bytes], mutant: Mutant) -> None:
    """Undo ``mutant``'s changes, so the next mutant starts from the bundled project again."""
    for rel in mutant.changes:
        target = project / rel
        if rel in base:
            target.write_bytes(base[rel])
        else:
            target.unlink(missing_ok=True)


def run(
    mutants: int,
    seed: int,
    plan: str = DEFAULT_PLAN,
    only: Sequence[int] = (),
    keep: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Build and run the mutants; returns what happened (the project copy lives in a temporary directory)."""
    global CURRENT
    stages = parse_plan(plan)
    base = load_base()
    mutator = Mutator(base)
    report = Report()
    RULES.clear()
    indexes = list(only) or list(range(mutants))
    with tempfile.TemporaryDirectory(prefix="runbinder-fuzz-") as tmp:
        project = Path(tmp) / "project"
        for rel, content in base.items():
            (project / rel).parent.mkdir(parents=True, exist_ok=True)
            (project / rel).write_bytes(content)
        for n, index in enumerate(indexes, 1):
            mutant = mutator.mutant(seed, index)
            apply(project, base, mutant)
            CURRENT = mutant
            try:
                _run_stages(project, mutant, stages, report, force=bool(only) or index == 0)
                if keep is not None and (only or any(f.mutant is mutant for f in report.failures)):
                    _keep(project, keep / f"mutant-{seed}-{index}", mutant)
            finally:
                restore(project, base, mutant)
            report.mutants += 1
            if progress is not None:
                progress(n, len(indexes))
    report.rules = Counter(RULES)
    return report


def _run_stages(project: Path, mutant: Mutant, stages: list[tuple[str, int]], report: Report, force: bool) -> None:
    for name, every in stages:
        if not force and mutant.index % every:
            continue
        CRASHES.clear()
        start = time.perf_counter()
        try:
            problems = STAGES[name](project)
        except Exception:  # a stage itself must not stop the run; what it raised is the finding
            problems = [f"stage raised: {traceback.format_exc()}"]
        elapsed = time.perf_counter() - start
        report.runs[name] += 1
        report.seconds[name] = report.seconds.get(name, 0.0) + elapsed
        report.slowest[name] = max(report.slowest.get(name, 0.0), elapsed)
        limit = SLOW_STAGES.get(name, TIME_LIMIT)
        if elapsed > limit:
            problems.append(f"took {elapsed:.1f} s (limit {limit:g} s)")
        if problems:
            report.failures.append(Failure(mutant, name, problems, CRASHES[0] if CRASHES else None))


def _keep(project: Path, dest: Path, mutant: Mutant) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(project, dest)
    (dest / "MUTATION.txt").write_text("\n".join(mutant.steps) + f"\n\n{mutant.reproduce()}\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: exit 0 when every mutant kept the promise, 1 otherwise."""
    global TIME_LIMIT
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=int, default=3000, help="how many mutants (default: 3000)")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="the seed (default: the time; printed)")
    parser.add_argument("--stages", default=DEFAULT_PLAN, help=f"name[:every],... (default: {DEFAULT_PLAN})")
    parser.add_argument("--only", type=int, action="append", default=[], metavar="I", help="run only mutant I")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="write failing (or --only) mutants into DIR")
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT, help="seconds per stage and mutant")
    args = parser.parse_args(argv)
    TIME_LIMIT = args.time_limit
    print(f"seed {args.seed}", flush=True)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{done}/{total} mutants", end="", file=sys.stderr, flush=True)

    report = run(args.mutants, args.seed, args.stages, args.only, args.keep, progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(report.text())
    print(f"seed {args.seed}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
