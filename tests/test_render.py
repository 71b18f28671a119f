"""Renderers: escaping through real Python-Markdown, mermaid label safety, and golden pages."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import markdown as python_markdown
import pytest

from runbinder.render import mermaid
from runbinder.render import text as t
from runbinder.render.site import SiteRenderer
from runbinder.review import review_due
from runbinder.validate import load_project

from .conftest import CASES, build_project

GOLDEN = Path(__file__).parent / "golden"
EXTENSIONS = ["admonition", "attr_list", "tables", "toc", "pymdownx.superfences", "pymdownx.tasklist"]


def to_html(markdown_text: str) -> str:
    return python_markdown.markdown(markdown_text, extensions=EXTENSIONS)


HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click]( JavaScript:alert(1) )",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "![x](data:text/html;base64,PHNjcmlwdD4=)",
    'Paragraph\n{: onclick="alert(1)" }',
    "text {: onmouseover=alert(1) }",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<<script>script>alert(1)<</script>/script>",
    "<svg/onload=alert(1)>",
]


TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)\b([^>]*)>")
DANGEROUS_TAGS = {"script", "svg", "iframe", "object", "embed", "style", "link", "meta", "form", "math"}


def assert_inert(html: str) -> None:
    """No real tag in the output can run script: no script-capable tags, handlers or URL schemes."""
    for name, attrs in TAG.findall(html):
        assert name.lower() not in DANGEROUS_TAGS, html
        assert not re.search(r"\son\w+\s*=", attrs, re.IGNORECASE), html
        for url in re.findall(r"""(?:href|src)\s*=\s*["']?([^"'\s>]*)""", attrs, re.IGNORECASE):
            assert not re.match(r"\s*(javascript|data|vbscript):", url, re.IGNORECASE), html


@pytest.mark.parametrize("payload", HOSTILE)
def test_markdown_fields_cannot_reach_html(payload: str) -> None:
    assert_inert(to_html(t.markdown(payload)))


@pytest.mark.parametrize("payload", HOSTILE)
def test_plain_text_shows_exactly_as_written(payload: str) -> None:
    html = to_html(f"Title: {t.inline(payload)}")
    assert_inert(html)
    assert TAG.findall(html) == [("p", "")]
    # What a reader sees is the original text (whitespace collapsed to single spaces).
    import html as html_module

    visible = html_module.unescape(re.sub(r"<[^>]+>", "", html))
    assert visible.strip() == "Title: " + " ".join(payload.split())


def test_markdown_keeps_code_and_markdown() -> None:
    html = to_html(t.markdown("Run `kill <PID>` then **stop** & go.\n\n```\n<raw> & code\n```"))
    assert "<code>kill &lt;PID&gt;</code>" in html
    assert "<strong>stop</strong>" in html
    assert "&amp; go" in html
    assert "&lt;raw&gt; &amp; code" in html


def test_leading_greater_than_is_not_a_quote() -> None:
    assert "<blockquote>" not in to_html(t.bullets([">50% of users affected"]))
    assert "&gt;50% of users affected" in to_html(t.bullets([">50% of users affected"]))


def test_fence_outlasts_backticks_in_the_code() -> None:
    block = t.fence("```\ninner\n```\n", "markdown")
    assert block.startswith("````markdown\n")
    assert block.endswith("\n````")
    html = to_html(block)
    assert html.count("<pre") == 1
    assert "```" in html


def test_table_cells_escape_pipes() -> None:
    html = to_html(t.table(["A", "B"], [[t.inline("x | y"), t.inline("z")]]))
    assert html.count("<td>") == 2
    assert "x | y" in html


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
        "flowchart TD",
        '    n0(["end"])',
        '    n1{"Is it#63; #124; maybe"}',
        '    n0 -->|"say #34;yes#34;"| n1',
    ]


def test_review_due_uses_interval_then_site_default() -> None:
    assert review_due({"last_reviewed": "2026-01-31", "review_interval": "1w"}, None) == date(2026, 2, 7)
    assert review_due({"last_reviewed": "2026-01"}, {"review_interval": "30d"}) == date(2026, 1, 31)
    assert review_due({}, None) is None


def _pages(tmp_path: Path) -> dict[str, str]:
    runbooks = build_project(CASES / "valid" / "full", tmp_path)
    project = load_project(runbooks, None, tmp_path)
    assert [d for d in project.diagnostics if d.level == "error"] == []
    return SiteRenderer(project.index, today=date(2026, 11, 22)).pages()


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
    ],
)
def test_golden_pages(page: str, tmp_path: Path) -> None:
    rendered = _pages(tmp_path)[page]
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
    assert "[Payments latency" in down.split("## Referenced by")[1]
    assert "[Payments down](../runbooks/payments-down.md)" in pages["services/payments.md"]
