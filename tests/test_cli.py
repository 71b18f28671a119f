"""The command line as users and pre-commit run it: formats, exit codes, no writes, the installed script."""

from __future__ import annotations

import json
import os
import re
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


# File names a contributor could commit: a newline that forges a workflow command, GitHub's own escape characters, a
# workflow command at the start, the old "##[" form, terminal escapes, a bidi override, bytes that are not UTF-8.
HOSTILE_NAMES = [
    "x\n::error file=forged.yaml,line=1::forged.yaml",
    "::warning::start.yaml",
    "  ::indented.yaml",
    "##[add-mask]mask.yaml",
    "pct%0Acomma,colon:.yaml",
    "cr\rname.yaml",
    "esc\x1b[31mred.yaml",
    "bidi\u202egnp.yaml",
    "not-utf8-\udcff.yaml",
]


@pytest.fixture
def hostile_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    for name in HOSTILE_NAMES:
        (runbooks / name).write_text("id: [broken\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return [f"runbooks/{name}" for name in HOSTILE_NAMES]


def _workflow_commands(line: str) -> list[str]:
    """What GitHub's runner would take from a log line: '::' after leading spaces, or '##[' anywhere."""
    found = ["::"] if line.lstrip().startswith("::") else []
    return found + (["##["] if "##[" in line else [])


def test_text_format_escapes_hostile_file_names(hostile_project: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "runbooks"]) == 1
    out = capsys.readouterr().out
    out.encode("utf-8")  # no lone surrogate reaches the stream
    lines = out.splitlines()
    assert len(lines) == len(HOSTILE_NAMES)  # one line each: no name broke a line
    for line in lines:
        assert line.endswith("(yaml.syntax)")
        assert _workflow_commands(line) == []
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in line)
    shown = {re.sub(r":\d+:\d+: error: .*$", "", line) for line in lines}
    assert shown == {
        "runbooks/x\\n::error file=forged.yaml,line=1::forged.yaml",
        "runbooks/::warning::start.yaml",
        "runbooks/  ::indented.yaml",
        "runbooks/#\\x23[add-mask]mask.yaml",
        "runbooks/pct%0Acomma,colon:.yaml",
        "runbooks/cr\\rname.yaml",
        "runbooks/esc\\x1b[31mred.yaml",
        "runbooks/bidi\\u202egnp.yaml",
        "runbooks/not-utf8-\\xff.yaml",
    }


def test_text_format_never_starts_a_line_with_two_colons() -> None:
    from runbinder.diagnostics import Diagnostic

    lines = [Diagnostic(path, 1, 1, "error", "m", "r").text() for path in ("::error file=a::b", "  ::x", "\t::x")]
    assert [_workflow_commands(line) for line in lines] == [[], [], []]
    assert lines == ["./::error file=a::b:1:1: error: m (r)", "./  ::x:1:1: error: m (r)", "\\t::x:1:1: error: m (r)"]


def _github_v2(line: str) -> tuple[str, dict[str, str], str]:
    """GitHub's runner parsing a workflow command (ActionCommand.TryParseV2), with its unescaping."""
    assert line.startswith("::")
    end = line.index("::", 2)
    info, data = line[2:end], line[end + 2 :]
    command, _, props = info.partition(" ")
    properties = {}
    for pair in props.strip().split(","):
        key, _, value = pair.partition("=")
        for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
            value = value.replace(escaped, char)
        properties[key] = value
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%25", "%")):
        data = data.replace(escaped, char)
    return command, properties, data


def test_github_format_escapes_hostile_file_names(
    hostile_project: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--format", "github", "runbooks"]) == 1
    out = capsys.readouterr().out
    out.encode("utf-8")
    lines = out.splitlines()
    assert len(lines) == len(HOSTILE_NAMES)
    files = set()
    for line in lines:
        command, properties, data = _github_v2(line)
        assert command == "error"
        assert set(properties) == {"file", "line", "col", "title"}
        assert properties["title"] == "yaml.syntax"
        assert "\n" not in data
        files.add(properties["file"])
    # GitHub decodes the names it can match in a pull request back to the real ones; control characters it does not
    # escape itself are shown, not sent to its log viewer.
    assert {
        "runbooks/x\n::error file=forged.yaml,line=1::forged.yaml",
        "runbooks/::warning::start.yaml",
        "runbooks/  ::indented.yaml",
        "runbooks/##[add-mask]mask.yaml",
        "runbooks/pct%0Acomma,colon:.yaml",
        "runbooks/cr\rname.yaml",
        "runbooks/esc\\x1b[31mred.yaml",
        "runbooks/bidi\\u202egnp.yaml",
        "runbooks/not-utf8-\\xff.yaml",
    } == files


def test_github_format_escapes_messages() -> None:
    from runbinder.diagnostics import Diagnostic

    line = Diagnostic("a.yaml", 1, 2, "warning", "50% done\r\nnext: a,b \x1b[0m", "x.y").github()
    assert line == "::warning file=a.yaml,line=1,col=2,title=x.y::50%25 done%0D%0Anext: a,b \\x1b[0m"
    assert _github_v2(line)[2] == "50% done\r\nnext: a,b \\x1b[0m"


def test_json_format_keeps_hostile_file_names_exactly(
    hostile_project: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--format", "json", "runbooks"]) == 1
    out = capsys.readouterr().out
    out.encode("utf-8")
    for line in out.splitlines():
        assert _workflow_commands(line) == []
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in line)
    assert {item["path"] for item in json.loads(out)} == set(hostile_project)  # JSON escapes are lossless
