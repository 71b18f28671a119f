"""The printable incident binder: the site's pages, rendered by the same renderers, printed to one PDF.

The print HTML is the site's pages as HTML: inside a MkDocs build the HTML MkDocs itself rendered (``print.html``
is assembled from it after the build, no page is converted twice), and for `runbinder binder` the site's Markdown
(``render.site``) converted once by Python-Markdown with the same extensions, so the binder cannot drift from the
site. Headless Chromium (driven by Playwright, no browser download) draws the mermaid diagrams that are not in the
diagram cache yet (each distinct diagram once, kept by the digest of its source for later runs) and prints the
whole binder once. Page numbers are then read from the PDF itself: Chromium writes a named destination for every
element a link points at, so the page where each section and each referenced target starts is known exactly, and
the table of contents and every "(p. N)" reference are written into the blank slots left for them (pypdf), in the
one print. Nothing hidden is added to the text layer.

The browser reads nothing but the binder's own files: every request outside the binder's temporary folder is
refused by Playwright's routing (other files, the network, other ports), and the page's Content-Security-Policy
refuses frames, plugins and ``data:`` documents, whatever markup might have got into the page.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import html
import os
import posixpath
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from . import safe
from .atomic import write_atomically
from .diagnostics import printable
from .publish import _alive
from .render.shared import read_page
from .render.site import SiteRenderer
from .review import review_due
from .sitemap import PAGES
from .validate import Index

if TYPE_CHECKING:
    from pypdf import PdfReader

ASSETS = Path(__file__).parent / "assets"
PAPER = {"a4": "A4", "letter": "Letter"}
# Headless Chromium as root in a sandbox-less container, and silent: no update, sync or background requests.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class BinderError(Exception):
    """A binder could not be made (no Chromium, a diagram failed); the message says what to do."""


@dataclass
class Section:
    """One part of the binder: a site page, with the title used in the TOC and the running header."""

    key: str
    page: str
    title: str
    level: int = 1
    new_page: bool = True
    reviewed: str = ""
    """For a runbook: when it was last reviewed, said in the running header of each of its pages (overdue or not)."""


@dataclass
class BinderOptions:
    """How to print."""

    paper: str = "a4"
    site_url: str | None = None
    chromium: str | None = None
    revision: str | None = None
    today: date = field(default_factory=date.today)
    services: Sequence[str] = ()
    """Only these services and their runbooks (the quick reference is always printed); empty: every service."""
    teams: Sequence[str] = ()
    """Only the services these teams own and the runbooks they own; empty: every team."""
    cache_dir: Path | None = None
    """Where drawn diagrams are kept between runs (``<cache_dir>/diagrams``); None: drawn on every run."""


def find_chromium(explicit: str | None = None) -> str | None:
    """--chromium, else RUNBINDER_CHROMIUM, else chromium on PATH, else a browser that Playwright installed."""
    for candidate in (explicit, os.environ.get("RUNBINDER_CHROMIUM")):
        if candidate:
            return candidate if Path(candidate).exists() or shutil.which(candidate) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
        return path if Path(path).exists() else None
    except Exception:  # Playwright missing or without a downloaded browser: no Chromium from there
        return None


NO_CHROMIUM = (
    "no Chromium found to print the binder. Install one (Debian/Ubuntu: sudo apt-get install chromium), "
    "or point RUNBINDER_CHROMIUM (or --chromium) at a Chromium or Chrome executable."
)


def git_revision(directory: Path) -> str | None:
    """The short commit hash of the runbooks, when they are in a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def sections(renderer: SiteRenderer, services: Sequence[str] = (), teams: Sequence[str] = ()) -> list[Section]:
    """Quick reference first (what you need in the first five minutes), then each service and its runbooks; with
    ``services`` or ``teams``, only those services (or those the teams own) and their runbooks (or the teams')."""
    wanted_services = set(services)
    wanted_teams = set(teams)

    def service_wanted(sid: str, entry: Any) -> bool:
        if not wanted_services and not wanted_teams:
            return True
        return sid in wanted_services or str(entry.data.get("owner", "")) in wanted_teams

    def runbook_wanted(sid: str, rb: dict[str, Any]) -> bool:
        if not wanted_services and not wanted_teams:
            return True
        return sid in wanted_services or str(rb.get("owner", "")) in wanted_teams

    out = [
        Section("severity", PAGES["severity"], "Severity matrix"),
        Section("escalation", PAGES["escalation"], "Escalation: who to call"),
        Section("contacts", PAGES["contacts"], "Contacts"),
        Section("roles", PAGES["roles"], "Roles"),
        Section("alerts", PAGES["alerts"], "Alerts index"),
        Section("templates", PAGES["templates"], "Communication templates"),
    ]
    for sid, entry in renderer.index["services"].items():
        runbooks = [rb for rb in renderer.by_service.get(sid, []) if runbook_wanted(sid, rb)]
        if not runbooks and not service_wanted(sid, entry):
            continue
        out.append(Section(f"service-{sid}", f"services/{sid}.md", str(entry.data["name"])))
        for rb in runbooks:
            page = f"runbooks/{rb['id']}.md"
            reviewed = _reviewed(rb, review_due(rb, renderer.site), renderer.today)
            out.append(Section(f"runbook-{rb['id']}", page, str(rb["title"]), level=2, reviewed=reviewed))
    for path, source in sorted(renderer.index.files.items()):
        if path.endswith(".md"):
            out.append(Section(f"page-{_page_key(path)}", path, read_page(source)[0]))
    return out


def _reviewed(rb: dict[str, Any], due: date | None, today: date) -> str:
    """The running header's review note: the date a reader can trust the page from, or that it is overdue."""
    last = rb.get("last_reviewed")
    day = "" if last is None else last.isoformat() if isinstance(last, date) else str(last)
    if due is None or due < today:
        return f"Review overdue: last reviewed {day}" if day else "Never reviewed"
    return f"Reviewed {day}"


