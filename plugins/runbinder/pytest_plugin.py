"""pytest plugin: ``pytest --runbinder runbooks/`` turns every command, link and review date into a test item.

Items are named like ``runbooks/x.yaml::diagnosis/check-health/command-1``, so a failing command reads like a
failing test, with the same located messages as ``runbinder check``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from .alerts import Coverage, RuleVerdict
from .alerts import check as check_alerts
from .checks import Item
from .checks.links import OnlineOptions
from .checks.runner import CheckOptions, Runner
from .diagnostics import Diagnostic, format_diagnostics, sort_key
from .loader import is_yaml
from .validate import display_path, find_root, load_project, safe_view

_RUNNERS = pytest.StashKey[dict[Path, Runner]]()
_RULES = pytest.StashKey[tuple[set[str], Coverage | None]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runbinder", "runbook checks")
    group.addoption(
        "--runbinder",
        action="store_true",
        help="collect runbook YAML files: one test per command, link and review date",
    )
    group.addoption("--runbinder-online", action="store_true", help="also fetch external links")
    group.addoption(
        "--runbinder-rules",
        action="append",
        default=[],
        metavar="GLOB",
        help="Prometheus rule files or PrometheusRule manifests (globs relative to the rootdir; repeatable): one test "
        "per alerting rule, checked against the runbooks as `runbinder alerts` does. Pytest must visit them: keep "
        "them under a collected path (testpaths), outside the runbook project",
    )
    group.addoption(
        "--runbinder-runbooks",
        default="runbooks",
        metavar="DIR",
        help="the runbook project --runbinder-rules are checked against (relative to the rootdir; default: runbooks)",
    )
    group.addoption(
        "--runbinder-stale",
        choices=("warning", "error"),
        default="warning",
        help="whether an overdue review fails its test (default: warning, it passes)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RUNNERS] = {}


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if not parent.config.getoption("runbinder") or not is_yaml(file_path):
        return None
    if os.path.realpath(file_path) in _rule_paths(parent.config):
        return RulesFile.from_parent(parent, path=file_path)
    if find_root(file_path) is None:
        return None
    return RunbookFile.from_parent(parent, path=file_path)


def _runner(config: pytest.Config, root: Path) -> Runner:
    runners = config.stash[_RUNNERS]
    if root not in runners:
        cwd = Path(str(config.rootpath))
        options = CheckOptions(
            online=bool(config.getoption("runbinder_online")),
            stale=config.getoption("runbinder_stale"),
            today=date.today(),
            online_options=OnlineOptions(cache_dir=cwd / ".runbinder-cache"),
            docs_dir=cwd / "docs" if (cwd / "docs").is_dir() else None,
        )
        runner = Runner(load_project(root, None, cwd), options)
        runner.prepare()
        runners[root] = runner
    return runners[root]


class RunbookFile(pytest.File):
    """A runbook or catalog file: a 'validate' item, then one item per check."""

    def collect(self) -> Iterator[pytest.Item]:
        root = find_root(self.path)
        assert root is not None
        runner = _runner(self.config, root.resolve())
        shown = display_path(self.path, Path(str(self.config.rootpath)))
        yield ValidateItem.from_parent(self, name="validate", runner=runner, shown=shown)
        here = self.path.resolve()
        for item in runner.items:
            if item.doc.path.resolve() == here:
                # The node id is "<file>::<name>"; a file name may hold "::" itself.
                name = item.nodeid[len(item.doc.display) + 2 :]
                yield CheckItem.from_parent(self, name=name, runner=runner, check=item)


class RunbinderFailure(Exception):
    """Carries the diagnostics of a failed item."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=sort_key)
        super().__init__(format_diagnostics(self.diagnostics, "text").rstrip("\n"))


class _Base(pytest.Item):
    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RunbinderFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))


