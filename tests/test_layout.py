"""What a responder sees, measured in a real Chromium at a phone's width (390 px) and a desktop's (1400 px):
nothing cut off (every table fits its column or scrolls inside its own box), diagram text at full size, commands
in warning boxes as large as every other command.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import serve_directory

WIDTHS = (390, 1400)
PAGES = (
    "index.html",
    "severity.html",
    "escalation.html",
    "alerts.html",
    "contacts.html",
    "tools.html",
    "services/authos-api.html",
    "runbooks/authos-api-database-connection-failures.html",
    "runbooks/identity-otp-compromised-token-discovery.html",
    "reference/schema.html",
)

# For every table: the box that would clip it. A table wider than the content column must sit in a box that scrolls
# sideways and is itself within the column; anything else is content cut off.
CLIPPED_TABLES = """() => {
  const article = document.querySelector('.md-content').getBoundingClientRect();
  const out = [];
  for (const table of document.querySelectorAll('article table')) {
    const box = table.getBoundingClientRect();
    if (box.right <= article.right + 1 && box.left >= article.left - 1) continue;
    let el = table.parentElement, scroller = null;
    while (el && el.tagName !== 'ARTICLE') {
      const style = getComputedStyle(el);
      if (['auto', 'scroll'].includes(style.overflowX)) { scroller = el; break; }
      el = el.parentElement;
    }
    const ok = scroller && scroller.getBoundingClientRect().right <= article.right + 1
      && scroller.scrollWidth > scroller.clientWidth;
    if (!ok) out.push(table.innerText.slice(0, 60));
  }
  return out;
}"""

# Every drawn diagram: how much it was scaled (1 = natural size, where mermaid's text is 16 px).
DIAGRAM_SCALES = """() => [...document.querySelectorAll('div.mermaid')].map(d => {
  const svg = d.shadowRoot && d.shadowRoot.querySelector('svg');
  if (!svg || !svg.viewBox.baseVal || !svg.viewBox.baseVal.width) return null;
  return svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
})"""


@pytest.fixture(scope="module")
def server(built_site: Path) -> Iterator[str]:
    with serve_directory(built_site) as url:
        yield url


@pytest.mark.parametrize("width", WIDTHS)
def test_no_table_is_cut_off(watch: Any, server: str, width: int) -> None:
    watched = watch(server)
    watched.page.set_viewport_size({"width": width, "height": 900})
    clipped = {}
    for page in PAGES:
        watched.page.goto(f"{server}/{page}")
        found = watched.page.evaluate(CLIPPED_TABLES)
        if found:
            clipped[page] = found
    assert clipped == {}
    assert watched.external == []


@pytest.mark.parametrize("width", WIDTHS)
def test_diagrams_are_drawn_at_full_size(watch: Any, server: str, width: int) -> None:
    """The AuthOS policy of eight levels was once drawn 688 x 24 px (text about 2 px): charts are never shrunk."""
    watched = watch(server)
    watched.page.set_viewport_size({"width": width, "height": 900})
    scales = {}
    for page in ("escalation.html", "severity.html", "runbooks/oauth2-server-incident-response.html"):
        watched.page.goto(f"{server}/{page}")
        watched.page.wait_for_function(
            "document.querySelectorAll('pre.mermaid').length === 0 && [...document.querySelectorAll('div.mermaid')]"
            ".every(d => d.shadowRoot && d.shadowRoot.querySelector('svg'))",
            timeout=30_000,
        )
        scales[page] = watched.page.evaluate(DIAGRAM_SCALES)
    assert all(scales.values()), scales
    small = {page: s for page, values in scales.items() for s in values if s is None or s < 0.95}
    assert small == {}


def test_state_changing_commands_are_as_large_as_the_others(watch: Any, server: str) -> None:
    watched = watch(server)
    watched.page.goto(f"{server}/runbooks/authos-api-database-connection-failures.html")
    sizes = watched.page.evaluate(
        """() => ({
          plain: [...document.querySelectorAll('article pre > code')]
            .filter(c => !c.closest('.admonition')).map(c => parseFloat(getComputedStyle(c).fontSize)),
          boxed: [...document.querySelectorAll('article .rb-destructive pre > code')]
            .map(c => parseFloat(getComputedStyle(c).fontSize)),
          title: [...document.querySelectorAll('article .rb-destructive .admonition-title')].map(t => t.innerText),
        })"""
    )
    assert sizes["boxed"], "the page has a state-changing command"
    assert min(sizes["boxed"]) >= max(sizes["plain"]) - 0.01
    assert all(t.startswith("Changes state") for t in sizes["title"])


def test_a_phone_reaches_the_form_and_step_one_in_one_tap(watch: Any, server: str) -> None:
    """Issue 13: the variables form sat about 1,400 px down a runbook on a phone, and the page's contents are in a
    drawer there. The first screen now links to it, to step 1 and to escalation."""
    watched = watch(server)
    watched.page.set_viewport_size({"width": 390, "height": 844})
    watched.page.goto(f"{server}/runbooks/authos-api-database-connection-failures.html")
    jump = watched.page.get_by_role("link", name="Fill in your values")
    assert jump.bounding_box()["y"] + jump.bounding_box()["height"] <= 844  # on the first screen
    assert watched.page.get_by_role("link", name="Start at step 1: Diagnostic Steps").is_visible()
    jump.click()
    watched.page.wait_for_function("() => location.hash === '#variables'")
    form = watched.page.locator(".rb-vars").bounding_box()
    assert 0 <= form["y"] < 844  # the form is on screen after the tap
    assert watched.errors == []
