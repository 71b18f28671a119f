"""The benchmark's floor (plain MkDocs + Material on the plugin's pages) must build the very same HTML: it once left
every HTML fragment of the pages out, and every ratio was measured against too light a floor."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def _bench() -> object:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_floor_builds_the_pages_with_their_html_fragments(tmp_path: Path) -> None:
    bench = _bench()
    project = bench.floor_project(3, tmp_path)  # type: ignore[attr-defined]
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", "mkdocs-floor.yml"],
        cwd=project,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    pages = [p for p in (project / "site-floor" / "runbooks").glob("*.html") if p.name != "index.html"]
    assert pages
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "rbfrag" not in text, page.name  # a marker left as text: its HTML is missing
        assert 'class="highlight"' in text  # the highlighted commands are there
