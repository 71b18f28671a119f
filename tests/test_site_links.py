"""The site link check: lexbor (an HTML5 parser) reads each page's ids and references as a browser does, and the
scanner that locates the findings reads pages exactly as the standard library's HTML parser does."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from runbinder.checks.links import _Page, _read, _scan, check_site, page_reading, read_ahead, read_seen

TRICKY = [
    '<a href="x.html">a</a><A HREF="Y.html" ID="Up">b</A>',
    "<a href=bare.html id=bare>x</a><img src=pic.png/>",
    "<a href='single.html' title='a > b'>x</a>",
    '<a href="q.html" title="a > b" id="gt">x</a>',
    '<!-- <a href="commented.html"> --><a href="after.html">x</a>',
    '<script>var s = "<a href=\\"in-script.html\\">";</script><a href="after-script.html">',
    "<style>a[href='x'] { color: red }</style><p id=styled>x</p>",
    '<a href="amp.html?a=1&amp;b=2">x</a><a href="&#x6A;s.html">y</a>',
    '<a name="named">x</a><span name="not-an-anchor">y</span>',
    '<a href="first.html" href="second.html">dup</a>',
    '<link rel="canonical" href="https://example.com/"><link rel="stylesheet" href="s.css">',
    "<!doctype html><?xml nonsense?><br/><input id=box checked>",
    'line one\n\n  <a href="deep.html">\n</a>\n<img\n  src="multi-line.png"\n  id="ml">',
    '<a href="">empty</a><a href>bare attribute</a><a id="">empty id</a>',
    '<p>1 < 2 and 3 > 2</p><a href="after-lt.html">x</a>',
    '<div data-x="<a href=&quot;no.html&quot;>" id="quoted-markup"></div>',
]


def _reference(text: str) -> tuple[set[str], list[tuple[str, str, int, int]]]:
    parser = _Page()
    parser.feed(text)
    parser.close()
    return parser.ids, parser.refs


@pytest.mark.parametrize("text", TRICKY)
def test_the_scanner_reads_tricky_markup_as_the_parser_does(text: str) -> None:
    assert _scan(text) == _reference(text)


def test_the_scanner_reads_every_page_of_the_built_site_as_the_parser_does(built_site: Path) -> None:
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) > 50
    disagree = [p.name for p in pages if _scan(t := p.read_text(encoding="utf-8")) != _reference(t)]
    assert disagree == []


def _unlocated(reading: tuple[set[str], list[tuple[str, str, int, int]]]) -> tuple[set[str], Counter[tuple[str, str]]]:
    ids, refs = reading
    return ids, Counter((attr, value) for attr, value, _line, _col in refs)


# Where an HTML5 parser and the standard library's differ on purpose: a repeated attribute keeps its first value in
# a browser (and so in lexbor), its last in HTMLParser's dict(attrs).
HTML5_DIFFERS = {'<a href="first.html" href="second.html">dup</a>': (set(), Counter({("href", "first.html"): 1}))}


@pytest.mark.parametrize("text", TRICKY)
def test_lexbor_reads_tricky_markup_as_a_browser_does(text: str) -> None:
    ids, refs = _read(text)
    assert (ids, Counter(refs)) == HTML5_DIFFERS.get(text, _unlocated(_reference(text)))


def test_lexbor_reads_every_page_of_the_built_site_as_the_parser_does(built_site: Path) -> None:
    pages = sorted(built_site.rglob("*.html"))
    assert len(pages) > 50
    disagree = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        ids, refs = _read(text)
        if (ids, Counter(refs)) != _unlocated(_reference(text)):
            disagree.append(page.name)
    assert disagree == []


def test_every_finding_is_located_even_when_the_same_reference_repeats(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(
        '<p>one</p>\n<a href="gone.html">a</a>\n\n  <a id="x" href="gone.html">b</a><a href="#x">ok</a>\n'
        '<img alt="x"\n     src="lost.png">',
        encoding="utf-8",
    )
    found = [(d.line, d.col, d.message) for d in check_site(tmp_path, "site")]
    assert found == [
        (2, 1, "href='gone.html': gone.html does not exist"),
        (4, 3, "href='gone.html': gone.html does not exist"),
        (5, 1, "src='lost.png': lost.png does not exist"),
    ]


def test_a_reference_only_a_browser_sees_is_still_reported(tmp_path: Path) -> None:
    """The browser follows the first of two href attributes, the scanner reads the last: the finding stands, at the
    top of the page."""
    (tmp_path / "index.html").write_text('<p>x</p>\n<a href="gone.html" href="index.html">a</a>', encoding="utf-8")
    found = [(d.line, d.col, d.message) for d in check_site(tmp_path, "site")]
    assert found == [(1, 1, "href='gone.html': gone.html does not exist")]


def test_check_site_finds_broken_links_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/">ok</a><a href="sub/page.html#there">ok</a>\n<a href="gone.html">x</a>'
        '<a href="sub/page.html#nowhere">y</a><img src="missing.png"><a href="javascript:alert(1)">z</a>',
        encoding="utf-8",
    )
    (tmp_path / "sub" / "index.html").write_text('<a href="../index.html">up</a>', encoding="utf-8")
    (tmp_path / "sub" / "page.html").write_text('<h2 id="there">x</h2><a href="../../out.html">o</a>', encoding="utf-8")
    found = {(d.path, d.line, d.rule, d.message.split(":")[0]) for d in check_site(tmp_path, "site")}
    assert found == {
        ("site/index.html", 2, "site.link", "href='gone.html'"),
        ("site/index.html", 2, "site.anchor", "href='sub/page.html#nowhere'"),
        ("site/index.html", 2, "site.link", "src='missing.png'"),
        ("site/index.html", 2, "site.scheme", "href uses javascript"),
        ("site/sub/page.html", 1, "site.link", "href='../../out.html'"),
    }


def test_the_same_reference_is_judged_from_the_page_it_is_on(tmp_path: Path) -> None:
    """References are resolved once per folder: the same text on pages in different folders, and a fragment on
    different pages of one folder, still give each page its own verdict."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.html").write_text('<h2 id="here">x</h2>', encoding="utf-8")
    for folder in ("", "a/", "b/"):
        (tmp_path / f"{folder}index.html").write_text(
            '<a href="x.html">x</a><a href="#here">h</a><a href="?q#here">q</a><a href="//cdn.example/x.js">c</a>',
            encoding="utf-8",
        )
    found = sorted((d.path, d.message) for d in check_site(tmp_path, "site"))
    assert found == [
        ("site/a/index.html", "href='#here': no element with id 'here' in a/index.html"),
        ("site/a/index.html", "href='?q#here': no element with id 'here' in a/index.html"),
        ("site/b/index.html", "href='#here': no element with id 'here' in b/index.html"),
        ("site/b/index.html", "href='?q#here': no element with id 'here' in b/index.html"),
        ("site/b/index.html", "href='x.html': b/x.html does not exist"),
        ("site/index.html", "href='#here': no element with id 'here' in index.html"),
        ("site/index.html", "href='?q#here': no element with id 'here' in index.html"),
        ("site/index.html", "href='x.html': x.html does not exist"),
    ]


