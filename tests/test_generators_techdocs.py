"""Backstage TechDocs: the bundled site built by mkdocs-techdocs-core as TechDocs' generator runs it.

TechDocs runs `mkdocs build` with the techdocs-core plugin in an environment of its own (the spotify/techdocs image
or `techdocs-cli generate --no-docker`), where runbinder is not installed: so the site is built from what
`runbinder render` wrote. techdocs-core pins its own Material, pymdown-extensions, Pygments and Markdown, older than
the lock's, so it is installed into a throwaway virtualenv, from tests/generators/techdocs-constraints.txt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runbinder import export
from runbinder.checks.links import check_site

from .conftest import ROOT
from .test_generators import CSP_META, ENV, EXTERNAL_LOAD, PAGES, run

TECHDOCS_CONFIG = """\
# A TechDocs site of the bundled runbooks: catalog-info.yaml says backstage.io/techdocs-ref: dir:.
INHERIT: docs/.runbinder/mkdocs.yml
site_name: Identity Platform Runbooks
use_directory_urls: false
theme:
  name: material
  font: false
plugins:
  - techdocs-core
"""


@pytest.fixture(scope="session")
def techdocs_python() -> Path:
    """The virtualenv `make techdocs-venv` makes (`make test` does): mkdocs-techdocs-core and nothing of runbinder's,
    as TechDocs' generator has. Tests download nothing; RUNBINDER_TECHDOCS_PYTHON names another interpreter."""
    python = Path(os.environ.get("RUNBINDER_TECHDOCS_PYTHON") or ROOT / ".venv-techdocs" / "bin" / "python")
    if not python.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {python} is missing: make test runs make techdocs-venv first")
        pytest.skip("no TechDocs environment: run make techdocs-venv (make test does)")
    return python


@pytest.fixture(scope="session")
def techdocs_build(techdocs_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, str]:
    project = tmp_path_factory.mktemp("gen-techdocs")
    shutil.copytree(ROOT / "runbooks", project / "runbooks")
    shutil.copytree(ROOT / "docs", project / "docs")
    result, _ = run([sys.executable, "-m", "runbinder", "render", "runbooks", "-o", "docs", "-q"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    (project / "mkdocs.yml").write_text(TECHDOCS_CONFIG, encoding="utf-8")
    result, seconds = run([str(techdocs_python), "-m", "mkdocs", "build", "--strict"], project, ENV)
    assert result.returncode == 0, result.stderr
    return project / "site", seconds, result.stderr


def test_techdocs_core_is_the_generator(techdocs_python: Path) -> None:
    found = subprocess.run(
        [str(techdocs_python), "-c", "import techdocs_core, material; print(material.__file__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    assert (
        "runbinder"
        not in subprocess.run(
            [str(techdocs_python), "-m", "pip", "list"], capture_output=True, text=True, check=False
        ).stdout
    )


def test_techdocs_builds_every_page_with_working_links(techdocs_build: tuple[Path, float, str]) -> None:
    site, _, output = techdocs_build
    assert [page for page in PAGES if not (site / page).is_file()] == []
    from runbinder.validate import load_project

    runbooks = load_project(ROOT / "runbooks", None, ROOT).index.runbooks
    assert [r for r in runbooks if not (site / "runbooks" / f"{r}.html").is_file()] == []
    assert (site / "techdocs_metadata.json").is_file()  # what Backstage reads: techdocs-core really ran
    assert check_site(site, "site") == []
    assert "WARNING" not in output


def test_techdocs_site_loads_nothing_from_outside(techdocs_build: tuple[Path, float, str]) -> None:
    site, _, _ = techdocs_build
    offenders = []
    for page in site.rglob("*.html"):
        offenders += [f"{page.name}: {m.group(0)}" for m in EXTERNAL_LOAD.finditer(page.read_text(encoding="utf-8"))]
    assert offenders == []
    assert (site / export.MERMAID_JS).is_file()
    html = (site / "severity.html").read_text(encoding="utf-8")
    assert 'class="mermaid"' in html
    assert CSP_META not in html  # no plugin hook: the pages carry no policy (Backstage applies its own)
    assert (site / "search" / "search_index.json").is_file()  # what Backstage's search collator reads