def _markdown_to_html(text: str) -> str:
    import markdown
    from pymdownx.superfences import fence_code_format

    converted: str = markdown.markdown(
        text,
        extensions=[
            "admonition",
            "attr_list",
            "tables",
            "toc",
            "pymdownx.superfences",
            "pymdownx.tasklist",
            "pymdownx.details",
            safe.FragmentExtension(),
        ],
        extension_configs={
            "pymdownx.superfences": {
                "custom_fences": [{"name": "mermaid", "class": "mermaid", "format": fence_code_format}]
            },
            "pymdownx.tasklist": {"custom_checkbox": False},
        },
    )
    return converted


@functools.lru_cache(maxsize=1 << 14)  # once per page, not once per link to it
def _page_key(page: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", page.removesuffix(".md").lower()).strip("-")


def _section_id(page: str) -> str:
    """The HTML id of a page's section: the table of contents and internal links point at it, and the PDF keeps it
    as a named destination."""
    return f"section-{_page_key(page)}"


_HREF = re.compile(r'href="([^"]*)"')
# src= and id= count only where a word starts (grid= is no id=), as a \b before them would say; _word_start checks
# that on each match, because a pattern that does not start with a literal makes re try every position (30 times
# slower on print.html).
_SRC = re.compile(r'src="([^"]*)"')
_ID = re.compile(r'id="([^"]*)"')
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)

Resolver = Callable[[str, str], "str | None"]
"""(page, link path as written on it) -> the site path it names (a page's ``.md`` path, or a file's path), or None."""


