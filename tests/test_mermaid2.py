"""The documented alternative: diagrams rendered by mkdocs-mermaid2-plugin (examples/mermaid2/mkdocs.yml),
still offline: the local mermaid copy, no CDN, every diagram drawn in a real Chromium."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, copy_site_project, mkdocs_build, serve_directory

pytest.importorskip("mermaid2", reason="mkdocs-mermaid2-plugin is not installed")


@pytest.fixture(scope="module")
def mermaid2_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_site_project(tmp_path_factory.mktemp("mermaid2"))
    shutil.copy2(ROOT / "examples" / "mermaid2" / "mkdocs.yml", project / "mkdocs.yml")
    result = mkdocs_build(project, "--strict")
    assert result.returncode == 0, result.stderr
    return project / "site"


def test_mermaid2_site_loads_nothing_from_a_cdn(mermaid2_site: Path) -> None:
    for page in mermaid2_site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"(unpkg\.com|jsdelivr|cdnjs)", html), page
    severity = (mermaid2_site / "severity.html").read_text(encoding="utf-8")
    assert '<div class="mermaid">' in severity
    assert 'src="assets/runbinder/mermaid.min.js"' in severity


def test_mermaid2_renders_every_diagram(watch: Any, mermaid2_site: Path) -> None:
    pages = sorted(p for p in mermaid2_site.rglob("*.html") if '<div class="mermaid">' in p.read_text(encoding="utf-8"))
    assert len(pages) >= 5
    with serve_directory(mermaid2_site) as url:
        watched = watch(url)
        for page in pages:
            expected = page.read_text(encoding="utf-8").count('<div class="mermaid">')
            watched.page.goto(f"{url}/{page.relative_to(mermaid2_site).as_posix()}")
            watched.page.wait_for_function(
                "n => document.querySelectorAll('div.mermaid svg').length === n", arg=expected, timeout=30_000
            )
            assert "Syntax error" not in watched.page.inner_text("body")
    assert watched.external == []
    assert watched.errors == []
