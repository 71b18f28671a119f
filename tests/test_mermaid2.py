"""The documented alternative: diagrams drawn by mkdocs-mermaid2-plugin (examples/mermaid2/mkdocs.yml).

Still offline: mermaid2 takes runbinder's local mermaid copy (an extra_javascript file named *mermaid*) instead of
its unpkg default, and every diagram is drawn in a real Chromium with every non-loopback request blocked.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from runbinder.plugin import MERMAID_JS, _configure_markdown

from .conftest import ROOT, copy_site_project, mkdocs_build, serve_directory

mermaid2 = pytest.importorskip("mermaid2", reason="mkdocs-mermaid2-plugin is not installed")
bs4 = pytest.importorskip("bs4")  # a dependency of mermaid2

EXAMPLE = ROOT / "examples" / "mermaid2" / "mkdocs.yml"
DIAGRAM = '<div class="mermaid">'


@pytest.fixture(scope="module")
def mermaid2_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The bundled example site built with the mermaid2 configuration and --strict; (site_dir, build log)."""
    project = copy_site_project(tmp_path_factory.mktemp("mermaid2"))
    shutil.copy2(EXAMPLE, project / "mkdocs.yml")
    result = mkdocs_build(project, "--strict")
    assert result.returncode == 0, result.stderr
    return project / "site", result.stderr


@pytest.fixture(scope="module")
def mermaid2_site(mermaid2_build: tuple[Path, str]) -> Path:
    return mermaid2_build[0]


def _diagram_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if DIAGRAM in p.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- configuration


def _markdown_config(**mdx_configs: Any) -> Any:
    """Just the two attributes _configure_markdown reads and writes."""
    return SimpleNamespace(markdown_extensions=list(mdx_configs), mdx_configs=dict(mdx_configs))


def test_mermaid2_mode_adds_mermaid2s_fence_not_materials() -> None:
    config = _markdown_config()
    _configure_markdown(config, "mermaid2")
    fences = config.mdx_configs["pymdownx.superfences"]["custom_fences"]
    assert fences == [{"name": "mermaid", "class": "mermaid", "format": mermaid2.fence_mermaid}]


def test_a_configured_mermaid_fence_is_kept_in_both_modes() -> None:
    for diagrams in ("material", "mermaid2"):
        mine = {"name": "mermaid", "class": "mermaid", "format": mermaid2.fence_mermaid_custom}
        config = _markdown_config(**{"pymdownx.superfences": {"custom_fences": [mine]}})
        _configure_markdown(config, diagrams)
        assert config.mdx_configs["pymdownx.superfences"]["custom_fences"] == [mine]


def test_mermaid2s_fence_does_not_html_escape() -> None:
    """The fact behind the warning in examples/mermaid2/mkdocs.yml (and why mermaid2 is not the default)."""
    import markdown
    from pymdownx.superfences import fence_code_format

    source = '```mermaid\nflowchart TD\n    A["<img src=x onerror=alert(1)>"] --> B\n```\n'

    def html(fence: Any) -> str:
        fences = [{"name": "mermaid", "class": "mermaid", "format": fence}]
        return markdown.markdown(
            source,
            extensions=["pymdownx.superfences"],
            extension_configs={"pymdownx.superfences": {"custom_fences": fences}},
        )

    assert "<img src=x onerror=alert(1)>" in html(mermaid2.fence_mermaid)  # a live element in the page
    assert "&lt;img src=x onerror=alert(1)&gt;" in html(fence_code_format)  # text


# ---------------------------------------------------------------- the built site


def test_mermaid2_uses_the_local_mermaid(mermaid2_build: tuple[Path, str]) -> None:
    site, log = mermaid2_build
    # mermaid2 found the library in extra_javascript, so it never resolved (or fetched) its CDN default.
    assert "Explicit mermaid javascript library from extra_javascript" in log
    assert MERMAID_JS in log
    assert "Cannot check URL" not in log
    pages = _diagram_pages(site)
    assert len(pages) >= 5
    for page in pages:
        html = page.read_text(encoding="utf-8")
        library = re.search(rf'<script src="(\.\./)*{re.escape(MERMAID_JS)}"></script>', html)
        assert library, page
        assert html.find("mermaid.initialize(", library.end()) > 0, page  # mermaid2's start-up script, after it
        assert html.count("mermaid.min.js") == 1, page  # and no second mermaid
        assert '<pre class="mermaid">' not in html, page  # no Material fence from runbinder


