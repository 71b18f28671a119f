"""Golden tests: every folder under tests/cases/{valid,invalid} is a project whose exact diagnostics are recorded.

Set UPDATE_GOLDEN=1 to rewrite the expected.txt files after an intended change, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runbinder.cli import main

from .conftest import CASES, build_project


def _cases(kind: str) -> list[Path]:
    return sorted(p for p in (CASES / kind).iterdir() if p.is_dir())


def _run(
    case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    build_project(case, tmp_path)
    args = (case / "args").read_text().split() if (case / "args").exists() else ["validate", "runbooks"]
    monkeypatch.chdir(tmp_path)
    code = main(args)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out


def _compare(case: Path, out: str) -> None:
    expected = case / "expected.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        expected.write_text(out, encoding="utf-8")
    assert expected.exists(), f"{expected} is missing: run with UPDATE_GOLDEN=1 and review it"
    assert out == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", _cases("valid"), ids=lambda p: p.name)
def test_valid_case(
    case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = _run(case, tmp_path, capsys, monkeypatch)
    _compare(case, out)
    assert code == 0, out


@pytest.mark.parametrize("case", _cases("invalid"), ids=lambda p: p.name)
def test_invalid_case(
    case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out = _run(case, tmp_path, capsys, monkeypatch)
    _compare(case, out)
    assert code == 1
    assert out.strip(), "an invalid case must produce at least one diagnostic"
    for line in out.splitlines():
        # path:line:col: level: message (rule)
        path, line_no, col, rest = line.split(":", 3)
        assert path.startswith("runbooks/")
        assert int(line_no) >= 0
        assert int(col) >= 0
        assert rest.startswith((" error: ", " warning: "))
        assert rest.endswith(")")
