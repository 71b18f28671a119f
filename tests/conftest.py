"""Shared fixtures: the repository root and a scratch project builder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).resolve().parent / "cases"


def build_project(case: Path, dest: Path) -> Path:
    """Copy a case into ``dest/runbooks`` with the base catalog unless the case has its own (or none)."""
    runbooks = dest / "runbooks"
    runbooks.mkdir(parents=True)
    for item in sorted(case.iterdir()):
        if item.name in ("expected.txt", "args", "no-catalog"):
            continue
        if item.is_dir():
            shutil.copytree(item, runbooks / item.name)
        else:
            shutil.copy2(item, runbooks / item.name)
    if not (case / "catalog.yaml").exists() and not (case / "no-catalog").exists():
        shutil.copy2(CASES / "base-catalog.yaml", runbooks / "catalog.yaml")
    return runbooks


@pytest.fixture
def repo_root() -> Path:
    return ROOT


def copy_site_project(dest: Path) -> Path:
    """A copy of this repository's site sources (mkdocs.yml, runbooks/, docs/) to build without touching ours."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copytree(ROOT / "runbooks", dest / "runbooks")
    shutil.copytree(ROOT / "docs", dest / "docs")
    return dest


def mkdocs_build(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the real `mkdocs build` in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", *extra],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SOURCE_DATE_EPOCH": "1795305600"},
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example site, built once per test session with --strict."""
    project = copy_site_project(tmp_path_factory.mktemp("site-project"))
    result = mkdocs_build(project, "--strict")
    assert result.returncode == 0, result.stderr
    return project / "site"


# The golden cases are inputs of the validator tests, not runbooks of this repository.
collect_ignore_glob = ["cases/*", "golden/*"]