def test_mermaid2_site_names_no_cdn(mermaid2_site: Path) -> None:
    for page in mermaid2_site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"unpkg\.com|jsdelivr|cdnjs|googleapis", html), page


def test_generated_diagram_source_carries_no_markup_but_line_breaks(mermaid2_site: Path) -> None:
    """mermaid2's fence does not escape; runbinder's entity-coded labels leave it nothing to escape but <br>."""
    tags: set[str] = set()
    count = 0
    for page in _diagram_pages(mermaid2_site):
        soup = bs4.BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for div in soup.select("div.mermaid"):
            count += 1
            tags |= {tag.name for tag in div.find_all(True)}
    assert count >= 10
    assert tags <= {"br"}


# ---------------------------------------------------------------- in a real browser (fixtures from conftest)

_DIAGRAMS = """() => [...document.querySelectorAll('div.mermaid')].map(d => {
    const svg = d.querySelector(':scope > svg');
    return {svg: !!svg, shadow: !!d.shadowRoot, nodes: svg ? svg.querySelectorAll('.node').length : 0,
            text: d.textContent};
})"""


def _wait_until_drawn(page: Any, expected: int) -> list[dict[str, Any]]:
    # mermaid marks each element it has processed; with mermaid2 the SVG replaces the div's content (no shadow DOM).
    page.wait_for_function(
        "n => document.querySelectorAll('div.mermaid[data-processed]').length === n", arg=expected, timeout=30_000
    )
    result: list[dict[str, Any]] = page.evaluate(_DIAGRAMS)
    return result


def test_mermaid2_draws_every_diagram(watch: Any, mermaid2_site: Path) -> None:
    pages = _diagram_pages(mermaid2_site)
    problems = []
    with serve_directory(mermaid2_site) as url:
        watched = watch(url)
        for page in pages:
            path = page.relative_to(mermaid2_site).as_posix()
            expected = page.read_text(encoding="utf-8").count(DIAGRAM)
            watched.page.goto(f"{url}/{path}")
            diagrams = _wait_until_drawn(watched.page, expected)
            assert len(diagrams) == expected
            for i, diagram in enumerate(diagrams):
                drawn = diagram["svg"] and not diagram["shadow"] and diagram["nodes"] > 0
                if not drawn or "Syntax error" in diagram["text"]:
                    problems.append(f"{path} diagram {i}: {diagram}")
            assert watched.page.evaluate("typeof window.mermaid") == "object"
    assert problems == []
    assert watched.errors == []
    assert watched.external == []


def test_mermaid2_escaped_labels_show_their_characters(watch: Any, mermaid2_site: Path) -> None:
    with serve_directory(mermaid2_site) as url:
        watched = watch(url)
        watched.page.goto(f"{url}/severity.html")
        [diagram] = _wait_until_drawn(watched.page, 1)
    # '>' and '%' travel as mermaid entity codes and must come back as the characters.
    assert ">50% of users affected" in diagram["text"]
    assert "SLO breach for >15 minutes" in diagram["text"]
    assert watched.errors == []
    assert watched.external == []


def test_mermaid2_site_works_from_file_urls(watch: Any, mermaid2_site: Path) -> None:
    watched = watch("file://")
    watched.page.goto((mermaid2_site / "escalation.html").as_uri())
    expected = (mermaid2_site / "escalation.html").read_text(encoding="utf-8").count(DIAGRAM)
    assert all(d["svg"] and d["nodes"] for d in _wait_until_drawn(watched.page, expected))
    assert watched.external == []
    assert [e for e in watched.errors if "favicon" not in e] == []