def _site(root: Path, target_ids: str = '<h2 id="there">x</h2>') -> None:
    (root / "sub").mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(
        '<a href="sub/page.html#there">ok</a>\n<a href="gone.html">x</a>', encoding="utf-8"
    )
    (root / "sub" / "page.html").write_text(f'{target_ids}<a href="../index.html">up</a>', encoding="utf-8")


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts check_site reads from now on (each a page it parses)."""
    import runbinder.checks.links as links

    read: list[str] = []
    original = links._read

    def counting(text: str) -> Any:
        read.append(text)
        return original(text)

    monkeypatch.setattr(links, "_read", counting)
    return read


def test_an_unchanged_site_is_checked_without_reading_a_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:

    site, cache = tmp_path / "site", tmp_path / "cache"
    _site(site)
    first = check_site(site, "site", cache)
    assert [(d.path, d.line, d.rule) for d in first] == [("site/index.html", 2, "site.link")]
    read = _count_reads(monkeypatch)
    assert check_site(site, "site", cache) == first
    assert read == []

    # The target loses the id: the page that links to it (unchanged itself) is judged again.
    _site(site, target_ids="<h2>x</h2>")
    again = check_site(site, "site", cache)
    assert [(d.path, d.rule) for d in again] == [("site/index.html", "site.anchor"), ("site/index.html", "site.link")]
    assert again == check_site(site, "site")  # what an uncached check finds


def test_kept_site_findings_of_the_wrong_shape_are_misses(tmp_path: Path) -> None:
    site, cache = tmp_path / "site", tmp_path / "cache"
    _site(site)
    first = check_site(site, "site", cache)
    data = json.loads((cache / "site.json").read_text(encoding="utf-8"))
    for entry in data["entries"].values():
        entry["v"] = [[1, "one", "error", "planted", "planted"]] if entry["v"] == [] else [7]
    (cache / "site.json").write_text(json.dumps(data), encoding="utf-8")
    assert check_site(site, "site", cache) == first
    (cache / "site.json").write_bytes(b"\x00 not json")
    assert check_site(site, "site", cache) == first


def test_pages_read_ahead_are_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build reads each page as it is written (page_reading) and hands the readings to the check: it reads no
    page it was given, finds what it finds reading them itself, and reads a page that changed since."""

    site = tmp_path / "site"
    _site(site)
    readings = dict(page_reading(p.read_bytes()) for p in site.rglob("*.html"))
    read = _count_reads(monkeypatch)
    assert check_site(site, "site", readings=readings) == check_site(site, "site")
    assert len(read) == len(readings)  # only the second check read pages

    read.clear()
    _site(site, target_ids="<h2>x</h2>")  # the target changed after it was read ahead: its old reading is not used
    found = check_site(site, "site", readings=readings)
    assert [(d.path, d.rule) for d in found] == [("site/index.html", "site.anchor"), ("site/index.html", "site.link")]
    assert len(read) == 1


