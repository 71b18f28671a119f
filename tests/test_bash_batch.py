"""Batched `bash -n` (one bash parsing many snippets) against the reference, one `bash -n` process per snippet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from runbinder.checks.commands import _bash_n, _neutral, bash_batch, command_items, guard, language_of
from runbinder.validate import load_project

from .conftest import ROOT

EDGE_CASES = [
    'echo ok\necho "x\n',
    "echo ok\necho ) \n",
    "cat <<EOF\nhello\n",
    "cat <<-X\n\tfoo\n\tX\necho )",
    "if true; then\n echo\n",
    "a='b\n\nc",
    "echo $(\n",
    "x=( a b\n",
    "echo `a\n",
    "f() {\n echo\n",
    "[[ a == \n",
    "",
    "\n\n",
    "echo $((1+))",
    "case a in\nb) ;;\n",
    'echo "$(echo ")"',
    "echo ${x/\n",
    "a\n\n\n\necho )",
    "function f { :; }; f )",
    "}",
    "fi\nfi",
    "done; echo",
    "echo ok; exit 3",
]


def _snippets(project_dir: Path) -> list[str]:
    project = load_project(project_dir, None, project_dir.parent)
    return sorted(
        {
            _neutral(str(item.data["code"]))
            for item in command_items(project)
            if language_of(item.data) in ("bash", "sh") and guard(str(item.data["code"]), "bash") is None
        }
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("generated") / "runbooks"
    subprocess.run([sys.executable, "-m", "runbinder.bench.generate", "60", str(target)], check=True)
    return target


def _agree(texts: list[str]) -> None:
    batched = bash_batch(texts)
    assert batched is not None
    disagreements = [(t, b, r) for t, b in zip(texts, batched, strict=True) if b != (r := _bash_n(t))]
    assert disagreements == []


def test_batched_verdicts_agree_with_bash_n_on_every_bundled_snippet() -> None:
    texts = _snippets(ROOT / "runbooks")
    assert len(texts) > 100
    _agree(texts)


def test_batched_verdicts_agree_with_bash_n_on_every_generated_snippet(generated: Path) -> None:
    texts = _snippets(generated)
    assert len(texts) > 100
    _agree(texts)


def test_batched_verdicts_agree_on_syntax_errors_and_edge_cases() -> None:
    verdicts = bash_batch(EDGE_CASES)
    assert verdicts is not None
    assert sum(1 for status, _ in verdicts if status != 0) >= 15  # the cases are mostly errors: both must say so
    _agree(EDGE_CASES)


def test_a_batch_executes_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    texts = [
        f"touch {marker}-1",
        f"echo $(touch {marker}-2)",
        f"x=`touch {marker}-3`",
        f"fi\ntouch {marker}-4",  # after a syntax error in one snippet ...
        f"touch {marker}-5",  # ... the next is still only parsed
        f"set +n; touch {marker}-6",
    ]
    verdicts = bash_batch(texts)
    assert verdicts is not None
    assert [status for status, _ in verdicts] == [0, 0, 0, 2, 0, 0]
    assert list(tmp_path.iterdir()) == []
