"""The built site in a real headless Chromium (Debian's `chromium`, driven by Playwright without a browser download).

Pages are served from a loopback server; every other request is blocked and recorded. Locally these tests skip
when no Chromium is installed; under CI=true they must run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import serve_directory


@pytest.fixture(scope="module")
def server(built_site: Path) -> Iterator[str]:
    with serve_directory(built_site) as url:
        yield url


def search(page: Any, query: str) -> Any:
    """Type a query like a person and return the result links.

    Material ignores input until its search worker has loaded the index, so typing is retried until results
    appear (bounded), instead of sleeping for a guessed time.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.click("label.md-search__icon, .md-search__input", timeout=10_000)
    box = page.locator("input.md-search__input")
    results = page.locator(".md-search-result__item a")
    for _ in range(20):
        box.fill("")
        box.press_sequentially(query, delay=20)
        try:
            results.first.wait_for(timeout=1_500)
            return results
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"search for {query!r} showed no results")


def _mermaid_pages(site: Path) -> list[str]:
    return sorted(
        str(p.relative_to(site))
        for p in site.rglob("*.html")
        if 'class="mermaid"' in p.read_text(encoding="utf-8") and p.name != "print.html"  # print.html: own test
    )


def test_every_diagram_renders_to_svg(watch: Any, server: str, built_site: Path) -> None:
    pages = _mermaid_pages(built_site)
    assert "severity.html" in pages
    assert len(pages) >= 5
    watched = watch(server)
    problems = []
    for page_path in pages:
        expected = (built_site / page_path).read_text(encoding="utf-8").count('<pre class="mermaid"')
        watched.page.goto(f"{server}/{page_path}")
        watched.page.wait_for_function(
            "n => document.querySelectorAll('div.mermaid').length === n"
            " && document.querySelectorAll('pre.mermaid').length === 0",
            arg=expected,
            timeout=30_000,
        )
        result = watched.page.evaluate(
            """() => [...document.querySelectorAll('div.mermaid')].map(d => {
                const root = d.shadowRoot;
                const svg = root && root.querySelector('svg');
                return {svg: !!svg, nodes: svg ? svg.querySelectorAll('.node').length : 0,
                        text: root ? root.textContent : ''};
            })"""
        )
        for i, diagram in enumerate(result):
            if not diagram["svg"] or diagram["nodes"] == 0 or "Syntax error" in diagram["text"]:
                problems.append(f"{page_path} diagram {i}: {diagram}")
        assert "Syntax error" not in watched.page.inner_text("body")
    assert problems == []
    assert watched.errors == []
    assert watched.external == []


def test_escaped_labels_show_their_characters(watch: Any, server: str) -> None:
    watched = watch(server)
    watched.page.goto(f"{server}/severity.html")
    watched.page.wait_for_function("document.querySelectorAll('div.mermaid').length > 0", timeout=30_000)
    text = watched.page.evaluate("document.querySelector('div.mermaid').shadowRoot.textContent")
    # '>' and '%' travel as mermaid entity codes and must come back as the characters.
    assert ">50% of users affected" in text
    assert "SLO breach for >15 minutes" in text


def test_search_finds_a_runbook(watch: Any, server: str) -> None:
    watched = watch(server)
    watched.page.goto(f"{server}/index.html")
    results = search(watched.page, "pg_terminate_backend")
    hrefs = [results.nth(i).get_attribute("href") or "" for i in range(results.count())]
    assert any("runbooks/authos-api-database-connection-failures.html" in h for h in hrefs), hrefs
    assert watched.errors == []
    assert watched.external == []


def test_site_works_from_file_urls(watch: Any, built_site: Path) -> None:
    """The network may be what is down: a copy of site/ opened from disk still renders diagrams and searches."""
    watched = watch("file://")
    watched.page.goto((built_site / "severity.html").as_uri())
    watched.page.wait_for_function(
        "document.querySelectorAll('div.mermaid').length > 0 && document.querySelectorAll('pre.mermaid').length === 0",
        timeout=30_000,
    )
    watched.page.goto((built_site / "index.html").as_uri())
    assert search(watched.page, "herd").count() > 0
    assert watched.external == []
    assert [e for e in watched.errors if not re.search(r"favicon", e)] == []


def test_print_page_draws_every_diagram(watch: Any, server: str, built_site: Path) -> None:
    text = (built_site / "print.html").read_text(encoding="utf-8")
    expected = text.count('<div class="diagram" data-rb-digest=')
    assert expected > 5
    assert 'class="mermaid"' not in text  # every diagram became a box the page's own script draws
    watched = watch(server)
    watched.page.goto(f"{server}/print.html")
    watched.page.wait_for_function(
        "window.__runbinderDone === true || window.__runbinderError !== undefined", timeout=60_000
    )
    assert watched.page.evaluate("window.__runbinderError") is None
    assert watched.page.evaluate("document.querySelectorAll('div.diagram svg').length") >= expected
    assert watched.page.evaluate("document.querySelectorAll('div.diagram:not(:has(svg))').length") == 0
    assert watched.external == []
    assert watched.errors == []
    # A way back: the home page is one click away, and a click gets there.
    watched.page.click("nav.rb-screen-nav a[href='index.html']")
    watched.page.wait_for_url(f"{server}/index.html")
