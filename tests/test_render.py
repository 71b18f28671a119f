"""Renderers: mermaid label safety, golden pages, unique ids. (The doors they write through: test_safe.py.)"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pytest

from runbinder import safe
from runbinder.render import mermaid
from runbinder.render.site import SiteRenderer
from runbinder.review import review_due
from runbinder.validate import load_project

from .conftest import CASES, build_project

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('say "hi"', "say #34;hi#34;"),
        ("[brackets] (parens) {braces}", "#91;brackets#93; #40;parens#41; #123;braces#125;"),
        ("a < b > c", "a #60; b #62; c"),
        ("#1; not an entity", "#35;1#59; not an entity"),
        ("a | b ; c", "a #124; b #59; c"),
        ("🚨 siren", "#128680; siren"),
        ("end", "end"),
        ("two\nlines", "two<br>lines"),
    ],
)
def test_mermaid_labels(text: str, expected: str) -> None:
    assert mermaid.label(text) == expected


def test_mermaid_uses_generated_ids_and_quotes_every_label() -> None:
    chart = mermaid.flowchart(
        [mermaid.Node("end", "end", "start"), mermaid.Node("style", "Is it? | maybe", "decision")],
        [mermaid.Edge("end", "style", 'say "yes"'), mermaid.Edge("end", "missing")],
    )
    assert chart.splitlines() == [
        *mermaid.NATURAL_SIZE.splitlines(),
        "flowchart TD",
        '    n0(["end"])',
        '    n1{"Is it#63; #124; maybe"}',
        '    n0 -->|"say #34;yes#34;"| n1',
    ]


def test_review_due_uses_interval_then_site_default() -> None:
    assert review_due({"last_reviewed": "2026-01-31", "review_interval": "1w"}, None) == date(2026, 2, 7)
    assert review_due({"last_reviewed": "2026-01"}, {"review_interval": "30d"}) == date(2026, 1, 31)
    assert review_due({}, None) is None


def _pages(tmp_path: Path, case: str = "full") -> dict[str, str]:
    """Every generated page as MkDocs reads it, with each fragment's HTML written where its marker stands."""
    runbooks = build_project(CASES / "valid" / case, tmp_path)
    project = load_project(runbooks, None, tmp_path)
    assert [d for d in project.diagnostics if d.level == "error"] == []
    pages = SiteRenderer(project.index, today=date(2026, 11, 22), directory_urls=False).pages()
    return {path: safe.FRAGMENTS.inline(page.document()) for path, page in pages.items()}


@pytest.mark.parametrize(
    "page",
    [
        "runbooks/payments-latency.md",
        "severity.md",
        "escalation.md",
        "contacts.md",
        "services/payments.md",
        "index.md",
        "alerts.md",
        "runbooks/pod-crashlooping.md",
    ],
)
def test_golden_pages(page: str, tmp_path: Path) -> None:
    rendered = _pages(tmp_path, "structure" if page == "runbooks/pod-crashlooping.md" else "full")[page]
    golden = GOLDEN / page
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


def test_overdue_banner_only_when_overdue(tmp_path: Path) -> None:
    pages = _pages(tmp_path)
    assert "Overdue for review" in pages["runbooks/payments-latency.md"]
    assert "Overdue for review" not in pages["runbooks/payments-down.md"]


def test_backlinks_are_listed(tmp_path: Path) -> None:
    pages = _pages(tmp_path)
    down = pages["runbooks/payments-down.md"]
    assert "## Referenced by" in down
    backlinks = down.split("## Referenced by")[1]
    assert '<a href="payments-latency.html" rel="noopener noreferrer">Payments latency' in backlinks


def test_every_id_on_a_page_is_unique(tmp_path: Path) -> None:
    # A phase titled like one of the page's own sections ("Escalation") gets an id of its own.
    for path, page in _pages(tmp_path).items():
        ids = re.findall(r"\{#([a-z0-9-]+)\}", page)
        assert len(ids) == len(set(ids)), (path, sorted(i for i in ids if ids.count(i) > 1))


def test_a_phase_named_like_a_fixed_section_does_not_take_its_id(tmp_path: Path) -> None:
    runbooks = build_project(CASES / "valid" / "full", tmp_path)
    runbook = runbooks / "payments-latency.yaml"
    text = runbook.read_text(encoding="utf-8")
    runbook.write_text(text.replace("  - title: Immediate actions\n", "  - title: Escalation\n"), encoding="utf-8")
    project = load_project(runbooks, None, tmp_path)
    assert [d for d in project.diagnostics if d.level == "error"] == []
    page = SiteRenderer(project.index, today=date(2026, 11, 22)).pages()["runbooks/payments-latency.md"].markdown
    assert "Escalation (within 15 min) {#escalation-2}" in page
    assert page.count("{#escalation}") == 1
    assert page.index("{#escalation}") > page.index("{#escalation-2}")  # the "who to call" section keeps its id


def test_badges_in_tables_built_as_html_keep_their_level_and_colour(tmp_path: Path) -> None:
    """The indexes build their tables as HTML: the badge there is span.rb-sev with its level in data-rb-sev, which
    passes the sanitizer and which severity.css colours like the badges written in Markdown."""
    from runbinder.render.site import severity_css

    index = _pages(tmp_path)["runbooks/index.md"]
    assert '<span class="rb-sev" data-rb-sev="sev2">SEV2 High</span>' in index
    assert safe.sanitize('<span class="rb-sev" data-rb-sev="sev1" onclick="x()">b</span>') == (
        '<span class="rb-sev" data-rb-sev="sev1">b</span>'
    )
    css = severity_css([{"id": "sev2", "name": "High", "color": "#e65100"}])
    assert '.rb-sev-sev2, .rb-sev[data-rb-sev="sev2"] {' in css
