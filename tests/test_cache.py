"""The verdict cache of `runbinder check`: a second run starts no tool, a corrupt cache is ignored and rewritten,
concurrent saves keep both runs' verdicts, and --no-cache bypasses it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runbinder.checks.cache import FILE_NAME, VerdictCache
from runbinder.checks.commands import find_shellcheck

from .conftest import ROOT


def _counting_tool(bin_dir: Path, name: str, real: str, log: Path) -> Path:
    """A stand-in for ``name`` that records each start in ``log`` and runs the real tool."""
    script = bin_dir / name
    script.write_text(f'#!/bin/sh\nprintf \'%s\\n\' "$1" >> {log}\nexec {real} "$@"\n', encoding="utf-8")
    script.chmod(0o755)
    return script


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "runbooks", tmp_path / "runbooks")
    return tmp_path


class Tools:
    def __init__(self, tmp: Path) -> None:
        bash, shellcheck = shutil.which("bash"), find_shellcheck()
        if bash is None or shellcheck is None:
            pytest.skip("needs bash and ShellCheck")
        bin_dir = tmp / "fake-bin"
        bin_dir.mkdir()
        self.bash_log, self.shellcheck_log = tmp / "bash.log", tmp / "shellcheck.log"
        _counting_tool(bin_dir, "bash", bash, self.bash_log)
        fake_shellcheck = _counting_tool(bin_dir, "shellcheck", shellcheck, self.shellcheck_log)
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "RUNBINDER_SHELLCHECK": str(fake_shellcheck),
        }

    def starts(self) -> tuple[int, int]:
        def count(log: Path) -> int:
            return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0

        return count(self.bash_log), count(self.shellcheck_log)

    def check(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runbinder", "check", "runbooks", "--format", "json", *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def test_second_run_starts_no_tool_and_reports_the_same(project: Path, tmp_path: Path) -> None:
    tools = Tools(tmp_path)
    first = tools.check(project)
    assert first.returncode in (0, 1), first.stderr
    bash_starts, shellcheck_starts = tools.starts()
    assert bash_starts >= 2
    assert shellcheck_starts >= 2
    assert (project / ".runbinder-cache" / FILE_NAME).is_file()

    second = tools.check(project)
    assert tools.starts() == (bash_starts, shellcheck_starts)  # every verdict came from the cache
    assert (second.returncode, second.stdout) == (first.returncode, first.stdout)

    bypass = tools.check(project, "--no-cache")
    after = tools.starts()
    assert after[0] > bash_starts
    assert after[1] > shellcheck_starts
    assert (bypass.returncode, bypass.stdout) == (first.returncode, first.stdout)


def test_a_changed_command_is_the_only_one_judged_again(project: Path, tmp_path: Path) -> None:
    tools = Tools(tmp_path)
    tools.check(project)
    runbook = project / "runbooks" / "authos-api" / "authos-api-database-connection-failures.yaml"
    text = runbook.read_text(encoding="utf-8")
    edited = text.replace("curl https://authos.test/api/health/database", "curl https://authos.test/api/health/db", 1)
    assert edited != text
    runbook.write_text(edited, encoding="utf-8")
    before = tools.starts()
    tools.check(project)
    logged = tools.bash_log.read_text(encoding="utf-8").splitlines()[before[0] :]
    assert len(logged) == 1
    assert "--version" not in logged[0]
    assert len(tools.shellcheck_log.read_text(encoding="utf-8").splitlines()) == before[1] + 1


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff not json",
        b'{"format": 1, "entries": {"k": 3}, "versions": []}',
        b'{"format": 1, "entries": {"k": {"v": [0, ""], "t": "today"}}}',
        b"[]",
        b'{"format": 99}',
        b"",
    ],
    ids=["binary", "bad-entries", "bad-dates", "array", "other-format", "empty"],
)
def test_a_corrupt_cache_is_ignored_and_rewritten(project: Path, tmp_path: Path, content: bytes) -> None:
    tools = Tools(tmp_path)
    reference = tools.check(project, "--no-cache")
    cache = project / ".runbinder-cache" / FILE_NAME
    cache.parent.mkdir()
    cache.write_bytes(content)
    result = tools.check(project)
    assert (result.returncode, result.stdout) == (reference.returncode, reference.stdout)
    assert "Traceback" not in result.stderr
    data = json.loads(cache.read_text(encoding="utf-8"))
    assert data["format"] == 1
    assert len(data["entries"]) > 100


def test_entries_of_the_wrong_shape_are_misses(project: Path, tmp_path: Path) -> None:
    tools = Tools(tmp_path)
    reference = tools.check(project)
    cache = project / ".runbinder-cache" / FILE_NAME
    data = json.loads(cache.read_text(encoding="utf-8"))
    for entry in data["entries"].values():
        entry["v"] = {"not": "a verdict"}
    cache.write_text(json.dumps(data), encoding="utf-8")
    (cache.parent / "findings.json").unlink()  # so the checks run and ask for the tools' verdicts
    before = tools.starts()
    result = tools.check(project)
    assert (result.returncode, result.stdout) == (reference.returncode, reference.stdout)
    after = tools.starts()
    assert after[0] > before[0]
    assert after[1] > before[1]


def test_concurrent_saves_keep_both_runs_verdicts(tmp_path: Path) -> None:
    one, two = VerdictCache(tmp_path), VerdictCache(tmp_path)
    one.put("a" * 64, [0, ""])
    two.put("b" * 64, [2, "bash: line 1: syntax error"])
    assert one.save() is None
    assert two.save() is None
    merged = VerdictCache(tmp_path)
    assert merged.get("a" * 64) == [0, ""]
    assert merged.get("b" * 64) == [2, "bash: line 1: syntax error"]
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temporary file left behind


def test_old_entries_are_dropped_and_keys_follow_the_tool_version(tmp_path: Path) -> None:
    now = [100 * 86_400.0]
    cache = VerdictCache(tmp_path, clock=lambda: now[0])
    cache.put("old", [0, ""])
    cache.save()
    now[0] += 31 * 86_400
    later = VerdictCache(tmp_path, clock=lambda: now[0])
    later.put("new", [0, ""])
    later.save()
    assert set(VerdictCache(tmp_path, clock=lambda: now[0]).entries) == {"new"}
    assert VerdictCache.key("bash -n", "5.2", "", "echo") != VerdictCache.key("bash -n", "5.3", "", "echo")
    assert VerdictCache.key("shellcheck", "v", "--severity=warning", "x") != VerdictCache.key(
        "shellcheck", "v", "--severity=style", "x"
    )


def test_serve_checks_only_the_items_of_changed_files(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under `mkdocs serve` the plugin keeps each file's findings between rebuilds (run_remembered): an unchanged
    file's items are neither selected nor run, and after any edit the findings are those of a fresh check."""
    from runbinder.checks.runner import CheckOptions, Runner, run_remembered
    from runbinder.validate import load_project

    runbooks = project / "runbooks"
    options = CheckOptions(cache_dir=None)
    memo: dict[tuple[str, str, str], list[Any]] = {}

    def fresh() -> list[Any]:
        return sorted(Runner(load_project(runbooks, None, project), options).run_all())

    def remembered() -> list[Any]:
        return sorted(run_remembered(load_project(runbooks, None, project), options, memo))

    first = remembered()
    assert first == fresh()
    assert len(memo) > 30
    ran = _counting_runs(monkeypatch)

    def step() -> tuple[list[Any], set[str]]:
        """The remembered findings (held to a fresh check's) and the files whose items ran for them."""
        ran.clear()
        found = remembered()
        files = {nodeid.split("::")[0] for nodeid in ran}
        assert found == fresh()
        return found, files

    assert step() == (first, set())
    runbook = runbooks / "authos-api" / "authos-api-database-connection-failures.yaml"
    text = runbook.read_text(encoding="utf-8")
    assert "destructive: true" in text
    runbook.write_text(text.replace("destructive: true", "destructive: false", 1), encoding="utf-8")  # a finding
    found, files = step()
    assert files == {"runbooks/authos-api/authos-api-database-connection-failures.yaml"}
    assert any(d.rule == "command.destructive" for d in found)
    runbook.write_text(text.replace("destructive: true", "destructive: maybe", 1), encoding="utf-8")  # held back
    found, files = step()
    assert any(d.rule == "check.skipped" for d in found)
    assert files == {"runbooks/authos-api/authos-api-database-connection-failures.yaml"}
    runbook.unlink()  # the pages links may name change: every file's items again
    found, files = step()
    assert len(files) > 30
    catalog = runbooks / "catalog.yaml"  # so does every catalog edit
    catalog.write_text(catalog.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    found, files = step()
    assert len(files) > 30
    assert step()[1] == set()


def _counting_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from runbinder.checks.runner import Runner

    ran: list[str] = []
    original = Runner.run

    def counting(self: Runner, item: Any) -> list[Any]:
        ran.append(item.nodeid)
        return original(self, item)

    monkeypatch.setattr(Runner, "run", counting)
    return ran


def _run(project: Path, **options: Any) -> list[Any]:
    from runbinder.checks.runner import CheckOptions, Runner
    from runbinder.validate import load_project

    settings = CheckOptions(cache_dir=project / ".runbinder-cache", **options)
    return sorted(Runner(load_project(project / "runbooks", None, project), settings).run_all())


def test_findings_of_unchanged_items_come_from_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second run (a new process: nothing in memory) runs no check at all and reports the same; a changed file
    runs its own items again, a changed catalog or a new runbinder every item."""
    import runbinder.checks.runner as runner

    first = _run(project)
    ran = _counting_runs(monkeypatch)
    assert (_run(project), ran) == (first, [])

    runbook = project / "runbooks" / "authos-api" / "authos-api-database-connection-failures.yaml"
    runbook.write_text(runbook.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert _run(project) == first
    assert ran
    assert {nodeid.split("::")[0] for nodeid in ran} == {
        "runbooks/authos-api/authos-api-database-connection-failures.yaml"
    }

    ran.clear()
    monkeypatch.setattr(runner, "code_digest", lambda: "another runbinder")
    assert _run(project) == first
    assert len(ran) > 100


def test_findings_depend_on_the_options(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    everything = _run(project)
    ran = _counting_runs(monkeypatch)
    narrowed = _run(project, select=("command.destructive",))
    assert ran
    assert narrowed == [d for d in everything if d.rule == "command.destructive"]


def test_a_finding_about_the_moment_is_never_kept(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ShellCheck that ran out of time says something about the machine, not the command: judged again next run."""
    from runbinder.checks.commands import CommandChecker

    original = CommandChecker.run
    slow = "runbooks/authos-api/authos-api-database-connection-failures.yaml"

    def timing_out(self: CommandChecker, item: Any) -> list[Any]:
        if item.nodeid.startswith(slow):
            return [item.diagnostic("ShellCheck did not finish within 1 s", "shellcheck.timeout", offset=0)]
        return original(self, item)

    with monkeypatch.context() as patch:
        patch.setattr(CommandChecker, "run", timing_out)
        assert any(d.rule == "shellcheck.timeout" for d in _run(project))
    ran = _counting_runs(monkeypatch)
    again = _run(project)
    assert not any(d.rule == "shellcheck.timeout" for d in again)
    assert {n.split("::")[0] for n in ran if not n.split("::")[1].startswith("last_reviewed")} <= {slow}
    assert any(n.startswith(slow) for n in ran)


def test_stored_findings_of_the_wrong_shape_are_misses(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _run(project)
    cache = project / ".runbinder-cache" / "findings.json"
    data = json.loads(cache.read_text(encoding="utf-8"))
    spoiled = 0
    for entry in data["entries"].values():
        if entry["v"] == []:  # no findings (or no ShellCheck comments): planted ones of the wrong shape
            entry["v"] = [["runbooks/planted.yaml", "line one", 1, "error", "planted", "planted"]]
            spoiled += 1
    assert spoiled > 10
    cache.write_text(json.dumps(data), encoding="utf-8")
    ran = _counting_runs(monkeypatch)
    assert _run(project) == first  # nothing planted is reported
    assert ran


def test_highlighted_commands_are_kept_between_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second build (a new store, nothing in memory) highlights nothing again; a changed command or another
    language is highlighted anew; an entry that is not HTML text is a miss; whatever the file holds still passes
    the sanitizer on its way into a page."""
    from runbinder import safe

    made: list[str] = []
    original = safe._code_html

    def counting(code: str, *args: Any) -> str:
        made.append(code)
        return original(code, *args)

    monkeypatch.setattr(safe, "_code_html", counting)

    def build(*blocks: tuple[str, str]) -> list[str]:
        safe.code_html.cache_clear()
        monkeypatch.setattr(safe, "HIGHLIGHTS", safe.HighlightStore(tmp_path))
        try:
            return [safe.code_html(code, language, ("NS",)) for code, language in blocks]
        finally:
            assert safe.HIGHLIGHTS is not None
            safe.HIGHLIGHTS.cache.save()

    first = build(("kubectl -n $NS get pods", "bash"), ("SELECT 1;", "sql"))
    assert len(made) == 2
    assert build(("kubectl -n $NS get pods", "bash"), ("SELECT 1;", "sql")) == first
    assert len(made) == 2
    build(("kubectl -n $NS get pods", "sql"), ("SELECT 2;", "sql"))
    assert made[2:] == ["kubectl -n $NS get pods", "SELECT 2;"]

    store = json.loads((tmp_path / "highlight.json").read_text(encoding="utf-8"))
    keys = safe.HighlightStore(tmp_path)
    store["entries"][keys.key("SELECT 1;", "sql", ("NS",), ())]["v"] = 42
    planted = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    store["entries"][keys.key("SELECT 2;", "sql", ("NS",), ())]["v"] = planted
    (tmp_path / "highlight.json").write_text(json.dumps(store), encoding="utf-8")
    again = build(("SELECT 1;", "sql"), ("SELECT 2;", "sql"))
    assert again[0] == first[1]
    assert made[4:] == ["SELECT 1;"]
    assert again[1] == planted  # used as kept: the page still gets only what the sanitizer lets through
    marker = safe.fragment(again[1])
    shown = safe.FRAGMENTS.inline(marker)
    assert "onerror" not in shown
    assert "<script" not in shown


def test_an_unchanged_cache_file_is_parsed_once_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mkdocs serve` opens the verdict cache at every rebuild: the same file (and what the process itself wrote)
    is not parsed again; a file another process rewrote is."""
    import runbinder.checks.cache as cache_module

    parsed: list[int] = []
    original = json.loads

    def counting(text: Any) -> Any:
        parsed.append(len(text))
        return original(text)

    monkeypatch.setattr(cache_module.json, "loads", counting)
    first = VerdictCache(tmp_path)
    first.put("a" * 64, [0, ""])
    assert first.save() is None
    assert VerdictCache(tmp_path).get("a" * 64) == [0, ""]
    assert VerdictCache(tmp_path).get("a" * 64) == [0, ""]
    assert parsed == []  # the file this process wrote: known

    data = original((tmp_path / FILE_NAME).read_text(encoding="utf-8"))
    data["entries"]["b" * 64] = {"v": [2, "bash: syntax error"], "t": data["entries"]["a" * 64]["t"]}
    (tmp_path / FILE_NAME).write_text(json.dumps(data), encoding="utf-8")  # another run's save
    assert VerdictCache(tmp_path).get("b" * 64) == [2, "bash: syntax error"]
    assert VerdictCache(tmp_path).get("b" * 64) == [2, "bash: syntax error"]
    assert len(parsed) == 1


def test_a_file_of_dated_keys_keeps_one_day(tmp_path: Path) -> None:
    """Findings and the site's reading are keyed by the date or the whole site: their files keep entries used today
    or yesterday, so they stay the size of a day's work."""
    now = [100 * 86_400.0]
    day = VerdictCache(tmp_path, clock=lambda: now[0], name="findings.json", max_age_days=1)
    day.put("monday", [])
    day.save()
    now[0] += 86_400
    tuesday = VerdictCache(tmp_path, clock=lambda: now[0], name="findings.json", max_age_days=1)
    tuesday.put("tuesday", [])
    tuesday.save()
    assert set(VerdictCache(tmp_path, name="findings.json").entries) == {"monday", "tuesday"}
    now[0] += 86_400
    wednesday = VerdictCache(tmp_path, clock=lambda: now[0], name="findings.json", max_age_days=1)
    wednesday.put("wednesday", [])
    wednesday.save()
    assert set(VerdictCache(tmp_path, name="findings.json").entries) == {"tuesday", "wednesday"}


def test_a_server_writes_its_caches_when_it_stops_or_a_minute_after_the_last_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under `mkdocs serve` a save waits: a cache opened meanwhile sees what the last one kept, and the file is
    written when the server stops, or after a rebuild once a minute has passed since the last write."""
    import runbinder.checks.cache as cache

    monkeypatch.setattr(cache, "_DEFERRED", None)
    monkeypatch.setattr(cache, "_WRITTEN", [0.0])
    clock = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    cache.defer_writes()
    first = VerdictCache(tmp_path)
    first.put("a", ["verdict a"])
    assert first.save() is None
    assert not (tmp_path / FILE_NAME).exists()

    second = VerdictCache(tmp_path)  # the next rebuild
    assert second.get("a") == ["verdict a"]
    second.put("b", ["verdict b"])
    second.save()
    cache.write_deferred(unless_within=60)  # after a rebuild: the first write
    written = json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8"))["entries"]
    assert {k: v["v"] for k, v in written.items()} == {"a": ["verdict a"], "b": ["verdict b"]}

    third = VerdictCache(tmp_path)
    third.put("c", ["verdict c"])
    third.save()
    clock[0] += 30
    cache.write_deferred(unless_within=60)  # 30 s after the last write: waits
    assert "c" not in json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8"))["entries"]
    assert VerdictCache(tmp_path).get("c") == ["verdict c"]  # kept in memory meanwhile
    cache.write_deferred()  # the server stops
    assert "c" in json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8"))["entries"]
