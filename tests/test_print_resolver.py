"""print.html resolves each link once per folder: what it finds is what resolving from each page finds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runbinder.binder import resolve_from_url, site_resolver

RENDERED = {
    "index.md": ("", ""),
    "runbooks/a.md": ("runbooks/a.html", ""),
    "runbooks/b.md": ("runbooks/b/", ""),
    "x/index.md": ("x/", ""),
    "x/deep/page.md": ("x/deep/page.html", ""),
}
PATHS = [
    "",
    "?q",
    "#x",
    "a.html",
    "../index.html",
    "b/",
    "../../../x/",
    "./",
    ".",
    "..",
    "http://example.com/x",
    "//cdn.example/x",
    "../x/index.html",
    "c%20d.png",
    "img/p.png?x=1",
    "/abs.png",
    "../runbooks/b/",
]


def _from_the_page(page: str, path: str) -> str | None:
    """The reference: the link resolved against the page's own URL, with nothing remembered."""
    src_of = {url: src for src, (url, _) in RENDERED.items()}
    return resolve_from_url(RENDERED[page][0], path, src_of)


@pytest.mark.parametrize("page", list(RENDERED))
def test_links_resolve_as_from_the_page_itself(page: str) -> None:
    _, resolve = site_resolver(RENDERED)
    for _ in range(2):  # the second time from the folder's memo
        assert [resolve(page, path) for path in PATHS] == [_from_the_page(page, path) for path in PATHS]


WORD_STARTS = [
    'id="a"',
    '<p id="a" grid="b" data-id="c" _id="d" éid="e" 1id="f">',
    '<img src="a.png" data-src="b.png" xsrc="c.png" _src="d.png">',
    'title="ends in id=" id="real"',
    '<a\nid="newline">\tsrc="tab"',
]


@pytest.mark.parametrize("pattern", ["id", "src"])
def test_id_and_src_count_only_at_a_word_start(pattern: str, built_site: Path) -> None:
    """_word_start on each match finds what \\b before the pattern finds, on tricky markup and on every built page."""
    import runbinder.binder as binder

    fast = binder._ID if pattern == "id" else binder._SRC
    reference = re.compile(rf'\b{pattern}="([^"]*)"')
    texts = [*WORD_STARTS, *(p.read_text(encoding="utf-8") for p in sorted(built_site.rglob("*.html")))]
    for text in texts:
        found = [(m.start(), m.group(1)) for m in fast.finditer(text) if binder._word_start(m)]
        assert found == [(m.start(), m.group(1)) for m in reference.finditer(text)], text[:200]


def test_print_html_made_page_by_page_is_print_html_made_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """PrintPage makes each page ready as it is rendered: print.html is the same, made without localising a page
    again; when the pages rendered have other URLs than those it was told, it localises them all again."""
    from datetime import date

    import runbinder.binder as binder
    from runbinder.render.site import SiteRenderer
    from runbinder.validate import load_project
    from tests.conftest import ROOT

    index = load_project(ROOT / "runbooks", None, ROOT).index
    options = binder.BinderOptions(today=date(2026, 11, 30))
    pages = SiteRenderer(index, today=options.today, print_mode=True).pages()
    rendered = {
        path: (path.removesuffix(".md") + ".html", binder._markdown_to_html(page.markdown))
        for path, page in pages.items()
    }
    at_once = binder.print_page(index, options, rendered, "mermaid.min.js")
    localised: list[str] = []
    real = binder._localise

    def counted(body: str, page: str, *args: object) -> str:
        localised.append(page)
        return real(body, page, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(binder, "_localise", counted)
    sections = len(binder.sections(SiteRenderer(index, today=options.today, print_mode=True)))

    made = binder.PrintPage(index, options, {path: url for path, (url, _) in rendered.items()})
    for path, (url, body) in rendered.items():
        made.add(path, url, body)
    assert len(localised) == sections
    assert made.html(rendered, "mermaid.min.js") == at_once
    assert len(localised) == sections  # nothing localised twice

    moved = {**rendered, "severity.md": ("elsewhere/severity.html", rendered["severity.md"][1])}
    localised.clear()
    assert made.html(moved, "mermaid.min.js") == binder.print_page(index, options, moved, "mermaid.min.js")
    assert len(localised) == 2 * sections  # made ready against other URLs: not used
