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
