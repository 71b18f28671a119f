"""Nothing lost: a build that fails, fails --strict, or is killed at any moment leaves the last good site complete."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbinder import publish

from .conftest import copy_site_project, mkdocs_build


def tree(site: Path) -> dict[str, str]:
    """Every file of a site with the digest of its bytes."""
    return {
        p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(site.rglob("*"))
        if p.is_file()
    }


def leftovers(project: Path) -> list[str]:
    return sorted(p.name for p in project.iterdir() if publish.STAGING in p.name or publish.OLD in p.name)


@pytest.fixture(scope="module")
def good_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_site_project(tmp_path_factory.mktemp("publish") / "project")
    result = mkdocs_build(project)
    assert result.returncode == 0, result.stderr[-2000:]
    return project


def _fresh(good_project: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project with a published site (a copy of a good build)."""
    project = copy_site_project(tmp_path / "project")
    shutil.copytree(good_project / "site", project / "site")
    return project, tree(project / "site")


def test_a_strict_failure_publishes_nothing(good_project: Path, tmp_path: Path) -> None:
    project, before = _fresh(good_project, tmp_path)
    (project / "docs" / "broken.md").write_text("# Broken\n\n[gone](missing.md)\n", encoding="utf-8")
    result = mkdocs_build(project, "--strict")
    assert result.returncode != 0
    assert "the new site was not published" in result.stderr
    assert tree(project / "site") == before
    assert leftovers(project) == []


@pytest.mark.parametrize("event", ["on_page_content", "on_post_build", "on_env"])
def test_a_crashing_plugin_publishes_nothing(good_project: Path, tmp_path: Path, event: str) -> None:
    # A hook stands in for any plugin (or renderer) that raises halfway through, after MkDocs cleaned site_dir.
    project, before = _fresh(good_project, tmp_path)
    hook = project / "crash.py"
    hook.write_text(f"def {event}(*args, **kwargs):\n    raise RuntimeError('crashed in {event}')\n", encoding="utf-8")
    config = project / "mkdocs.yml"
    config.write_text(config.read_text(encoding="utf-8") + "\nhooks:\n  - crash.py\n", encoding="utf-8")
    result = mkdocs_build(project)
    assert result.returncode != 0
    assert f"crashed in {event}" in result.stderr
    assert tree(project / "site") == before
    assert leftovers(project) == []


def test_killed_builds_leave_the_last_good_site_complete(good_project: Path, tmp_path: Path) -> None:
    project, before = _fresh(good_project, tmp_path)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "SOURCE_DATE_EPOCH": "1795305600"}
    command = [sys.executable, "-m", "mkdocs", "build"]
    started = time.monotonic()
    subprocess.run(command, cwd=project, env=env, capture_output=True, check=True, timeout=600)
    duration = time.monotonic() - started
    good = tree(project / "site")  # the same sources built again: the site every kill must leave intact
    assert good.keys() == before.keys()
    rng = random.Random(20261130)
    moments = sorted(rng.uniform(0.05, duration * 1.1) for _ in range(6))
    for moment in moments:
        process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        now = tree(project / "site")
        # Killed before the swap: the old site. Killed after it: the new one. Never anything in between.
        assert now == good, f"killed at {moment:.2f} s of {duration:.2f} s"
    result = mkdocs_build(project)
    assert result.returncode == 0
    assert leftovers(project) == []  # the next build removes what killed ones left behind


def test_dirty_build_keeps_the_pages_it_does_not_rewrite(good_project: Path, tmp_path: Path) -> None:
    project, before = _fresh(good_project, tmp_path)
    result = mkdocs_build(project, "--dirty")
    assert result.returncode == 0, result.stderr[-2000:]
    assert tree(project / "site").keys() == before.keys()


# ------------------------------------------------------------------------------------------------ the stage itself


def _site(path: Path, marker: str) -> Path:
    path.mkdir(parents=True)
    (path / "index.html").write_text(marker, encoding="utf-8")
    return path


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_commit_swaps_in_the_new_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool) -> None:
    target = _site(tmp_path / "site", "old")
    if not exchange:
        monkeypatch.setattr(publish, "_exchange", lambda a, b: False)
    stage = publish.Stage.begin(target)
    (stage.staging / "index.html").write_text("new", encoding="utf-8")
    stage.commit()
    assert (target / "index.html").read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_commit_without_a_previous_site_and_abandon(tmp_path: Path) -> None:
    stage = publish.Stage.begin(tmp_path / "out" / "site")
    (stage.staging / "a.html").write_text("a", encoding="utf-8")
    stage.commit()
    assert (tmp_path / "out" / "site" / "a.html").is_file()
    again = publish.Stage.begin(tmp_path / "out" / "site")
    (again.staging / "a.html").write_text("b", encoding="utf-8")
    again.abandon()
    assert (tmp_path / "out" / "site" / "a.html").read_text(encoding="utf-8") == "a"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["site"]


def test_keep_existing_copies_the_published_site(tmp_path: Path) -> None:
    target = _site(tmp_path / "site", "old")
    stage = publish.Stage.begin(target, keep_existing=True)
    assert (stage.staging / "index.html").read_text(encoding="utf-8") == "old"
    stage.abandon()


def test_sweep_removes_only_what_dead_builds_left(tmp_path: Path) -> None:
    target = _site(tmp_path / "site", "x")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".site{publish.STAGING}{dead.pid}-abc"
    stale.mkdir()
    live = tmp_path / f".site{publish.STAGING}{os.getppid()}-def"
    live.mkdir()
    other = tmp_path / f".other{publish.STAGING}{dead.pid}-ghi"
    other.mkdir()
    assert publish.sweep(target) == [stale]
    assert live.is_dir()
    assert other.is_dir()
