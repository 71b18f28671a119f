"""The synthetic runbook sets of the benchmarks: deterministic, valid, clean for `runbinder check`, and alike to
real runbooks (phases, commands, flows, escalation, cross-references)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runbinder.bench.generate import generate
from runbinder.cli import main


def _tree(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*.yaml"))}


def test_same_count_and_seed_give_the_same_bytes(tmp_path: Path) -> None:
    generate(25, tmp_path / "a", seed=3)
    generate(25, tmp_path / "b", seed=3)
    generate(25, tmp_path / "c", seed=4)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert _tree(tmp_path / "a") != _tree(tmp_path / "c")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    directory = tmp_path_factory.mktemp("generated") / "runbooks"
    return directory, generate(40, directory)


def test_command_line_writes_n_runbooks(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "runbinder.bench.generate", "12", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote 12 runbooks over 2 services")
    runbooks = [p for p in (tmp_path / "out").rglob("*.yaml") if not p.name.endswith("catalog.yaml")]
    assert len(runbooks) == 12


def test_generated_set_is_valid_and_check_clean(
    corpus: tuple[Path, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    directory, paths = corpus
    assert len(paths) == 40
    assert main(["validate", "--strict", str(directory)]) == 0
    assert main(["check", "--strict", "--as-of", "2026-12-01", str(directory)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("no problems") == 2
    assert captured.out == ""


def test_generated_runbooks_look_like_real_ones(corpus: tuple[Path, list[Path]]) -> None:
    _, paths = corpus
    books = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in paths]
    assert len({b["service"] for b in books}) == 4
    assert len({b["kind"] for b in books}) >= 4
    languages = {c["language"] for b in books for ph in b["phases"] for s in ph["steps"] for c in s["commands"]}
    assert {"bash", "promql"} <= languages
    assert any(c.get("destructive") for b in books for ph in b["phases"] for s in ph["steps"] for c in s["commands"])
    assert all(b["flow"]["nodes"] and b["escalation"] for b in books)
    assert sum(1 for b in books if b.get("related")) >= 30  # cross-references between runbooks
    assert any("levels" in b["escalation"] for b in books)
    assert any("policy" in b["escalation"] for b in books)