def markdown_resolver(page: str, path: str) -> str | None:
    """Links in the site's Markdown: relative to the page's own ``.md`` path."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(page), path))


def _localise(body: str, page: str, known: dict[str, str], resolve: Resolver = markdown_resolver) -> str:
    """Prefix ids with the page, turn links between site pages into links inside the binder, and give every other
    relative link and image the path from the site root (the binder and print.html stand at the root)."""
    prefix = _page_key(page)
    body = _ID.sub(lambda m: f'id="{prefix}--{m.group(1)}"' if _word_start(m) else m.group(0), body)

    def href(match: re.Match[str]) -> str:
        target = html.unescape(match.group(1))
        if _SCHEME.match(target) or target.startswith("//"):
            return match.group(0)  # external: printed with its URL by CSS
        path, _, anchor = target.partition("#")
        resolved = resolve(page, path) if path else page
        if resolved is None or resolved not in known:
            if resolved is not None and not resolved.endswith(".md") and not resolved.startswith("../"):
                return f'href="{html.escape(resolved)}"'  # a file of the site (an image, a download)
            return 'data-rb-missing="1"'  # a page the binder does not include: keep the text, drop the link
        key = _page_key(resolved)
        return (
            f'href="#{key}--{html.escape(anchor)}" data-rb-section="{known[resolved]}"'
            if anchor
            else (f'href="#{_section_id(resolved)}" data-rb-section="{known[resolved]}"')
        )

    def src(match: re.Match[str]) -> str:
        target = html.unescape(match.group(1))
        if not _word_start(match) or _SCHEME.match(target) or target.startswith("//"):
            return match.group(0)  # data: images (the sanitizer allows no remote ones)
        resolved = resolve(page, target)
        return f'src="{html.escape(resolved)}"' if resolved and not resolved.startswith("../") else match.group(0)

    return _SRC.sub(src, _HREF.sub(href, body))


def _word_start(match: re.Match[str]) -> bool:
    """Whether ``match`` begins a word: what \\b before it would require (re's \\w is str.isalnum() or "_")."""
    start = match.start()
    return start == 0 or not ((before := match.string[start - 1]).isalnum() or before == "_")


# Print only: a "Referenced by" section (backlinks help on screen; on paper they mostly made pages of their own).
_REFERENCED_BY = re.compile(
    r'<h([2-6])\b[^>]*>Referenced by(?:<a class="headerlink".*?</a>)?</h\1>.*?(?=<h[1-6]\b|\Z)', re.S
)
_DETAILS = re.compile(r"<details(?![^>]*\bopen\b)")


def _for_paper(body: str) -> str:
    """Folded sections open, backlink sections dropped."""
    return _REFERENCED_BY.sub("", _DETAILS.sub("<details open", body))


def site_resolver(rendered: Mapping[str, tuple[str, str]]) -> tuple[dict[str, str], Resolver]:
    """The pages MkDocs rendered (source path -> (URL, HTML)) as bodies, and the resolver of their links, which
    MkDocs wrote relative to each page's URL (``../runbooks/x.html``, or ``../x/`` with directory URLs)."""
    bodies = {src: content for src, (_, content) in rendered.items()}
    url_of = {src: url for src, (url, _) in rendered.items()}
    src_of = {url: src for src, url in url_of.items()}

    # Pages in one folder share most of their links (the same ../severity.html on every runbook): each link is
    # resolved once per folder.
    @functools.lru_cache(maxsize=1 << 16)
    def in_folder(folder: str, path: str) -> str | None:
        return resolve_from_url(folder, path, src_of)

    def resolve(page: str, path: str) -> str | None:
        url = url_of.get(page, page)
        if not path or path.startswith(("?", "#")):  # the page itself: its own URL is the base
            return in_folder(url, path)
        return in_folder(url[: url.rfind("/") + 1], path)

    return bodies, resolve


def resolve_from_url(base: str, path: str, src_of: Mapping[str, str]) -> str | None:
    """What a link ``path`` written on the site page at URL ``base`` names: a page's source path (``src_of``: URL ->
    source path), else the site path it leads to, or None when it leaves the site."""
    joined = urllib.parse.urljoin("http://site.invalid/" + base, path)
    parts = urllib.parse.urlsplit(joined)
    if parts.netloc != "site.invalid":
        return None
    target = urllib.parse.unquote(parts.path.lstrip("/"))
    for candidate in (target, target + "/", target.removesuffix("index.html")):
        if candidate in src_of:
            return src_of[candidate]
    return target


class PrintPage:
    """print.html made while MkDocs renders the pages: each section's page is made ready for it (``add``) as soon
    as it is rendered, against every page's URL known beforehand (``urls``: source path -> URL); ``html`` then
    assembles them. What was made ready against URLs other than those of the pages rendered is not used."""

    def __init__(
        self, index: Index, options: BinderOptions, urls: Mapping[str, str], read: Callable[[str], Any] | None = None
    ) -> None:
        self.index, self.options, self.urls = index, options, dict(urls)
        self.renderer = SiteRenderer(index, today=options.today, print_mode=True)
        self.known = {s.page: s.key for s in sections(self.renderer)}
        self.resolve = site_resolver({src: (url, "") for src, url in self.urls.items()})[1]
        self.ready: dict[str, tuple[str, str]] = {}  # source path -> (body as rendered, body made ready)
        self.read = read
        """With a reader (the site link check's ``part_reading``), each section is also read as it is made ready,
        as it will stand in print.html; ``html_read`` then reads only what surrounds the sections."""
        self.readings: dict[str, tuple[str, Any]] = {}  # source path -> (section as placed, its reading or None)

    def add(self, src: str, url: str, body: str) -> None:
        if src in self.known and self.urls.get(src) == url:
            made = _localise(_for_paper(body), src, self.known, self.resolve)
            self.ready[src] = (body, made)
            if self.read is not None:
                placed = _place_diagrams(made, {})
                self.readings[src] = (placed, self.read(placed))

    def _ready(self, rendered: Mapping[str, tuple[str, str]]) -> dict[str, str]:
        same = {src: url for src, (url, _) in rendered.items()} == self.urls
        return {src: made for src, (body, made) in self.ready.items() if same and rendered[src][1] == body}

    def html(self, rendered: Mapping[str, tuple[str, str]], mermaid_src: str, pdf_link: str | None = None) -> str:
        return print_page(self.index, self.options, rendered, mermaid_src, pdf_link, self._ready(rendered))

    def html_read(
        self,
        rendered: Mapping[str, tuple[str, str]],
        mermaid_src: str,
        pdf_link: str | None = None,
        read_whole: Callable[[str], Any] | None = None,
    ) -> tuple[str, list[Any] | None]:
        """``html``, and the readings it is made of (``read_whole`` reads what surrounds the sections), when every
        section was made ready and read as it will stand; else None: the page is to be read whole."""
        ready = self._ready(rendered)
        readings = [self.readings.get(src) for src in self.known]
        if read_whole is None or set(ready) != set(self.known) or any(r is None or r[1] is None for r in readings):
            return self.html(rendered, mermaid_src, pdf_link), None
        # The page is made with a slot where each section goes, read without them, and the sections put in.
        slot = f"rbsection{secrets.token_hex(12)}n"
        slots = {src: f"{slot}{n}." for n, src in enumerate(self.known)}
        frame = print_page(self.index, self.options, rendered, mermaid_src, pdf_link, slots)
        placed = {slots[src]: self.readings[src][0] for src in self.known}
        if frame.count(slot) != len(slots) or any(slot in section for section in placed.values()):
            return self.html(rendered, mermaid_src, pdf_link), None
        document = re.sub(f"{slot}[0-9]+[.]", lambda m: placed[m.group(0)], frame)
        return document, [read_whole(frame), *(r[1] for r in readings if r is not None)]


def print_page(
    index: Index,
    options: BinderOptions,
    rendered: Mapping[str, tuple[str, str]],
    mermaid_src: str,
    pdf_link: str | None = None,
    ready: Mapping[str, str] | None = None,
) -> str:
    """print.html from the HTML MkDocs rendered (pages it did not render, from their Markdown), with a way back
    to the site and, when one is printed, to the binder PDF. ``ready``: pages already made ready (PrintPage)."""
    parts = sections(SiteRenderer(index, today=options.today, print_mode=True))
    bodies, resolve = site_resolver(rendered)
    missing = [s for s in parts if s.page not in bodies]
    if missing:
        converted = markdown_bodies(index, options, missing)
        bodies.update(converted)
        plain = resolve

        def resolve(page: str, path: str) -> str | None:
            return markdown_resolver(page, path) if page in converted else plain(page, path)

    return build_html(
        index,
        options,
        mermaid_src=mermaid_src,
        bodies=bodies,
        resolve=resolve,
        parts=parts,
        home="index.html",
        pdf_link=pdf_link,
        ready=ready,
    )


def markdown_bodies(index: Index, options: BinderOptions, parts: Sequence[Section]) -> dict[str, str]:
    """Each section's page as HTML, from the site's Markdown (print mode), converted once."""
    renderer = SiteRenderer(index, today=options.today, print_mode=True)
    pages = renderer.pages()
    return {s.page: _markdown_to_html(pages[s.page].markdown) for s in parts}


def build_html(
    index: Index,
    options: BinderOptions,
    page_numbers: dict[str, int] | None = None,
    mermaid_src: str = "mermaid.min.js",
    reserve_numbers: bool = False,
    *,
    bodies: Mapping[str, str] | None = None,
    resolve: Resolver = markdown_resolver,
    parts: Sequence[Section] | None = None,
    diagrams: Mapping[str, str] | None = None,
    paper: bool = False,
    home: str | None = None,
    pdf_link: str | None = None,
    ready: Mapping[str, str] | None = None,
) -> str:
    """The whole binder as one HTML document.

    ``bodies`` are the pages as HTML by site path (MkDocs' own rendering); without them the site's Markdown is
    converted here, once. ``paper`` (the PDF) leaves a blank slot after each table-of-contents entry and each
    reference to another section, filled with the page number after the print (``fill_page_numbers``); without
    it (print.html) ``home`` and ``pdf_link`` add a way back to the site and to the PDF. ``diagrams`` are drawn
    diagrams by digest (``diagram_digest``): those are placed as they are, the others drawn in the browser.
    ``page_numbers`` and ``reserve_numbers`` are accepted for callers of the earlier two-print layout and print
    numbers into the contents directly. ``ready``: bodies already localised with this ``resolve``, by page."""
    parts = list(parts) if parts is not None else sections(SiteRenderer(index, today=options.today, print_mode=True))
    if bodies is None:
        bodies = markdown_bodies(index, options, parts)
    known = {s.page: s.key for s in parts}
    site = index.site.data if index.site else {}
    name = str(site.get("name", "Runbooks"))
    numbers = page_numbers or {}

    toc_rows = []
    for s in parts:
        if paper:
            number = f'<a class="rb-slot" href="#{PAGE_ANCHOR}{_section_id(s.page)}"></a>'
        else:
            number = "000" if reserve_numbers else str(numbers.get(s.key, ""))
        toc_rows.append(
            f'<li class="toc-l{s.level}"><a href="#{_section_id(s.page)}">{safe.html_text(s.title)}</a>'
            f'<span class="toc-page">{number}</span></li>'
        )
    revision = f"<p>Revision {safe.html_text(options.revision)}</p>" if options.revision else ""
    cover = (
        f'<section class="cover" id="section-cover">'
        f"<h1>{safe.html_text(name)}</h1><p class='cover-sub'>Incident binder</p>"
        f"<p>Generated {options.today.isoformat()}</p>{revision}"
        "<p class='cover-note'>For when the site or the network is down. Start with the severity matrix and "
        "the escalation tables on the first pages; each runbook starts on a new page.</p></section>"
    )
    toc = (
        '<section class="toc" id="section-toc"><h1>Contents</h1>'
        f'<ol class="toc-list">{"".join(toc_rows)}</ol></section>'
    )
    screen = ""
    if not paper and (home or pdf_link):
        links = [f'<a href="{html.escape(home)}">Back to the site</a>'] if home else []
        if pdf_link:
            links.append(f'<a href="{html.escape(pdf_link)}">The binder as a PDF</a>')
        screen = f'<nav class="rb-screen-nav" aria-label="Site">{" · ".join(links)}</nav>'

    rendered: list[str] = []
    page_styles = []
    targets: set[str] = set()
    for n, s in enumerate(parts):
        body = (ready or {}).get(s.page) or _localise(_for_paper(bodies[s.page]), s.page, known, resolve)
        body = _place_diagrams(body, diagrams or {})
        qr = ""
        if options.site_url and s.key.startswith(("runbook-", "service-")):
            qr = _qr(options.site_url, s.page)
        if paper:
            body = _reference_slots(body, s.key, targets)
        elif numbers:
            body = _see_pages(body, numbers, s.key)
        page_name = f"rb{n}"
        title = s.title if s.level == 2 else ""
        header = " · ".join(p for p in (name, title, s.reviewed) if p)
        page_styles.append(f"@page {page_name} {{ @top-left {{ content: {safe.css_string(header)}; }} }}")
        rendered.append(
            f'<section class="section level-{s.level}" id="{_section_id(s.page)}" style="page: {page_name}">'
            f"{qr}{body}</section>"
        )
    document = "".join(rendered)
    if paper:
        targets |= {_section_id(s.page) for s in parts}
        document = _page_anchors(document, targets)
    css = (ASSETS / "binder.css").read_text(encoding="utf-8")
    size = PAPER[options.paper]
    width, height = PAGE_AREA_PX[options.paper]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{BINDER_POLICY}">'
        f"<title>{safe.html_text(name)} incident binder</title>"
        f"<style>@page {{ size: {size}; }}\n{css}\n{chr(10).join(page_styles)}</style></head>"
        f'<body data-rb-width="{width:.0f}" data-rb-height="{height:.0f}">'
        f"{screen}{cover}{toc}{document}"
        f'<script src="{mermaid_src}"></script><script>{_RENDER_DIAGRAMS}</script></body></html>'
    )