class ValidateItem(_Base):
    """Schema and cross-reference problems of one file."""

    def __init__(self, *, runner: Runner, shown: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runner = runner
        self.shown = shown

    def runtest(self) -> None:
        errors = [d for d in self.runner.project.diagnostics if d.path == self.shown and d.level == "error"]
        if errors:
            raise RunbinderFailure(errors)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"runbinder validate {self.shown}"


class CheckItem(_Base):
    """One command, link, template or review date."""

    def __init__(self, *, runner: Runner, check: Item, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runner = runner
        self.check = check

    def runtest(self) -> None:
        errors = [d for d in self.runner.run(self.check) if d.level == "error"]
        if errors:
            raise RunbinderFailure(errors)

    def reportinfo(self) -> tuple[Path, int, str]:
        line, _ = self.check.doc.locate(self.check.path)
        return self.path, line - 1, f"runbinder {self.check.kind} {self.name}"


# --------------------------------------------------------------------------- alerting rules (--runbinder-rules)


def _rule_paths(config: pytest.Config) -> set[str]:
    """The real paths of the rule files --runbinder-rules names (the files are loaded only when one is visited)."""
    patterns: list[str] = config.getoption("runbinder_rules")
    if not patterns:
        return set()
    if _RULES not in config.stash:
        from .rules import expand

        paths, _ = expand(patterns, Path(str(config.rootpath)))
        config.stash[_RULES] = ({os.path.realpath(p) for p in paths}, None)
    return config.stash[_RULES][0]


def _coverage(config: pytest.Config) -> Coverage:
    """Every rule file checked against the runbook project, once per session."""
    paths, coverage = config.stash[_RULES]
    if coverage is None:
        rootdir = Path(str(config.rootpath))
        project_dir = rootdir / str(config.getoption("runbinder_runbooks"))
        root = find_root(project_dir) if project_dir.is_dir() else None
        if root is None:
            raise pytest.UsageError(f"--runbinder-runbooks {project_dir}: no catalog.yaml there or above")
        project = load_project(root, None, rootdir)
        coverage, _ = check_alerts(safe_view(project).index, config.getoption("runbinder_rules"), rootdir, rootdir)
        config.stash[_RULES] = (paths, coverage)
    return coverage


class RulesFile(pytest.File):
    """A rule file: one item per alerting rule, and one for the file's own problems when it has any."""

    def collect(self) -> Iterator[pytest.Item]:
        coverage = _coverage(self.config)
        here = os.path.realpath(self.path)
        found = next((f for f in coverage.files if os.path.realpath(f.path) == here), None)
        if found is None:  # pragma: no cover - every visited rule file was loaded
            return
        if found.diagnostics:
            yield RuleFileItem.from_parent(self, name="rule-file", problems=found.diagnostics)
        verdicts = [v for v in coverage.rules if v.rule.file == found.display]
        counts: dict[str, int] = {}
        for verdict in verdicts:
            counts[verdict.rule.name] = counts.get(verdict.rule.name, 0) + 1
        taken: set[str] = set()
        for verdict in verdicts:
            rule = verdict.rule
            name = rule.name if counts[rule.name] == 1 else f"{rule.name}[{rule.severity or 'no severity'}]"
            if name in taken:  # the same name and severity twice in one file
                name = f"{rule.name}[line {rule.line}]"
            taken.add(name)
            yield RuleItem.from_parent(self, name=name, verdict=verdict)


class RuleFileItem(_Base):
    """The problems of a rule file itself: YAML it cannot be read as, shapes Prometheus would refuse."""

    def __init__(self, *, problems: list[Diagnostic], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problems = problems

    def runtest(self) -> None:
        errors = [d for d in self.problems if d.level == "error"]
        if errors:
            raise RunbinderFailure(errors)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, "runbinder rule file"


class RuleItem(_Base):
    """One alerting rule: a runbook handles it, one runbook only, and its runbook_url leads to the alert's page."""

    def __init__(self, *, verdict: RuleVerdict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.verdict = verdict

    def runtest(self) -> None:
        errors = [d for d in self.verdict.findings if d.level == "error"]
        if errors:
            raise RunbinderFailure(errors)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.verdict.rule.line - 1, f"runbinder alert {self.name}"
