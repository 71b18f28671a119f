"""`runbinder init` creates a site that validates and builds with --strict as generated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from runbinder.cli import main

from .conftest import mkdocs_build


def test_init_creates_a_site_that_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "our-runbooks"
    assert main(["init", str(target)]) == 0
    assert "runbinder validate" in capsys.readouterr().out
    monkeypatch.chdir(target)
    assert main(["validate"]) == 0
    assert capsys.readouterr().out == ""
    result = mkdocs_build(target, "--strict")
    assert result.returncode == 0, result.stderr
    html = (target / "site" / "runbooks" / "web-api-high-error-rate.html").read_text(encoding="utf-8")
    assert "kubectl rollout undo deployment/web-api" in re.sub(r"<[^>]+>", "", html)  # highlighted code
    assert (target / "site" / "assets" / "runbinder" / "mermaid.min.js").is_file()
    hooks = yaml.safe_load((target / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert hooks["repos"][0]["hooks"][0]["id"] == "runbinder-validate"
    assert (target / ".gitignore").read_text().startswith("site/")


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mkdocs.yml").write_text("site_name: Mine\n")
    assert main(["init", str(tmp_path)]) == 2
    assert "nothing written" in capsys.readouterr().err
    assert (tmp_path / "mkdocs.yml").read_text() == "site_name: Mine\n"
    assert not (tmp_path / "runbooks").exists()


def test_init_does_not_follow_a_dangling_link_out_of_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "site"
    target.mkdir()
    outside = tmp_path / "outside.yml"
    (target / "mkdocs.yml").symlink_to(outside)  # dangling: exists() says no, but writing would follow it
    assert main(["init", str(target)]) == 2
    assert "nothing written" in capsys.readouterr().err
    assert not outside.exists()
    assert sorted(p.name for p in target.iterdir()) == ["mkdocs.yml"]


def test_init_does_not_write_through_a_linked_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "site"
    target.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (target / "runbooks").symlink_to(elsewhere, target_is_directory=True)
    assert main(["init", str(target)]) == 2
    assert "nothing written" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


def test_init_that_fails_part_way_says_what_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    real_open = os.open
    calls = {"n": 0}

    def failing_open(path: str, flags: int, mode: int = 0o777) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device", str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", failing_open)
    assert main(["init", str(tmp_path / "site")]) == 1
    err = capsys.readouterr().err
    assert "nothing written" not in err
    assert "No space left on device" in err
    assert err.count("written before that") == 1
    assert len(list((tmp_path / "site").rglob("*.*"))) == 2