PAGE_ANCHOR = "pg--"
"""Prefix of the anchor placed at the start of every section and referenced target: the page-number slots link to
these, so in the PDF a slot is told from an ordinary link by its destination's name."""

# The printable area of a page in CSS pixels (96 per inch) with binder.css's margins: diagrams are sized to it.
_MM = 96 / 25.4
PAGE_AREA_PX = {"a4": ((210 - 28) * _MM, (297 - 36) * _MM), "letter": ((215.9 - 28) * _MM, (279.4 - 36) * _MM)}

_SECTION_LINK = re.compile(r'(<a [^>]*?href="#([^"]+)"[^>]*data-rb-section="([^"]+)"[^>]*>.*?</a>)', re.S)


def _reference_slots(body: str, here: str, targets: set[str]) -> str:
    """After each link to another section, "(p. N)" with a blank slot for N, linked to the target's page anchor."""

    def add(match: re.Match[str]) -> str:
        link, target, section = match.group(1), match.group(2), match.group(3)
        if section == here:
            return link
        targets.add(target)
        slot = f'<a class="rb-slot" href="#{PAGE_ANCHOR}{target}"></a>'
        return f'{link}<span class="see-page"> (p.&#8239;{slot}</span>'  # the slot takes the number and ")"

    return _SECTION_LINK.sub(add, body)


_OPEN_TAG = re.compile(r'<([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?\bid="([^"]+)"[^>]*>')
_NO_INLINE = frozenset({"table", "thead", "tbody", "tfoot", "tr", "ul", "ol", "dl", "colgroup"})
_FIRST_CELL = re.compile(r"<(?:td|th|li|dt|dd)\b[^>]*>")


def _page_anchors(document: str, targets: set[str]) -> str:
    """An empty ``<a id="pg--X">`` as the first thing inside each target element X (inside its first cell, item or
    term where an element takes no inline content), so its named destination is where X starts."""
    out: list[str] = []
    position = 0
    for match in _OPEN_TAG.finditer(document):
        tag, ident = match.group(1).lower(), match.group(2)
        if ident not in targets:
            continue
        insert_at = match.end()
        if tag in _NO_INLINE:
            cell = _FIRST_CELL.search(document, match.end())
            if cell is None:
                continue
            insert_at = cell.end()
        if insert_at < position:
            continue
        out.append(document[position:insert_at])
        out.append(f'<a class="rb-anchor" id="{PAGE_ANCHOR}{ident}"></a>')
        position = insert_at
    out.append(document[position:])
    return "".join(out)


# -- diagrams: each distinct one drawn once, kept by the digest of its source

