"""print.html resolves each link once per folder: what it finds is what resolving from each page finds."""

from __future__ import annotations

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
