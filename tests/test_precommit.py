"""The shipped pre-commit hook, installed by pre-commit from this repository as another team would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CASES, ROOT, build_project


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_try_repo_runs_the_hook(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    project = tmp_path / "team-repo"
    runbooks = build_project(CASES / "invalid" / "xref-runbook", project)
    shutil.copy2(CASES / "valid" / "minimal" / "payments-down.yaml", runbooks / "ok.yaml")
    _git(project, "init", "-q")
    _git(project, "add", ".")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "cache"),
        # pre-commit installs the hook's environment from the registry: hold it to the lock, as make venv does.
        "PIP_CONSTRAINT": str(ROOT / "constraints.txt"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    pre_commit = [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "runbinder-validate", "--files"]

    ok = subprocess.run(
        [*pre_commit, "runbooks/ok.yaml"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Passed" in ok.stdout

    bad = subprocess.run(
        [*pre_commit, "runbooks/refs.yaml"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert bad.returncode == 1
    assert "runbooks/refs.yaml:4:10: error: service 'paymnets' does not exist" in bad.stdout