_MERMAID_BLOCK = re.compile(
    r'<pre class="mermaid"[^>]*><code>(?P<pre>.*?)</code></pre>|<div class="mermaid"[^>]*>(?P<div>.*?)</div>', re.S
)
_DIAGRAM_SIZE = 256 * 1024  # a cached drawing larger than this is not trusted to be one of ours


@functools.cache
def _mermaid_identity() -> str:
    """What decides how a source is drawn besides itself: the vendored mermaid and the drawing script."""
    digest = hashlib.sha256((ASSETS / "vendor" / "mermaid" / "mermaid.min.js").read_bytes())
    digest.update(_RENDER_DIAGRAMS.encode("utf-8"))
    return digest.hexdigest()


def diagram_digest(source: str) -> str:
    """The key of a diagram's drawing: its source and the mermaid that draws it."""
    return hashlib.sha256(f"{_mermaid_identity()}\0{source}".encode("utf-8", errors="surrogatepass")).hexdigest()


def _place_diagrams(body: str, drawn: Mapping[str, str]) -> str:
    """Each mermaid block as a diagram box: its drawing when it is known, else its source for the page's script."""

    def box(match: re.Match[str]) -> str:
        escaped = match.group("pre") if match.group("pre") is not None else html.escape(match.group("div"))
        source = html.unescape(escaped)
        digest = diagram_digest(source)
        svg = drawn.get(digest)
        if svg is not None:
            return f'<div class="diagram" data-rb-digest="{digest}">{svg}</div>'
        return f'<div class="diagram" data-rb-digest="{digest}"><pre class="rb-diagram-source">{escaped}</pre></div>'

    return _MERMAID_BLOCK.sub(box, body)


def _cached_diagrams(directory: Path | None, html_text: str) -> dict[str, str]:
    """The drawings in the diagram cache for the digests this binder uses (a file that is not an SVG is ignored)."""
    if directory is None:
        return {}
    found: dict[str, str] = {}
    for digest in set(re.findall(r'data-rb-digest="([0-9a-f]{64})"', html_text)):
        try:
            text = (directory / f"{digest}.svg").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if len(text) <= _DIAGRAM_SIZE and text.startswith("<svg") and text.rstrip().endswith("</svg>"):
            found[digest] = text
    return found


def _keep_diagrams(directory: Path | None, drawn: Mapping[str, str]) -> None:
    """Store newly drawn diagrams, each atomically; a cache that cannot be written only costs the next run time."""
    if directory is None:
        return
    for digest, svg in drawn.items():
        if not re.fullmatch(r"[0-9a-f]{64}", digest) or not svg.startswith("<svg") or len(svg) > _DIAGRAM_SIZE:
            continue
        with contextlib.suppress(OSError):
            write_atomically(directory / f"{digest}.svg", svg.encode("utf-8"), sync=False)


def _see_pages(body: str, numbers: dict[str, int], here: str) -> str:
    """Print "(p. N)" after each link to another section, since paper has no links."""

    def add(match: re.Match[str]) -> str:
        section = match.group(2)
        if section == here or section not in numbers:
            return match.group(1)
        return f'{match.group(1)}<span class="see-page"> (p.&#8239;{numbers[section]})</span>'

    return re.sub(r'(<a [^>]*data-rb-section="([^"]+)"[^>]*>.*?</a>)', add, body)


@functools.lru_cache(maxsize=8192)  # a QR code takes about 10 ms to draw: once per page and address per process
def _qr(site_url: str, page: str) -> str:
    import segno

    url = site_url.rstrip("/") + "/" + page.removesuffix(".md") + ".html"
    svg = segno.make(url, error="m").svg_inline(scale=2, border=1)
    return f'<figure class="qr">{svg}<figcaption>{safe.html_text(url)}</figcaption></figure>'


# Material renders diagrams itself on the site; here the same mermaid (vendored) draws the diagrams not drawn yet,
# each distinct source once, and then sizes every diagram to the printable area: as wide as the page allows (never
# above its natural size), a tall one shrunk to fit one page only while its text stays readable (at least 60% of
# mermaid's 16 px, about 7 pt), and one taller than a page at that size cut between its boxes into bands of a third
# of a page, each printed whole, instead of shrunk to unreadable text.
_RENDER_DIAGRAMS = """
(async () => {
  try {
    const boxes = [...document.querySelectorAll("div.diagram[data-rb-digest]")];
    const pending = new Map();
    for (const box of boxes) {
      const source = box.querySelector("pre.rb-diagram-source");
      if (source && !pending.has(box.dataset.rbDigest)) pending.set(box.dataset.rbDigest, source.textContent);
    }
    const drawn = {};
    if (pending.size) {
      mermaid.initialize({startOnLoad: false, securityLevel: "strict", theme: "neutral"});
      for (const [digest, text] of pending) {
        drawn[digest] = (await mermaid.render("rb-d-" + digest.slice(0, 16), text)).svg;
      }
      for (const box of boxes) {
        if (box.querySelector("pre.rb-diagram-source")) box.innerHTML = drawn[box.dataset.rbDigest];
      }
    }
    window.__runbinderDrawn = drawn;
    const width = Number(document.body.dataset.rbWidth), height = Number(document.body.dataset.rbHeight) * 0.94;
    const readable = 0.6;
    for (const box of boxes) {
      const svg = box.querySelector("svg");
      const view = svg && svg.viewBox && svg.viewBox.baseVal;
      if (!view || !view.width || !view.height) continue;
      let scale = Math.min(1, width / view.width);
      if (view.height * scale > height && height / view.height >= readable) scale = height / view.height;
      const size = (node, w, h) => {
        node.removeAttribute("width");
        node.removeAttribute("height");
        node.style.maxWidth = "none";
        node.style.width = w * scale + "px";
        node.style.height = h * scale + "px";
      };
      if (view.height * scale <= height) {
        size(svg, view.width, view.height);
        continue;
      }
      // Bands of a third of a page, so a page is never left more than a third empty before or between them, each
      // cut where no box or label is (a cut through a label would split its text over two pages).
      const band = height / 3 / scale;
      const frame = svg.getBoundingClientRect();
      const unit = frame.height ? view.height / frame.height : 1;
      const spans = [...svg.querySelectorAll(".node, .edgeLabel, .cluster, text")].map((element) => {
        const box = element.getBoundingClientRect();
        return [view.y + (box.top - frame.top) * unit, view.y + (box.bottom - frame.top) * unit];
      }).filter(([top, bottom]) => bottom > top);
      const free = (y) => !spans.some(([top, bottom]) => top < y && y < bottom);
      const bands = [];
      const end = view.y + view.height;
      let top = view.y;
      while (top < end) {
        let cut = Math.min(end, top + band);
        if (cut < end) {
          for (let y = cut; y > top + band / 2; y -= band / 60) {
            if (free(y)) { cut = y; break; }
          }
        }
        const part = svg.cloneNode(true);
        part.setAttribute("viewBox", `${view.x} ${top} ${view.width} ${cut - top}`);
        size(part, view.width, cut - top);
        const holder = document.createElement("div");
        holder.className = "diagram-band";
        holder.appendChild(part);
        bands.push(holder);
        top = cut;
      }
      box.classList.add("diagram-sliced");
      box.replaceChildren(...bands);
    }
    window.__runbinderDone = true;
  } catch (error) {
    window.__runbinderError = String(error && error.message || error);
  }
})();
"""


