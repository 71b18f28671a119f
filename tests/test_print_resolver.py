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
