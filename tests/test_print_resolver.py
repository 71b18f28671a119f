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


def _example(today: str = "2026-11-30") -> tuple[object, object, dict[str, tuple[str, str]]]:
    from datetime import date

    import runbinder.binder as binder
    from runbinder.render.site import SiteRenderer
    from runbinder.validate import load_project
    from tests.conftest import ROOT

    index = load_project(ROOT / "runbooks", None, ROOT).index
    options = binder.BinderOptions(today=date.fromisoformat(today))
    pages = SiteRenderer(index, today=options.today, print_mode=True).pages()
    rendered = {
        path: (path.removesuffix(".md") + ".html", binder._markdown_to_html(page.markdown))
        for path, page in pages.items()
    }
    return index, options, rendered


def _made(index: object, options: object, rendered: dict[str, tuple[str, str]], read: object) -> object:
    import runbinder.binder as binder

    made = binder.PrintPage(index, options, {path: url for path, (url, _) in rendered.items()}, read)  # type: ignore[arg-type]
    for path, (url, body) in rendered.items():
        made.add(path, url, body)
    return made


def _as_compared(reading: tuple[set[str], list[tuple[str, str]]]) -> tuple[list[str], list[tuple[str, str]]]:
    return sorted(reading[0]), sorted(reading[1])


def test_print_html_read_section_by_section_reads_as_the_whole() -> None:
    """The child reads each section of print.html as it is made ready: the page it then writes is print.html
    itself, and the readings it is made of hold what a reading of the whole page holds."""
    import runbinder.binder as binder
    from runbinder.checks.links import _read, joined, part_reading

    index, options, rendered = _example()
    made = _made(index, options, rendered, part_reading)
    document, parts = made.html_read(rendered, "mermaid.min.js", "binder.pdf", _read)  # type: ignore[attr-defined]
    assert document == binder.print_page(index, options, rendered, "mermaid.min.js", "binder.pdf")  # type: ignore[arg-type]
    assert parts is not None  # every section was read alone
    assert _as_compared(joined(parts)) == _as_compared(_read(document))
    assert len(joined(parts)[1]) > 100  # the sections' links are in it


# Sections whose reading alone is not their reading in print.html: each makes the parser treat what follows it
# (the next sections) differently, or is itself read differently in the page.
CONTEXTUAL_SECTIONS = [
    '<p>open <a href="#left-open">link',  # copied into the sections after it
    "<script>var a = '",  # what follows is script text
    '<style> a[href="x"] {',
    "<textarea>",
    "<title>",
    "<!-- what follows is a comment",
    '<p title="x',  # what follows is an attribute value
    '<p title="a > b',
    "<svg><a href='#in-svg'>",
    '<form id="f"><form id="g">',
    "<noscript>",
    "<template>",
    "<xmp>",
    "<plaintext>",
]
# Those whose sections, read alone, would not hold what print.html holds (the others happen to come out the same
# in this page, and are declined all the same).
DIFFERENT_ALONE = {CONTEXTUAL_SECTIONS[i] for i in (0, 1, 2, 3, 4, 5, 11, 12, 13)}


@pytest.mark.parametrize("hostile", CONTEXTUAL_SECTIONS)
def test_a_section_that_is_read_differently_in_the_page_is_not_read_alone(hostile: str) -> None:
    """A section whose reading depends on what surrounds it is not read alone: print.html is then read whole, and
    what the link check gets is what the whole page holds."""
    from runbinder.checks.links import _read, joined, part_reading

    index, options, rendered = _example()
    made = _made(index, options, rendered, part_reading)
    page = sorted(made.known)[len(made.known) // 2]  # type: ignore[attr-defined]  # a section in the middle
    url, body = rendered[page]
    rendered[page] = (url, f'{body}<h2 id="last">Last</h2><p>{hostile}')  # after "Referenced by", which is dropped
    made = _made(index, options, rendered, part_reading)
    document, parts = made.html_read(rendered, "mermaid.min.js", None, _read)  # type: ignore[attr-defined]
    assert made.readings[page][1] is None  # type: ignore[attr-defined]
    assert parts is None
    # What the guard prevents: read alone, the sections would not hold what the page holds.
    naive = _made(index, options, rendered, _read)
    alone = naive.html_read(rendered, "mermaid.min.js", None, _read)[1]  # type: ignore[attr-defined]
    assert alone is not None
    if hostile in DIFFERENT_ALONE:
        assert _as_compared(joined(alone)) != _as_compared(_read(document)), hostile


def test_the_build_child_reads_print_html_from_its_sections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The build's child makes print.html from sections it read as MkDocs rendered them: at the end it reads only
    what surrounds them, and the site check finds what it finds reading the page whole."""
    import queue

    import runbinder.binder as binder
    import runbinder.checks.links as links
    from runbinder import plugin

    index, options, rendered = _example()
    page_with_link = next(p for p in sorted(rendered) if p.startswith("runbooks/"))  # a section of print.html
    url, body = rendered[page_with_link]
    rendered[page_with_link] = (url, f'<p><a href="#nowhere">a link to nowhere</a></p>{body}')
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "index.html").write_text("<p>home</p>", encoding="utf-8")
    printer = plugin.Printer(binder.PrintPage(index, options, {p: u for p, (u, _) in rendered.items()}), None)  # type: ignore[arg-type]
    inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
    for path, (url, body) in rendered.items():
        inbox.put(("page", (path, url, body)))
    inbox.put(("pages", None))
    inbox.put(("finish", None))
    lengths: list[int] = []
    real = links._read

    def read(text: str) -> tuple[set[str], list[tuple[str, str]]]:
        lengths.append(len(text))
        return real(text)

    monkeypatch.setattr(links, "_read", read)
    found = plugin._side_work([], None, printer, site_dir, True, tmp_path / "cache", None, inbox)
    page = (site_dir / "print.html").read_text(encoding="utf-8")
    assert len(lengths) > len(rendered) // 2  # the sections were read one by one
    assert max(lengths) < len(page) // 4  # and the page never whole
    monkeypatch.setattr(links, "_read", real)
    assert found == links.check_site(site_dir, "site")
    assert any("nowhere" in d.message for d in found)
    assert page == binder.print_page(index, options, rendered, plugin.MERMAID_JS)  # type: ignore[arg-type]
