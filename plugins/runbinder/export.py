"""``runbinder render -o DIR``: everything the MkDocs plugin generates, as files any Markdown site generator builds.

Zensical, plain MkDocs (or ProperDocs) without the plugin and Backstage TechDocs read a folder of Markdown pages;
none of them runs runbinder's plugin. This module writes the plugin's own pages into such a folder: the same
``SiteRenderer`` pages with the same options, the vendored assets, the stylesheets, the project's images, the print
page, and a configuration fragment (``.runbinder/mkdocs.yml``: navigation, stylesheets, scripts, Markdown
extensions) that the site's ``mkdocs.yml`` inherits with ``INHERIT``.

One thing differs from the plugin's pages, by necessity: the plugin carries each piece of cleaned HTML (runbook
prose and code, cleaned by ``safe``) as a marker that its Markdown extension swaps for the HTML, and a generator
that does not load runbinder has no such extension. Here each marker becomes the cleaned HTML itself, written as
one line of raw HTML in which every character of text and of attribute values outside ``[A-Za-z0-9 ]`` and
non-ASCII letters is a numeric character reference (``inert_html``). The browser reads the same document; a
Markdown processor of the target site sees one line that starts with a tag and holds no Markdown syntax, no
snippet or fence line, no Jinja or critic mark-up, no URL or e-mail address it could link and no emoji or symbol
shortcode: there is nothing in it for an extension to act on, whichever extensions the site enables.

Re-running writes only files whose bytes changed (each atomically: a temporary file in the same folder, renamed
over the old one) and removes the files it wrote earlier that are no longer generated, such as the page of a
deleted runbook. What it wrote is listed in ``.runbinder/manifest.json``; a file it did not write is never
overwritten or removed (a hand-written page in the same folder is left alone and linked like the plugin links
``docs/`` pages).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from . import safe
from .atomic import write_atomically

if TYPE_CHECKING:
    from .alerts import Coverage
    from .validate import Index

ASSETS = Path(__file__).parent / "assets"
MERMAID_JS = "assets/runbinder/mermaid.min.js"
IFRAME_WORKER_JS = "assets/runbinder/iframe-worker-shim.js"
WORKER_FRAME_JS = "assets/runbinder/worker-frame.js"
STYLESHEET = "assets/runbinder/runbinder.css"
SEVERITY_CSS = "assets/runbinder/severity.css"
PRINT_PAGE = "print.html"
STATE_DIR = ".runbinder"  # generators skip dot folders: neither MkDocs nor Zensical publishes it
MANIFEST = f"{STATE_DIR}/manifest.json"
CONFIG = f"{STATE_DIR}/mkdocs.yml"

STATIC_ASSETS = {
    MERMAID_JS: ASSETS / "vendor" / "mermaid" / "mermaid.min.js",
    IFRAME_WORKER_JS: ASSETS / "iframe-worker-shim.js",
    WORKER_FRAME_JS: ASSETS / "worker-frame.js",
    STYLESHEET: ASSETS / "runbinder.css",
}
"""The vendored files every rendered site carries, by site path (the plugin publishes the same files there)."""

MARKDOWN_EXTENSIONS = """\
markdown_extensions:
  - admonition
  - attr_list
  - md_in_html
  - tables
  - toc:
      permalink: true
  - pymdownx.details
  - pymdownx.highlight:
      anchor_linenums: false
  - pymdownx.inlinehilite
  - pymdownx.tasklist:
      custom_checkbox: true
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
"""
"""The extensions the generated pages use, as the plugin's ``configure_markdown`` enables them, and md_in_html for
the admonitions written as HTML containers (``containers``)."""


class ExportError(Exception):
    """The folder cannot be written as asked (a file runbinder did not write is in the way, a link leads out)."""


# --------------------------------------------------------------------------------------------------- inert HTML

_PLAIN = re.compile(r"[A-Za-z0-9 ]")


def _encode(text: str) -> str:
    """Text or an attribute value with every ASCII character outside [A-Za-z0-9 ] (and every control or line
    separator) as a numeric character reference: the browser reads the same characters, a Markdown processor or
    template engine sees letters, digits, spaces and references only."""
    out = []
    for ch in text:
        code = ord(ch)
        if _PLAIN.fullmatch(ch) or (code > 0x9F and ch not in "\u2028\u2029\u0085"):
            out.append(ch)
        else:
            out.append(f"&#{code};")
    return "".join(out)


class _Reserializer(HTMLParser):
    """Writes cleaned HTML back with the same elements and attributes and every text and value encoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(f"<{tag}{self._attrs(attrs)}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(f"<{tag}{self._attrs(attrs)}>")

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(_encode(data))

    @staticmethod
    def _attrs(attrs: list[tuple[str, str | None]]) -> str:
        # Names come from the sanitizer's allowlist (letters and hyphens); values are encoded whole.
        return "".join(f' {name}="{_encode(value)}"' if value is not None else f" {name}" for name, value in attrs)


def inert_html(cleaned: str) -> str:
    """Cleaned HTML (``safe``'s sanitizer output) as one line of the same HTML that no Markdown processor, Markdown
    extension or template engine of any site can act on (see the module's docstring)."""
    parser = _Reserializer()
    parser.feed(cleaned)
    parser.close()
    return "".join(parser.out)


def portable(document: str) -> str:
    """A page of the plugin's (front matter and Markdown holding fragment markers) as a page any generator reads:
    admonitions as ``markdown="1"`` containers (``containers``), every marker replaced by its cleaned HTML
    through ``inert_html``."""
    return safe.FRAGMENTS.expand("\n".join(containers(document.split("\n"))), inert_html)


_ADMONITION = re.compile(
    r'^(?P<indent> *)(?P<marker>!!!|\?\?\?\+?) (?P<kind>[\w-]+(?: +[\w-]+)*)(?: +"(?P<title>.*)")? *$'
)


def containers(lines: list[str]) -> list[str]:
    """Admonitions (``!!! kind "title"`` and folded ``??? kind "title"`` with an indented body) written as the HTML
    the admonition and details extensions make of them, with ``markdown="1"`` so md_in_html parses the body as
    Markdown, and the body un-indented.

    Why: in an indented body, Python-Markdown does not take a line of raw HTML as a raw block (it must start within
    three spaces of the margin) but wraps it in a paragraph, and ``<p><div>`` is not what the plugin's pages hold.
    Un-indented inside a container, each fragment is a raw block again, exactly as in the plugin's pages. The title
    is already plain text made safe for Markdown (``safe.md_text``), which is also safe HTML text."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _ADMONITION.match(lines[i])
        if match is None:
            out.append(lines[i])
            i += 1
            continue
        indent = match["indent"]
        inner = indent + " " * 4
        body: list[str] = []
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or lines[j].startswith(inner)):
            body.append(lines[j][len(inner) :] if lines[j].strip() else "")
            j += 1
        while body and not body[-1]:  # blank lines after the body are the page's, not the admonition's
            body.pop()
            j -= 1
        while body and not body[0]:
            body.pop(0)
        kind = match["kind"]
        title = match["title"] if match["title"] is not None else kind.split()[0].capitalize()
        if match["marker"].startswith("???"):
            is_open = " open" if match["marker"].endswith("+") else ""
            head = [f'<details class="{kind}"{is_open} markdown="1">', f"<summary>{title}</summary>"]
            tail = "</details>"
        else:
            head = [f'<div class="admonition {kind}" markdown="1">']
            head += [f'<p class="admonition-title">{title}</p>'] if title else []
            tail = "</div>"
        block = ["", *head, "", *containers(body), "", tail, ""]
        out += [indent + line if line else "" for line in block]
        i = j
    return out


# --------------------------------------------------------------------------------------------------- the site


@dataclass(frozen=True)
class RenderOptions:
    """What the site is rendered for: the plugin's options that change the pages."""

    today: date
    directory_urls: bool = False
    """The target site's ``use_directory_urls`` (links inside runbook prose are written for it)."""
    docs_pages: frozenset[str] = frozenset()
    """Hand-written pages of the same folder (relative links may name them; a hand-written index.md wins)."""
    nav: str = "auto"
    """``auto``, ``full`` or ``overview``, as the plugin's ``nav`` option."""
    nav_full_limit: int = 300
    print_page: bool = True
    site_url: str | None = None
    """With a site address, the print page carries a QR code per runbook, as in the plugin."""
    coverage: Coverage | None = None
    """The alert rules checked against the runbooks: the alerts index then shows each alert's rules."""


@dataclass
class SiteFiles:
    """Every file of a rendered site by path in the docs folder: bytes, or a file to copy."""

    files: dict[str, bytes | Path] = field(default_factory=dict)
    nav: list[Any] = field(default_factory=list)

    def data(self, path: str) -> bytes:
        """The bytes of one file."""
        value = self.files[path]
        return value.read_bytes() if isinstance(value, Path) else value


def today() -> date:
    """Today, or SOURCE_DATE_EPOCH's day for reproducible output (as the plugin decides it)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc).date()
    return date.today()


def site_files(index: Index, options: RenderOptions) -> SiteFiles:
    """The plugin's site as files: the same renderer, called as the plugin calls it in ``on_files``."""
    from .render.lists import alerts_page
    from .render.site import SiteRenderer, severity_css
    from .sitemap import PAGES

    renderer = SiteRenderer(
        index, today=options.today, directory_urls=options.directory_urls, docs_pages=options.docs_pages
    )
    pages = renderer.pages()
    if options.coverage is not None:
        pages[PAGES["alerts"]] = alerts_page(renderer, options.coverage)
    out = SiteFiles()
    generated = set()
    for path, page in pages.items():
        if path in options.docs_pages:
            if path == "index.md":
                continue  # a hand-written home page wins, as in the plugin
            raise ExportError(f"{path} would replace a hand-written page; rename it")
        out.files[path] = portable(page.document()).encode("utf-8")
        generated.add(path)
    out.files.update(STATIC_ASSETS)
    severities = [e.data for e in index["severities"].values()]
    out.files[SEVERITY_CSS] = severity_css(severities).encode("utf-8")
    for path, source in index.files.items():
        if not path.endswith(".md"):
            out.files[path] = source
    if options.print_page:
        from .binder import BinderOptions, build_html

        binder = BinderOptions(today=options.today, site_url=options.site_url)
        out.files[PRINT_PAGE] = build_html(index, binder, mermaid_src=MERMAID_JS).encode("utf-8")
    full = options.nav == "full" or (options.nav == "auto" and len(index.runbooks) <= options.nav_full_limit)
    extra = sorted(p for p in options.docs_pages if p not in generated and p != "index.md")
    printable = [{"Printable binder": PRINT_PAGE}] if options.print_page else []
    out.nav = renderer.nav(full=full, printable=printable, authors=extra)
    out.files[CONFIG] = config_fragment(out.nav, full).encode("utf-8")
    return out


def config_fragment(nav: list[Any], full_nav: bool) -> str:
    """The configuration a site needs for the rendered pages, for ``INHERIT`` from its mkdocs.yml."""
    head = (
        "# Written by `runbinder render`: do not edit (it is rewritten on every run).\n"
        "# The site's mkdocs.yml takes it in with `INHERIT: <docs_dir>/.runbinder/mkdocs.yml`.\n"
    )
    settings: dict[str, Any] = {
        "extra_css": [STYLESHEET, SEVERITY_CSS],
        "extra_javascript": [MERMAID_JS],
        # Material's and Zensical's offline support load the search worker shim from a CDN unless a polyfill
        # whose path names iframe-worker is configured: this one is the site's own.
        "extra": {"polyfills": [IFRAME_WORKER_JS]},
        "nav": nav,
    }
    if not full_nav:  # service and runbook pages are reached from the indexes: no omitted-page notices for them
        settings["not_in_nav"] = "/services/\n/runbooks/\n"
    body = yaml.safe_dump(settings, sort_keys=False, allow_unicode=True, width=1000)
    return head + body + MARKDOWN_EXTENSIONS


# --------------------------------------------------------------------------------------------------- the folder


@dataclass
class WriteReport:
    """What a run changed in the folder."""

    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Files of an earlier run that are no longer generated but were edited since: left in place."""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> dict[str, str]:
    """The files an earlier run wrote into ``folder`` with their digests (empty when there is no manifest)."""
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {str(k): str(v) for k, v in files.items() if _safe_relative(str(k))}


def hand_written_pages(folder: Path) -> frozenset[str]:
    """Markdown pages in ``folder`` that runbinder did not write (dot folders skipped, as generators skip them)."""
    if not folder.is_dir():
        return frozenset()
    ours = read_manifest(folder)
    found = set()
    for path in folder.rglob("*.md"):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or rel in ours:
            continue
        found.add(rel)
    return frozenset(found)


def _safe_relative(path: str) -> bool:
    return bool(path) and not path.startswith("/") and ".." not in path.split("/") and "\\" not in path


def write_site(folder: Path, site: SiteFiles, *, progress: Callable[[str, str], None] | None = None) -> WriteReport:
    """Make ``folder`` hold ``site``: write what changed (atomically per file), remove what an earlier run wrote and
    is no longer generated, leave every other file alone. Raises ExportError before writing anything when a file
    runbinder did not write is in the way or a folder leads outside ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    previous = read_manifest(folder)
    wanted = {path: site.data(path) for path in site.files}
    # A file runbinder did not write is someone's: it is in the way unless it already holds exactly what would be
    # written (a folder whose manifest was deleted is adopted as it is).
    in_the_way = sorted(
        path
        for path in wanted
        if path not in previous
        and path not in (MANIFEST, CONFIG)
        and os.path.lexists(folder / path)
        and not _holds(folder / path, wanted[path])
    )
    if in_the_way:
        raise ExportError(
            f"would overwrite files runbinder did not write, nothing written: {', '.join(in_the_way[:10])}"
            + (f" and {len(in_the_way) - 10} more" if len(in_the_way) > 10 else "")
        )
    for path in wanted:
        if not _safe_relative(path):
            raise ExportError(f"{path}: not a path inside the folder")
        parent = (folder / path).parent
        if parent.exists() and not parent.resolve().is_relative_to(root):
            raise ExportError(f"{parent} leads outside {folder}")
    report = WriteReport()
    manifest: dict[str, str] = {}
    for path, data in sorted(wanted.items()):
        target = folder / path
        manifest[path] = _digest(data)
        if (
            not target.is_symlink()
            and target.is_file()
            and target.stat().st_size == len(data)
            and target.read_bytes() == data
        ):
            report.unchanged += 1
            continue
        _write_atomic(root, target, data)
        report.written.append(path)
        if progress:
            progress("wrote", path)
    for path in sorted(set(previous) - set(wanted)):
        target = folder / path
        if not os.path.lexists(target):
            continue
        if target.is_symlink() or not target.is_file() or _digest(target.read_bytes()) != previous[path]:
            report.kept.append(path)  # changed by someone since runbinder wrote it: theirs now
            manifest[path] = previous[path]
            continue
        target.unlink()
        report.removed.append(path)
        if progress:
            progress("removed", path)
        _remove_empty_parents(target.parent, root)
    if not _holds(folder / MANIFEST, manifest_data := _manifest_bytes(manifest)):
        _write_atomic(root, folder / MANIFEST, manifest_data)
    return report


def _holds(path: Path, data: bytes) -> bool:
    """``path`` is a regular file (not a link) whose bytes are ``data``."""
    if path.is_symlink() or not path.is_file():
        return False
    return path.stat().st_size == len(data) and path.read_bytes() == data


def _manifest_bytes(files: Mapping[str, str]) -> bytes:
    data = {"written_by": "runbinder render", "files": dict(sorted(files.items()))}
    return (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _write_atomic(root: Path, target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.parent.resolve().is_relative_to(root):
        raise ExportError(f"{target.parent} leads outside {root}")
    write_atomically(target, data, sync=False)  # replaces a link itself, never what it points to


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder.resolve() != root and folder.resolve().is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
