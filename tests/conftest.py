"""Shared fixtures: the repository root and a scratch project builder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
