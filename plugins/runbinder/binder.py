"""The printable incident binder: the site's pages, rendered by the same renderers, printed to one PDF.

The print HTML is the site's Markdown (``render.site``) converted by Python-Markdown with the same extensions,
so the binder cannot drift from the site. Headless Chromium (driven by Playwright, no browser download) renders
the mermaid diagrams, waits until each one has rendered (not a fixed time), and prints. Page numbers for the
table of contents and "see page N" come from a first print: the page on which each section's marker appears.

The browser reads nothing but the binder's own files: every request outside the binder's temporary folder is
refused by Playwright's routing (other files, the network, other ports), and the page's Content-Security-Policy
refuses frames, plugins and ``data:`` documents, whatever markup might have got into the page.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import os
import re
import shutil
import subprocess
import tempfile
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from . import safe
from .publish import _alive
from .render.shared import read_page
from .render.site import SiteRenderer
from .sitemap import PAGES
from .validate import Index

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


@dataclass
class BinderOptions:
    """How to print."""

    paper: str = "a4"
    site_url: str | None = None
    chromium: str | None = None
    revision: str | None = None
    today: date = field(default_factory=date.today)


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


def sections(renderer: SiteRenderer) -> list[Section]:
    """Quick reference first (what you need in the first five minutes), then each service and its runbooks."""
    out = [
        Section("severity", PAGES["severity"], "Severity matrix"),
        Section("escalation", PAGES["escalation"], "Escalation: who to call"),
        Section("contacts", PAGES["contacts"], "Contacts"),
        Section("roles", PAGES["roles"], "Roles"),
        Section("alerts", PAGES["alerts"], "Alerts index"),
        Section("templates", PAGES["templates"], "Communication templates"),
    ]
    for sid, entry in renderer.index["services"].items():
        out.append(Section(f"service-{sid}", f"services/{sid}.md", str(entry.data["name"])))
        for rb in renderer.by_service.get(sid, []):
            out.append(Section(f"runbook-{rb['id']}", f"runbooks/{rb['id']}.md", str(rb["title"]), level=2))
    for path, source in sorted(renderer.index.files.items()):
        if path.endswith(".md"):
            out.append(Section(f"page-{_page_key(path)}", path, read_page(source)[0]))
    return out


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


def _page_key(page: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", page.removesuffix(".md").lower()).strip("-")


def _section_id(page: str) -> str:
    """The HTML id of a page's section: the table of contents and internal links point at it, and the PDF keeps it
    as a named destination."""
    return f"section-{_page_key(page)}"


_HREF = re.compile(r'href="([^"]*)"')
_ID = re.compile(r'\bid="([^"]*)"')


def _localise(body: str, page: str, known: dict[str, str]) -> str:
    """Prefix ids with the page, and turn links between site pages into links inside the binder."""
    prefix = _page_key(page)
    body = _ID.sub(lambda m: f'id="{prefix}--{m.group(1)}"', body)

    def href(match: re.Match[str]) -> str:
        target = html.unescape(match.group(1))
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            return match.group(0)  # external: printed with its URL by CSS
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)).replace(os.sep, "/") if path else page
        if resolved not in known:
            return 'data-rb-missing="1"'  # a page the binder does not include: keep the text, drop the link
        key = _page_key(resolved)
        return (
            f'href="#{key}--{anchor}" data-rb-section="{known[resolved]}"'
            if anchor
            else (f'href="#{_section_id(resolved)}" data-rb-section="{known[resolved]}"')
        )

    return _HREF.sub(href, body)


def build_html(
    index: Index,
    options: BinderOptions,
    page_numbers: dict[str, int] | None = None,
    mermaid_src: str = "mermaid.min.js",
    reserve_numbers: bool = False,
) -> str:
    """The whole binder as one HTML document. With ``page_numbers`` the TOC and cross-references carry them."""
    renderer = SiteRenderer(index, today=options.today, print_mode=True)
    pages = {path: page.markdown for path, page in renderer.pages().items()}
    parts = sections(renderer)
    known = {s.page: s.key for s in parts}
    site = index.site.data if index.site else {}
    name = str(site.get("name", "Runbooks"))
    numbers = page_numbers or {}

    toc_rows = []
    for s in parts:
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

    bodies = []
    page_styles = []
    for n, s in enumerate(parts):
        body = _localise(_markdown_to_html(pages[s.page]), s.page, known)
        qr = ""
        if options.site_url and s.key.startswith(("runbook-", "service-")):
            qr = _qr(options.site_url, s.page)
        if numbers:
            body = _see_pages(body, numbers, s.key)
        page_name = f"rb{n}"
        title = s.title if s.level == 2 else ""
        header = f"{name} · {title}" if title else name
        page_styles.append(f"@page {page_name} {{ @top-left {{ content: {safe.css_string(header)}; }} }}")
        bodies.append(
            f'<section class="section level-{s.level}" id="{_section_id(s.page)}" style="page: {page_name}">'
            f'<span class="rb-mark">RBMARK{n:04d}</span>{qr}{body}</section>'
        )
    css = (ASSETS / "binder.css").read_text(encoding="utf-8")
    size = PAPER[options.paper]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{BINDER_POLICY}">'
        f"<title>{safe.html_text(name)} incident binder</title>"
        f"<style>@page {{ size: {size}; }}\n{css}\n{chr(10).join(page_styles)}</style></head><body>"
        f"{cover}{toc}{''.join(bodies)}"
        f'<script src="{mermaid_src}"></script><script>{_RENDER_DIAGRAMS}</script></body></html>'
    )


def _see_pages(body: str, numbers: dict[str, int], here: str) -> str:
    """Print "(p. N)" after each link to another section, since paper has no links."""

    def add(match: re.Match[str]) -> str:
        section = match.group(2)
        if section == here or section not in numbers:
            return match.group(1)
        return f'{match.group(1)}<span class="see-page"> (p.&#8239;{numbers[section]})</span>'

    return re.sub(r'(<a [^>]*data-rb-section="([^"]+)"[^>]*>.*?</a>)', add, body)


def _qr(site_url: str, page: str) -> str:
    import segno

    url = site_url.rstrip("/") + "/" + page.removesuffix(".md") + ".html"
    svg = segno.make(url, error="m").svg_inline(scale=2, border=1)
    return f'<figure class="qr">{svg}<figcaption>{safe.html_text(url)}</figcaption></figure>'


# Material renders diagrams itself on the site; here the same mermaid (vendored) renders them before printing.
_RENDER_DIAGRAMS = """
(async () => {
  try {
    mermaid.initialize({startOnLoad: false, securityLevel: "strict", theme: "neutral"});
    for (const pre of document.querySelectorAll("pre.mermaid")) {
      const div = document.createElement("div");
      div.className = "diagram";
      div.textContent = pre.textContent;
      pre.replaceWith(div);
    }
    await mermaid.run({querySelector: "div.diagram"});
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


def _print(html_text: str, directory: Path, chromium: str, paper: str) -> bytes:
    """Print the binder page to PDF bytes in a confined headless Chromium."""
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


def _print_here(html_text: str, directory: Path, chromium: str, paper: str) -> bytes:
    from playwright.sync_api import Route, sync_playwright

    document = directory / "binder.html"
    document.write_text(html_text, encoding="utf-8")
    own = directory.resolve().as_uri() + "/"
    refused: list[str] = []  # navigations of the page itself that were refused

    def only_own_files(route: Route) -> None:
        # Every request of every frame and popup passes here: the binder's folder is all the browser may read.
        url = route.request.url
        inside = url[len(own) :]
        if url.startswith(own) and ".." not in inside and not inside.startswith("chromium-tmp"):
            route.continue_()
        else:
            if route.request.is_navigation_request() and route.request.frame == route.request.frame.page.main_frame:
                refused.append(url)
            route.abort("accessdenied")

    with sync_playwright() as playwright:
        # Chromium's own scratch folders go inside the binder's folder, so they go when it goes.
        scratch = directory / "chromium-tmp"
        scratch.mkdir(exist_ok=True)
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, env={**os.environ, "TMPDIR": str(scratch)}
        )
        try:
            context = browser.new_context(accept_downloads=False, service_workers="block")
            context.route("**/*", only_own_files)
            page = context.new_page()
            # Laying out and drawing a large binder takes a while: a fixed 30 s would fail at a few hundred
            # runbooks. Allow two minutes plus a second per diagram for loading, drawing and printing.
            timeout = 120_000 + 1_000 * html_text.count('class="mermaid"')
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
            pdf: bytes = page.pdf(
                format=PAPER[paper], print_background=True, prefer_css_page_size=True, outline=True, tagged=True
            )
        finally:
            browser.close()
    return pdf


def marker_pages(pdf: bytes, parts: Sequence[Section]) -> dict[str, int]:
    """The 1-based page on which each section starts.

    Chromium writes a named destination for every element a link points at, and the table of contents links to
    every section: reading those takes a fraction of a second at any size. Should one be missing, each page's
    text is searched for the sections' invisible markers (RBMARK + its number; digits only, so no font ligature
    can split them), which takes minutes for a binder of a thousand pages.
    """
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    by_id: dict[str, int] = {}
    try:
        for name, destination in reader.named_destinations.items():
            page = reader.get_destination_page_number(destination)
            if page is not None:
                by_id[str(name).lstrip("/")] = page + 1
    except Exception:  # pypdf raises many types for a malformed name tree: fall back to the text search below
        by_id = {}
    found = {s.key: by_id[_section_id(s.page)] for s in parts if _section_id(s.page) in by_id}
    if len(found) == len(parts):
        return found
    found = {}
    for number, pdf_page in enumerate(reader.pages, 1):
        text = unicodedata.normalize("NFKC", pdf_page.extract_text() or "")
        for index in re.findall(r"RBMARK(\d{4})", text):
            if int(index) < len(parts):
                found.setdefault(parts[int(index)].key, number)
    return found


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


@contextlib.contextmanager
def _workspace() -> Iterator[Path]:
    """The binder's temporary folder, named after this process so a later run can remove it if this one is
    killed before it cleans up."""
    base = Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for entry in base.glob(f"{TEMP_PREFIX}*"):
            pid = entry.name[len(TEMP_PREFIX) :].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(entry, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-") as tmp:
        yield Path(tmp)


def make_binder(index: Index, output: Path, options: BinderOptions) -> tuple[Path, int, dict[str, int]]:
    """Print the binder to ``output`` atomically. Returns the path, the page count and each section's page."""
    chromium = find_chromium(options.chromium)
    if chromium is None:
        raise BinderError(NO_CHROMIUM)
    with _workspace() as directory:
        shutil.copyfile(ASSETS / "vendor" / "mermaid" / "mermaid.min.js", directory / "mermaid.min.js")
        for path, source in index.files.items():  # images at the site paths runbook text names them by
            if not path.endswith(".md"):
                (directory / path).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, directory / path)
        parts = binder_sections(index)
        first = _print(build_html(index, options, reserve_numbers=True), directory, chromium, options.paper)
        numbers = marker_pages(first, parts)
        if len(numbers) != len(parts):
            missing = [s.title for s in parts if s.key not in numbers]
            raise BinderError(f"could not find the pages of: {', '.join(missing)}")
        pdf = _print(build_html(index, options, numbers), directory, chromium, options.paper)
        final = marker_pages(pdf, parts)
        if final != numbers:  # the numbers moved the layout: print once more with the final numbers
            pdf = _print(build_html(index, options, final), directory, chromium, options.paper)
            numbers = final
    _write_atomically(output, pdf)
    return output, _page_count(pdf), numbers


def _page_count(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def _write_atomically(path: Path, data: bytes) -> None:
    """Temporary file in the same directory, then rename: a failed run never leaves a truncated binder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def binder_sections(index: Index) -> Sequence[Section]:
    """The sections in binder order (for tests and the CLI summary)."""
    return sections(SiteRenderer(index, today=date.today()))


def describe(numbers: dict[str, int], parts: Sequence[Section]) -> list[tuple[str, int]]:
    """(title, page) for each section, in order."""
    return [(s.title, numbers.get(s.key, 0)) for s in parts]
