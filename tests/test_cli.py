"""The command line as users and pre-commit run it: formats, exit codes, no writes, the installed script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runbinder.cli import main

from .conftest import CASES, build_project


@pytest.fixture
def broken_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    build_project(CASES / "invalid" / "xref-runbook", tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_json_format_matches_text(broken_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "json", "runbooks"]) == 1
    items = json.loads(capsys.readouterr().out)
    expected = (CASES / "invalid" / "xref-runbook" / "expected.txt").read_text().splitlines()
    assert [
        f"{d['path']}:{d['line']}:{d['col']}: {d['level']}: {d['message']} ({d['rule']})" for d in items
    ] == expected


def test_github_format(broken_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--format", "github", "runbooks"]) == 1
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (
        "::error file=runbooks/refs.yaml,line=4,col=10,title=xref.service::"
        "service 'paymnets' does not exist; did you mean 'payments'?"
    )


def test_summary_goes_to_stderr(broken_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["validate", "runbooks"])
    err = capsys.readouterr().err
    assert err.strip() == "2 files checked: 15 errors, 1 warning"


def test_warnings_fail_only_with_strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    text = (runbooks / "payments-down.yaml").read_text()
    (runbooks / "payments-down.yaml").write_text(text + "variables:\n  - name: SPARE\n    description: unused\n")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "runbooks"]) == 0
    assert main(["validate", "--strict", "runbooks"]) == 1


def test_usage_errors_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 2  # no ./runbooks
    assert main(["validate", "nope.yaml"]) == 2
    (tmp_path / "README.md").write_text("# hi\n")
    assert main(["validate", "README.md"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--format", "xml"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["check", "--as-of", "2026-13-01"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "no such file or directory" in err
    assert "not a YAML file" in err
    assert "not a date in YYYY-MM-DD form: '2026-13-01'" in err


def test_validation_never_writes(broken_project: Path) -> None:
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in broken_project.rglob("*") if p.is_file()}
    main(["validate", "runbooks"])
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in broken_project.rglob("*") if p.is_file()}
    assert after == before


def test_single_file_resolves_against_whole_project(broken_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The minimal runbook is fine; the broken one next to it must not leak into a one-file run.
    shutil.copy2(CASES / "valid" / "minimal" / "payments-down.yaml", broken_project / "runbooks" / "ok.yaml")
    assert main(["validate", "runbooks/ok.yaml"]) == 0
    assert capsys.readouterr().out == ""


def test_installed_console_script(broken_project: Path) -> None:
    script = Path(sys.executable).with_name("runbinder")
    assert script.exists(), "the runbinder console script is not installed in this environment"
    result = subprocess.run(
        [str(script), "validate", "runbooks/refs.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("runbooks/refs.yaml:4:10: error: service 'paymnets'")
    assert "Traceback" not in result.stderr
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert version.stdout.startswith("runbinder ")


def test_validate_does_not_import_mkdocs(broken_project: Path) -> None:
    code = (
        "import sys; from runbinder.cli import main; main(['validate', '-q', 'runbooks']);"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('mkdocs', 'markdown', 'material'));"
        "print('MODULES=' + ','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.strip().splitlines()[-1] == "MODULES="