_RENDER_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(_RENDER_DIAGRAMS.encode()).digest()).decode() + "'"
BINDER_POLICY = "; ".join(
    (
        "default-src 'none'",
        f"script-src 'self' {_RENDER_HASH}",
        "style-src 'self' 'unsafe-inline'",  # the binder's own stylesheet and mermaid's SVG styles
        "img-src 'self' data:",
        "font-src 'self' data:",
        "frame-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    )
)
"""The binder page's Content-Security-Policy: its own files and drawing script, nothing else, no frames."""


def _print(html_text: str, directory: Path, chromium: str, paper: str) -> tuple[bytes, dict[str, str]]:
    """Print the binder page to PDF bytes in a confined headless Chromium; also the diagrams it drew, by digest."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _print_here(html_text, directory, chromium, paper)
    # Called from code that runs an event loop in this thread (an async caller, or a Playwright session of its
    # own): Playwright's sync API must run in a thread without one.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print_here, html_text, directory, chromium, paper).result()


def _print_here(html_text: str, directory: Path, chromium: str, paper: str) -> tuple[bytes, dict[str, str]]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Route, sync_playwright

    document = directory / "binder.html"
    document.write_text(html_text, encoding="utf-8")
    own = directory.resolve().as_uri() + "/"
    refused: list[str] = []  # navigations of the page itself that were refused

    def only_own_files(route: Route) -> None:
        # Every request of every frame and popup passes here: the binder's folder is all the browser may read.
        url = route.request.url
        inside = url[len(own) :]
        if url.startswith(own) and ".." not in inside:
            route.continue_()
        else:
            if route.request.is_navigation_request() and route.request.frame == route.request.frame.page.main_frame:
                refused.append(url)
            route.abort("accessdenied")

    # Chromium's own scratch folders, and the profile Playwright's driver makes for it, go in the workspace beside
    # the binder's files (which are all the page may read), so they go when it goes: a binder stopped while Chromium
    # was starting left the driver's profile folder behind in the system's temporary folder.
    scratch = directory.parent
    with contextlib.ExitStack() as stack:
        with _temporary_folder_for_children(scratch):
            playwright = stack.enter_context(sync_playwright())
        try:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=CHROMIUM_ARGS, env={**os.environ, "TMPDIR": str(scratch)}
            )
        except PlaywrightError as exc:
            reason = printable(_launch_failure(str(exc)))
            raise BinderError(f"Chromium ({printable(chromium)}) did not start: {reason}") from None
        try:
            context = browser.new_context(accept_downloads=False, service_workers="block")
            context.route("**/*", only_own_files)
            page = context.new_page()
            # Laying out and drawing a large binder takes a while: a fixed 30 s would fail at a few hundred
            # runbooks. Allow two minutes plus a second per diagram to draw and a tenth per section to print.
            timeout = 120_000 + 1_000 * html_text.count("rb-diagram-source") + 100 * html_text.count("<section")
            page.set_default_timeout(timeout)
            left: list[str] = []
            page.on("framenavigated", lambda frame: left.append(frame.url) if frame == page.main_frame else None)
            page.goto(document.as_uri(), wait_until="domcontentloaded")
            _wait_until_drawn(page, timeout / 1000, left, document.as_uri(), refused)
            error = page.evaluate("window.__runbinderError")
            if error:
                raise BinderError(f"a diagram failed to render: {error}")
            failed = page.evaluate("document.querySelectorAll('div.diagram:not(:has(svg))').length")
            if failed:
                raise BinderError(f"{failed} diagram(s) did not render")
            drawn = page.evaluate("window.__runbinderDrawn || {}")
            pdf: bytes = page.pdf(
                format=PAPER[paper], print_background=True, prefer_css_page_size=True, outline=True, tagged=True
            )
        finally:
            browser.close()
    return pdf, {str(k): str(v) for k, v in drawn.items()} if isinstance(drawn, dict) else {}


def _launch_failure(log: str) -> str:
    """The line of Playwright's launch log that says why Chromium stopped (its FATAL message), else the first."""
    lines = [line.strip(" -") for line in log.splitlines() if line.strip(" -")]
    for line in lines:
        if "FATAL:" in line:
            return line.split("FATAL:", 1)[1].split("] ", 1)[-1].strip()
    return lines[0] if lines else "no reason given"


@contextlib.contextmanager
def _temporary_folder_for_children(folder: Path) -> Iterator[None]:
    """TMPDIR set to ``folder`` while a child process starts (Playwright's driver copies the environment then)."""
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(folder)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved


def destination_pages(pdf: bytes | PdfReader) -> dict[str, int]:
    """The 1-based page of every named destination of the PDF (bytes, or a pypdf reader of them): Chromium writes
    one for each element a link of the document points at, where that element starts."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf)) if isinstance(pdf, bytes) else pdf
    out: dict[str, int] = {}
    try:
        for name, destination in reader.named_destinations.items():
            page = reader.get_destination_page_number(destination)
            if page is not None and page >= 0:
                out[str(name).lstrip("/")] = page + 1
    except Exception as exc:  # pypdf raises many types for a malformed name tree
        raise BinderError(f"could not read the printed binder's destinations ({type(exc).__name__})") from exc
    return out


_TOC_SLOT_PT = 21.0  # the contents' slots are 2.4em of 10pt wide, the references' 2.3em of 8pt (binder.css)
_STARTXREF = re.compile(rb"startxref\s+([0-9]+)\s+%%EOF\s*\Z")


def fill_page_numbers(pdf: bytes, parts: Sequence[Section]) -> tuple[bytes, dict[str, int], int]:
    """Write into each blank page-number slot (a link to a ``pg--`` anchor) the page its target starts on, read
    from the PDF's own named destinations; returns the PDF, each section's first page and the number of pages.

    The numbers are drawn right-aligned in the slot's rectangle in Helvetica (a standard PDF font, nothing
    embedded), as real text: searching and pdftotext find "(p. 15)" like the text around it.

    They are written as an incremental update (PDF 1.7, 7.5.6): the printed file unchanged, then the pages that
    gained numbers, their new content streams and the font, a cross-reference section for those and a trailer
    pointing back to the printed one. Nothing else is read or written again (copying a 1,500-page binder object
    by object took 27 s; this takes about 3)."""
    import io

    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, NumberObject

    reader = PdfReader(io.BytesIO(pdf))
    ending = _STARTXREF.search(pdf, max(0, len(pdf) - 1024))
    if reader.is_encrypted or ending is None:
        raise BinderError("the printed binder is not a PDF this can number (encrypted, or no cross-reference)")
    pages_of = destination_pages(reader)
    numbers = {s.key: pages_of[_section_id(s.page)] for s in parts if _section_id(s.page) in pages_of}
    if len(numbers) != len(parts):
        missing = [s.title for s in parts if s.key not in numbers]
        raise BinderError(f"could not find the pages of: {', '.join(missing)}")

    update = io.BytesIO()
    update.write(b"" if pdf.endswith(b"\n") else b"\n")
    written: dict[int, tuple[int, int]] = {}  # object number -> (offset in the file, generation)
    size = int(cast(Any, reader.trailer["/Size"]))

    def put(number: int, generation: int, body: bytes) -> IndirectObject:
        written[number] = (len(pdf) + update.tell(), generation)
        update.write(b"%d %d obj\n%s\nendobj\n" % (number, generation, body))
        return IndirectObject(number, generation, reader)

    def serialized(value: Any) -> bytes:
        out = io.BytesIO()
        value.write_to_stream(out)
        return out.getvalue()

    def new_object(body: bytes) -> IndirectObject:
        nonlocal size
        size += 1
        return put(size - 1, 0, body)

    def stream(data: str) -> IndirectObject:
        content = data.encode("ascii")
        return new_object(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))

    font = new_object(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    unresolved: set[str] = set()
    for page in reader.pages:
        drawn = []
        for annotation in page.get("/Annots", None) or []:
            link = annotation.get_object()
            target = link.get("/Dest") if link.get("/Subtype") == "/Link" else None
            name = str(target).lstrip("/") if isinstance(target, str) else ""
            if not name.startswith(PAGE_ANCHOR):
                continue
            number = pages_of.get(name)
            if number is None:
                unresolved.add(name)
                continue
            x0, y0, x1, y1 = (float(v) for v in link["/Rect"])
            size_pt = max(5.0, min(11.0, y1 - y0))  # the slot is 1em high: the size of the text around it
            # The contents' wide slots are right-aligned under each other; a reference's number follows "(p."
            # and closes its parenthesis.
            in_contents = x1 - x0 > _TOC_SLOT_PT
            text = str(number) if in_contents else f"{number})"
            width = 0.556 * size_pt * len(str(number))  # Helvetica's digits are 0.556 em wide
            x = x1 - width - 0.5 if in_contents else x0 + 0.5
            y = y0 + (y1 - y0 - 0.7 * size_pt) / 2
            literal = text.replace(")", "\\)")  # a PDF string: its parenthesis escaped
            drawn.append(f"BT /RbPageNo {size_pt:.2f} Tf {x:.2f} {y:.2f} Td ({literal}) Tj ET")
        if not drawn:
            continue
        # The page again, with the font among its resources (inherited ones included, as read) and its content
        # wrapped: Chromium's drawing may leave its coordinate system changed, so the numbers are drawn after it.
        changed = DictionaryObject(page)
        resources = page.get("/Resources")
        resources = DictionaryObject(resources.get_object() if resources is not None else {})
        fonts = resources.get("/Font")
        fonts = DictionaryObject(fonts.get_object() if fonts is not None else {})
        fonts[NameObject("/RbPageNo")] = font
        resources[NameObject("/Font")] = fonts
        changed[NameObject("/Resources")] = resources
        contents = page.get("/Contents")
        if contents is None:
            existing: list[Any] = []
        else:
            existing = list(contents.get_object()) if isinstance(contents.get_object(), list) else [contents]
        changed[NameObject("/Contents")] = ArrayObject(
            [stream("q\n"), *existing, stream("\nQ\n"), stream("q 0 g " + " ".join(drawn) + " Q\n")]
        )
        reference = page.indirect_reference
        if reference is None:
            raise BinderError("the printed binder has a page that is not an object of its own")
        put(reference.idnum, reference.generation, serialized(changed))
    if unresolved:
        raise BinderError(f"{len(unresolved)} reference(s) lead nowhere in the printed binder")

    xref_at = len(pdf) + update.tell()
    update.write(b"xref\n")
    numbered = sorted(written)
    runs: list[list[int]] = []
    for number in numbered:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    for run in runs:
        update.write(b"%d %d\n" % (run[0], len(run)))
        for number in run:
            offset, generation = written[number]
            update.write(b"%010d %05d n\r\n" % (offset, generation))
    trailer = DictionaryObject(
        {NameObject("/Size"): NumberObject(size), NameObject("/Prev"): NumberObject(int(ending.group(1)))}
    )
    for key in ("/Root", "/Info", "/ID"):
        if key in reader.trailer:
            trailer[NameObject(key)] = reader.trailer.raw_get(key)
    update.write(b"trailer\n%s\nstartxref\n%d\n%%%%EOF\n" % (serialized(trailer), xref_at))
    return pdf + update.getvalue(), numbers, len(reader.pages)


def _wait_until_drawn(page: Any, seconds: float, left: list[str], own: str, refused: list[str]) -> None:
    """Wait for the drawing script to finish, in short steps, so a page that navigated away (which the routing
    refuses, leaving an error page) fails at once instead of after the whole timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + seconds
    while True:
        elsewhere = [url for url in left if url != own]
        if elsewhere:
            target = (refused or elsewhere)[0]
            raise BinderError(f"the binder page tried to leave for {target[:120]}: refused")
        try:
            page.wait_for_function(
                "window.__runbinderDone === true || window.__runbinderError !== undefined", timeout=1_000
            )
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise BinderError(f"the diagrams did not finish drawing within {seconds:.0f} s") from None