def test_pages_seen_while_written_are_not_read_again_unless_they_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build tells the check which pages it read as they were written (read_seen: the file's identity and the
    digest of its bytes): those are neither read nor digested again, unless the file changed since."""
    import runbinder.checks.links as links

    site, cache = tmp_path / "site", tmp_path / "cache"
    _site(site)
    seen = {p.relative_to(site).as_posix(): read_seen(p)[1] for p in site.rglob("*.html")}
    first = check_site(site, "site", cache, seen=seen)
    assert first == check_site(site, "site")
    digested: list[int] = []
    real = links._page_digest
    monkeypatch.setattr(links, "_page_digest", lambda data: digested.append(len(data)) or real(data))
    assert check_site(site, "site", cache, seen=seen) == first
    assert digested == []

    # The target gains nothing but loses its id after it was seen: a new file (another size) is read again, and
    # the findings kept for its old bytes are not used.
    _site(site, target_ids="<h2>x</h2>")
    found = check_site(site, "site", cache, seen=seen)
    assert [(d.path, d.rule) for d in found] == [("site/index.html", "site.anchor"), ("site/index.html", "site.link")]
    assert found == check_site(site, "site")


def test_a_page_known_and_clean_is_not_read_from_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given every page's reading and identity (a build), the check opens only the pages that have findings, to
    locate them: the others are never read from disk."""
    site = tmp_path / "site"
    _site(site)
    pages = sorted(site.rglob("*.html"))
    readings = dict(page_reading(p.read_bytes()) for p in pages)
    seen = {p.relative_to(site).as_posix(): read_seen(p)[1] for p in pages}
    opened: list[str] = []
    real = Path.read_bytes

    def reading(self: Path) -> bytes:
        if site in self.parents:
            opened.append(self.name)
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", reading)
    found = check_site(site, "site", readings=readings, seen=seen)
    assert len(pages) > 1
    assert found
    assert sorted(opened) == sorted({Path(d.path).name for d in found})
    monkeypatch.undo()
    assert found == check_site(site, "site")


def test_a_page_read_ahead_is_read_unless_the_check_holds_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """print.html is read as soon as the build's child writes it (read_ahead), unless the site check's cache
    already holds what its bytes hold: either way the check finds what it finds reading it itself."""
    site, cache = tmp_path / "site", tmp_path / "cache"
    _site(site)
    page = site / "index.html"
    seen, read = read_ahead(page, page.read_bytes(), cache)
    assert read is not None
    assert seen == read_seen(page)[1]
    assert read == page_reading(page.read_bytes())
    found = check_site(site, "site", cache, readings=dict([read]), seen={"index.html": seen})
    assert found == check_site(site, "site")
    assert read_ahead(page, page.read_bytes(), cache)[1] is None  # now kept: nothing to read ahead
    reads = _count_reads(monkeypatch)
    assert check_site(site, "site", cache, seen={"index.html": seen}) == found
    assert reads == []
    page.write_text(page.read_text(encoding="utf-8") + '<a href="nowhere.html">x</a>', encoding="utf-8")
    seen, read = read_ahead(page, page.read_bytes(), cache)
    assert read is not None  # new bytes
    assert check_site(site, "site", cache, readings=dict([read]), seen={"index.html": seen}) == check_site(site, "site")