TEMP_PREFIX = "runbinder-binder-"
# Chromium keeps a Unix socket in its temporary folder, at <folder>/org.chromium.Chromium.XXXXXX/SingletonSocket, and
# stops at start-up ("Socket path too long") when that path does not fit a socket address (107 bytes). The workspace
# is Chromium's temporary folder, so it is made where its path fits: in TMPDIR when that is short enough, else in
# /tmp (macOS's TMPDIR alone is about 49 characters; the workspace's own name takes up to 33).
_SOCKET_PATH_MAX = 107 - len("/org.chromium.Chromium.XXXXXX/SingletonSocket")
_WORKSPACE_NAME_MAX = len(TEMP_PREFIX) + 7 + 1 + 8  # prefix, process id, "-", mkdtemp's 8 characters


def _workspace_bases() -> list[Path]:
    """Where workspaces are made (the first) and where a killed run's may be left (all)."""
    base = Path(tempfile.gettempdir())
    if len(os.fsencode(base)) + 1 + _WORKSPACE_NAME_MAX <= _SOCKET_PATH_MAX:
        return [base]
    short = Path("/tmp")
    if short.is_dir() and os.access(short, os.W_OK | os.X_OK):
        return [short, base]
    return [base]


@contextlib.contextmanager
def _workspace() -> Iterator[Path]:
    """The binder's temporary folder, named after this process so a later run can remove it if this one is
    killed before it cleans up."""
    bases = _workspace_bases()
    with contextlib.suppress(OSError):
        for base in bases:
            for entry in base.glob(f"{TEMP_PREFIX}*"):
                pid = entry.name[len(TEMP_PREFIX) :].split("-", 1)[0]
                if pid.isdigit() and not _alive(int(pid)):
                    shutil.rmtree(entry, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=bases[0]))
    try:
        yield tmp
    finally:
        # A browser that is still going away may write into its profile while the folder is removed: try again.
        for _ in range(50):
            shutil.rmtree(tmp, ignore_errors=True)
            if not tmp.exists():
                break
            time.sleep(0.1)


STOPPED = threading.Event()
"""Set by the command line when the user stops the run (Ctrl-C, SIGTERM). The signal raises KeyboardInterrupt
wherever the run is, but a library may catch it there (Playwright's event loop can) and carry on: the binder also
looks here before it writes anything, so a stopped run never writes the PDF."""


def _stop_if_asked() -> None:
    if STOPPED.is_set():
        raise KeyboardInterrupt


def make_binder(
    index: Index,
    output: Path,
    options: BinderOptions,
    *,
    bodies: Mapping[str, str] | None = None,
    resolve: Resolver = markdown_resolver,
) -> tuple[Path, int, dict[str, int]]:
    """Print the binder to ``output`` atomically: one print, then the page numbers written into their slots.
    Returns the path, the page count and each section's page. ``bodies`` (with ``resolve``) are the pages as HTML
    when a MkDocs build has them already."""
    chromium = find_chromium(options.chromium)
    if chromium is None:
        raise BinderError(NO_CHROMIUM)
    parts = sections(SiteRenderer(index, today=options.today), options.services, options.teams)
    diagram_dir = options.cache_dir / "diagrams" if options.cache_dir is not None else None
    with _workspace() as workspace:
        directory = workspace / "binder"  # what the page may read; Chromium's scratch folders sit beside it
        directory.mkdir()
        shutil.copyfile(ASSETS / "vendor" / "mermaid" / "mermaid.min.js", directory / "mermaid.min.js")
        for path, source in index.files.items():  # images at the site paths runbook text names them by
            if not path.endswith(".md"):
                (directory / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, directory / path)
        if bodies is None:
            bodies = markdown_bodies(index, options, parts)  # once: the page is assembled twice below
        pending = build_html(index, options, parts=parts, bodies=bodies, resolve=resolve, paper=True)
        drawn = _cached_diagrams(diagram_dir, pending)
        html_text = build_html(index, options, parts=parts, bodies=bodies, resolve=resolve, paper=True, diagrams=drawn)
        printed, new = _print(html_text, directory, chromium, options.paper)
        _keep_diagrams(diagram_dir, new)
        _stop_if_asked()
        with _quiet_pypdf():
            pdf, numbers, pages = fill_page_numbers(printed, parts)
        _stop_if_asked()
    write_atomically(output, pdf)
    return output, pages, numbers


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf's warnings about the PDF Chromium wrote ("Object count ... exceeds defined trailer size") say nothing
    a reader of the binder can act on: kept out of the output while the binder is read and written here."""
    import logging

    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def binder_sections(index: Index, services: Sequence[str] = (), teams: Sequence[str] = ()) -> Sequence[Section]:
    """The sections in binder order (for tests and the CLI summary)."""
    return sections(SiteRenderer(index, today=date.today()), services, teams)


def describe(numbers: dict[str, int], parts: Sequence[Section]) -> list[tuple[str, int]]:
    """(title, page) for each section, in order."""
    return [(s.title, numbers.get(s.key, 0)) for s in parts]
