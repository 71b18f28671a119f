"""The MkDocs plugin: MkDocs events only; loading, checking, rendering and publishing live in the core.

The runbooks are validated in ``on_config``, before MkDocs cleans ``site_dir`` (it does so right after
``on_pre_build``), so a broken runbook stops the build with located diagnostics. Beyond that, ``mkdocs build``
writes into a staging folder beside ``site_dir``, and the finished site replaces the published one in one
rename only after the build, its checks and (with ``--strict``) its warnings allow it: a build that fails or is
killed at any moment leaves the last good site complete (``publish``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import importlib
import os
import re
import threading
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.bccache
from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import BasePlugin, CombinedEvent, event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel

from . import csp, publish, safe, sidework
from .alerts import Coverage
from .alerts import check as check_alerts
from .diagnostics import Diagnostic
from .loader import Document, digest
from .render import kept
from .render.lists import alerts_page
from .render.site import SiteRenderer, severity_css
from .sitemap import PAGES
from .validate import Project, load_project, safe_view

if TYPE_CHECKING:
    from .binder import PrintPage
    from .render.blocks import Page

log = get_plugin_logger(__name__)

ASSETS = Path(__file__).parent / "assets"
MERMAID_JS = "assets/runbinder/mermaid.min.js"
IFRAME_WORKER_JS = "assets/runbinder/iframe-worker-shim.js"
WORKER_FRAME_JS = "assets/runbinder/worker-frame.js"
STYLESHEET = "assets/runbinder/runbinder.css"
SEVERITY_CSS = "assets/runbinder/severity.css"
# The interactive runbook page (placeholders filled in, ticks, the alerts filter) and its styles and colours: files
# of the site itself, so the Content-Security-Policy's script-src 'self' allows them, offline and from file://.
INTERACTIVE_JS = "assets/runbinder/runbinder.js"
INTERACTIVE_CSS = "assets/runbinder/interactive.css"
PRINT_PAGE = "print.html"
CACHE_DIR = ".runbinder-cache"
_DIAGRAM = re.compile(r'<(?:pre|div) class="mermaid"')


def _cache_dir(config: MkDocsConfig) -> Path:
    """``.runbinder-cache`` beside mkdocs.yml: check verdicts and findings, highlighted commands, the site check's
    reading, diagrams."""
    return Path(config.config_file_path or ".").resolve().parent / CACHE_DIR


class RunbinderConfig(Config):
    """Options of the ``runbinder`` plugin in mkdocs.yml."""

    runbooks_dir = c.Type(str, default="runbooks")
    """Directory holding catalog.yaml and the runbooks, relative to mkdocs.yml."""

    offline = c.Type(bool, default=True)
    """Serve mermaid, the search shim and the stylesheet from the site itself: no CDN request, works from file://."""

    nav = c.Choice(("auto", "full", "overview", "off"), default="auto")
    """The navigation generated when mkdocs.yml has no ``nav``. ``full``: overview pages, then each service with its
    runbooks. ``overview``: the overview pages only; service and runbook pages are reached from the services and
    runbooks indexes, links and search. Material writes the whole navigation into every page, so a full navigation
    costs time proportional to pages x pages: ``auto`` (the default) is ``full`` up to ``nav_full_limit``
    runbooks and ``overview`` above. ``off``: MkDocs' own navigation (every page)."""

    nav_full_limit = c.Type(int, default=300)
    """With ``nav: auto``, the largest number of runbooks that still gets the full navigation."""

    checks = c.Choice(("off", "offline", "online"), default="offline")
    """Run `runbinder check` during the build (commands, links in the YAML, review dates; ``online`` also fetches
    external links). Findings are logged as warnings, so `mkdocs build --strict` fails on them."""

    stale = c.Choice(("banner", "warning"), default="banner")
    """Runbooks overdue for review always get a banner on their page; ``warning`` also makes them build
    warnings, so `mkdocs build --strict` fails on stale runbooks."""

    todo = c.Choice(("info", "warning"), default="info")
    """Placeholders whose description is still a TODO (as `runbinder import` leaves them) are shown as such on the
    page and logged as information; ``warning`` makes them build warnings, so `mkdocs build --strict` fails."""

    check_site = c.Type(bool, default=True)
    """After the build, check that every href, src and #fragment of every page resolves (no network)."""

    print_page = c.Type(bool, default=True)
    """Add print.html: the whole binder as one page, for printing from a browser."""

    binder_pdf = c.Optional(c.Type(str))
    """Also print the binder to this PDF inside site_dir (e.g. binder.pdf); needs a Chromium."""

    site_url_qr = c.Type(bool, default=True)
    """With ``site_url`` set, print a QR code of each runbook's page in the binder."""

    diagrams = c.Choice(("material", "mermaid2"), default="material")
    """Who renders the flowcharts. ``material`` (the default): Material's own mermaid support, with a superfences
    fence that HTML-escapes the diagram source. ``mermaid2``: mkdocs-mermaid2-plugin, for sites that already use
    it (see examples/mermaid2/mkdocs.yml); runbinder then adds no Material fence, and mermaid2's fence, which does
    not HTML-escape, when none is configured; slower, since mermaid2 re-parses every page. With ``offline``
    both modes load the local mermaid copy, never a CDN."""

    configure_markdown = c.Type(bool, default=True)
    """Enable the Markdown extensions the generated pages use (admonition, attr_list, tables, superfences with a
    mermaid fence, tasklist, highlight) when mkdocs.yml does not list them."""

    csp = c.Type(bool, default=True)
    """Give every page a Content-Security-Policy (a ``<meta>`` tag): scripts only from the site itself plus the
    exact hashes of the theme's own inline scripts, no plugins, no frames, images from the site or ``data:``.
    A second wall behind the sanitizer; turn it off only for a theme or plugin whose inline scripts it blocks.
    Not applied under ``mkdocs serve`` (its live-reload script is inline)."""

    staged = c.Type(bool, default=True)
    """Build into a staging folder beside site_dir and replace the published site in one step only when the
    build succeeded: a failed, strict-failed or killed build never costs the last good site."""

    parallel = c.Type(bool, default=True)
    """`mkdocs build` does its own work on a second core where it can: forked children load half of the runbooks,
    make part of the pages, and run the checks, print.html and the site link check while MkDocs renders. The
    result is the same either way; ``false`` does it all in the one process (MkDocs serve always does)."""

    alert_rules = c.ListOfItems(c.Type(str), default=[])
    """Prometheus rule files and Kubernetes PrometheusRule manifests (files, folders or globs, relative to
    mkdocs.yml) to keep in step with the runbooks, as `runbinder alerts` checks them: rules without a runbook, a
    runbook_url that is not the alert's page under ``site_url``, rules two runbooks claim, runbook alerts no rule
    fires. Findings are build warnings, so `mkdocs build --strict` fails on them. The alerts index then shows each
    alert's rules: expression, ``for``, severity and summary."""


class RunbinderPlugin(BasePlugin[RunbinderConfig]):
    """Turns a directory of runbook YAML into site pages."""

    supports_multiple_instances = False

    def __init__(self) -> None:
        self.project: Project | None = None
        self.root: Path | None = None
        # MkDocs keeps one plugin instance for the whole of `mkdocs serve`, so these survive rebuilds:
        self.serving = False
        self.documents: dict[Path, Document] = {}  # parsed, schema-checked files by path (reused if bytes match)
        self.built: dict[str, str] = {}  # digest of each generated page's content at the last finished build
        self.building: dict[str, str] = {}
        self.dirty = False
        self.stage: publish.Stage | None = None
        self.policy: csp.Policy | None = None
        self.coverage: Coverage | None = None  # the alert rules checked against the runbooks (alert_rules)
        self.rendered: dict[str, tuple[str, str]] = {}  # each page's URL and HTML content, by source path
        self.check_memo: dict[tuple[str, str, str], list[Any]] = {}  # findings by (context, file name, digest)
        self.page_memo: dict[str, Any] = {}  # runbook pages of the last build, with what each depended on
        self.reference_memo: dict[tuple[str, str, str], list[Diagnostic]] = {}  # each runbook's reference findings
        # `mkdocs build` runs its checks, and makes print.html, beside MkDocs in forked children (sidework):
        self.checks: Callable[[], list[Diagnostic]] | None = None
        self.side: sidework.Child[list[Diagnostic]] | None = None
        self.written: str | None = None  # the page MkDocs writes after this event (sent to the checks when written)
        self.keeping: list[Callable[[], None]] = []  # what this build keeps for the next one, written beside it
        self.frozen = False  # whether this build moved the objects alive after loading out of the cycle collector's way
        self.exits = False  # whether the process ends with this build (`mkdocs build`)
        self.left_frozen = 0  # how many objects the last build left frozen for an exit (0: none)

    def on_startup(self, *, command: str, dirty: bool) -> None:
        self.serving = command == "serve"
        self.exits = command == "build"  # `mkdocs build`: the process ends with the build (on_shutdown, then exit)
        self.dirty = dirty
        if self.serving:  # what a rebuild adds to the caches is kept in memory and written when the server stops
            from .checks.cache import defer_writes

            defer_writes()

    def on_shutdown(self) -> None:
        if self.serving:
            from .checks.cache import write_deferred

            write_deferred()

    # -- configuration: validate first, so a broken runbook never costs the last good site

    @event_priority(50)  # before Material's offline plugin adds its CDN polyfill
    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        base = Path(config.config_file_path or ".").resolve().parent
        root = (base / self.config.runbooks_dir).resolve()
        if not (root / "catalog.yaml").is_file() and not (root / "catalog.yml").is_file():
            raise PluginError(f"runbinder: {root} has no catalog.yaml (set plugins.runbinder.runbooks_dir)")
        self.root = root
        self.keeping = []
        if not self.serving:  # files that loaded cleanly in the last build, kept by it (render/kept.py)
            self.documents = kept.load_documents(_cache_dir(config))
            # Pages another build in this process rendered are not this build's (MkDocs keeps one plugin instance
            # per process): a page renamed or gone since must not reach print.html or the binder from there.
            self.rendered = {}
        known = dict(self.documents)
        memo = self.reference_memo if self.serving else None
        self.project = load_project(root, None, base, self.documents, beside=self._parallel(), memo=memo)
        if not self.serving:
            self.keeping.append(
                functools.partial(kept.save_documents, _cache_dir(config), self.project.documents, known)
            )
        errors = [d for d in self.project.diagnostics if d.level == "error"]
        for diagnostic in sorted(self.project.diagnostics):
            if diagnostic.level == "error":
                log.error(diagnostic.text())
            elif diagnostic.rule == "variable.todo" and self.config.todo == "info":
                log.info(diagnostic.text())  # the page shows the TODO; an imported site builds --strict as imported
            else:
                log.warning(diagnostic.text())
        if errors:
            raise PluginError(
                f"runbinder: {len(errors)} error(s) in {self.config.runbooks_dir}/; nothing was built and "
                f"{config.site_dir} was left as it was. Run `runbinder validate` for the same report."
            )
        self.coverage = self._check_alert_rules(config, base) if self.config.alert_rules else None
        if self.config.diagrams == "mermaid2" and "mermaid2" not in config.plugins:
            log.warning("diagrams: mermaid2 is set but the mermaid2 plugin is not enabled in mkdocs.yml")
        if self.config.configure_markdown:
            _configure_markdown(config, self.config.diagrams)
        # Not optional: runbook prose reaches pages only as cleaned HTML fragments, which this extension places.
        if FRAGMENTS_EXTENSION not in config.markdown_extensions:
            config.markdown_extensions.append(FRAGMENTS_EXTENSION)
        if self.config.offline:
            config.extra_css.append(STYLESHEET)
            config.extra_css.append(SEVERITY_CSS)
            config.extra_css.append(INTERACTIVE_CSS)
            # The local mermaid copy, on every page. Material fetches mermaid from a CDN only while window.mermaid
            # is undefined. mermaid2 (whose on_config runs after this one, priority 0 < 50) takes the first
            # extra_javascript entry whose basename contains "mermaid" as the library and then adds no <script src>
            # and never looks at its `javascript` option (a CDN URL by default; a local path there must exist in
            # docs_dir, which a generated file does not).
            config.extra_javascript.append(MERMAID_JS)
            config.extra_javascript.append(INTERACTIVE_JS)
            polyfills = [p for p in config.extra.get("polyfills", []) if "iframe-worker" not in str(p)]
            config.extra["polyfills"] = [*polyfills, IFRAME_WORKER_JS]
        if not self.serving:
            self._freeze()
        return config

    def _freeze(self) -> None:
        """The loaded project lives as long as the build: the cycle collector need not walk it again and again while
        MkDocs renders (a third of its time on a large project), nor touch its pages in the memory the build's child
        shares with this process until either writes them. Handed back after the build (``_unfreeze``), except
        under `mkdocs build`, which exits right after it: the interpreter's last collection at exit would walk them
        all once more (0.17 s at 1,000 runbooks). Python has one frozen generation for the whole process: nothing
        is frozen here when something else froze objects (handing back ours would hand back theirs)."""
        if 0 < gc.get_freeze_count() <= self.left_frozen:  # frozen objects freed since leave the generation
            # A `mkdocs build` ran in this process before (a test run, a host driving the command) and the exit its
            # objects were left frozen for did not come: handed back, and what is garbage of it collected (unless
            # something froze or thawed objects since: then they are not only ours).
            gc.unfreeze()
            gc.collect()
        self.left_frozen = 0
        if not self.frozen and gc.get_freeze_count() == 0:
            gc.freeze()
            self.frozen = True

    # -- pages

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        assert self.project is not None
        docs_pages = frozenset(f.src_uri for f in files.documentation_pages())
        renderer = SiteRenderer(
            self.project.index, today=_today(), directory_urls=config.use_directory_urls, docs_pages=docs_pages
        )
        # Highlighted commands are kept beside the check verdicts: a second build highlights only what changed.
        safe.HIGHLIGHTS = safe.HighlightStore(_cache_dir(config))
        stream: _PageStream | None = None
        try:
            if self.serving:  # pages are remembered in memory, page by page
                pages = renderer.pages(self.page_memo)
            else:  # the last build's pages are kept on disk, and read back when nothing they were made from changed
                pages, stream = self._pages(renderer, config)
            if self.coverage is not None:  # the alerts index with the rules that fire each alert
                if stream is None:
                    pages[PAGES["alerts"]] = alerts_page(renderer, self.coverage)
                else:
                    stream.shown[PAGES["alerts"]] = functools.partial(alerts_page, renderer, self.coverage)
        finally:
            if stream is None:  # else the child that makes the pages keeps them
                safe.HIGHLIGHTS.save()  # a convenience: one that cannot be written only costs the next build time
                safe.HIGHLIGHTS = None
        self.building = {}  # a build that failed after this point must not count as built
        full_nav = self._nav_mode(config, len(self.project.index.runbooks)) != "overview"
        generated = set()
        streamed = stream.makers if stream is not None else {}
        for path in [*streamed, *pages]:
            if files.get_file_from_path(path) is not None:
                if path == "index.md":
                    if stream is not None:
                        stream.unread.add(path)
                    continue  # a hand-written home page wins
                raise PluginError(f"runbinder: docs/{path} would be replaced by a generated page; rename it")
            # In an overview navigation, service and runbook pages are left out of it on purpose: no warning.
            left_out = not full_nav and path.startswith(("services/", "runbooks/")) and not path.endswith("index.md")
            inclusion = InclusionLevel.NOT_IN_NAV if left_out else InclusionLevel.UNDEFINED
            if path in streamed:
                assert stream is not None
                page = StreamedPage.generated(config, path, content="", inclusion=inclusion)
                assert isinstance(page, StreamedPage)  # File.generated constructs its own class
                page.stream(stream)
            else:
                document = pages[path].document()
                page = GeneratedPage.generated(config, path, content=document, inclusion=inclusion)
                assert isinstance(page, GeneratedPage)
                self.building[path] = digest(document.encode("utf-8"))
                page.unchanged = self.built.get(path) == self.building[path]
            files.append(page)
            generated.add(path)
        if self.config.offline:
            vendor = ASSETS / "vendor"
            files.append(File.generated(config, MERMAID_JS, abs_src_path=str(vendor / "mermaid" / "mermaid.min.js")))
            files.append(File.generated(config, IFRAME_WORKER_JS, abs_src_path=str(ASSETS / "iframe-worker-shim.js")))
            files.append(File.generated(config, WORKER_FRAME_JS, abs_src_path=str(ASSETS / "worker-frame.js")))
            files.append(File.generated(config, STYLESHEET, abs_src_path=str(ASSETS / "runbinder.css")))
            files.append(File.generated(config, INTERACTIVE_CSS, abs_src_path=str(ASSETS / "interactive.css")))
            files.append(File.generated(config, INTERACTIVE_JS, abs_src_path=str(ASSETS / "runbinder.js")))
            severities = [e.data for e in self.project.index["severities"].values()]
            files.append(File.generated(config, SEVERITY_CSS, content=severity_css(severities)))
        for path, source in self.project.index.files.items():  # the project's images, at the path links name them by
            if path.endswith(".md"):
                continue  # shared pages are generated pages, above
            if files.get_file_from_path(path) is not None:
                raise PluginError(f"runbinder: docs/{path} would be replaced by the project's {path}; rename one")
            files.append(File.generated(config, path, abs_src_path=str(source)))
        # print.html and the binder PDF are made after the build from the HTML MkDocs rendered (on_post_build);
        # here they are only announced, so the navigation can name them.
        if self.config.print_page:
            files.append(File.generated(config, PRINT_PAGE, content=""))
        if self.config.binder_pdf and files.get_file_from_path(self.config.binder_pdf) is None:
            files.append(File.generated(config, self.config.binder_pdf, content=b""))
        if self.config.nav != "off" and config.nav is None:
            extra = sorted(
                f.src_uri for f in files.documentation_pages() if f.src_uri not in generated and f.src_uri != "index.md"
            )
            printable = [{"Printable binder": PRINT_PAGE}] if self.config.print_page else []
            if self.config.binder_pdf:
                printable.append({"Binder (PDF)": self.config.binder_pdf})
            config.nav = renderer.nav(full=full_nav, printable=printable, authors=extra)
        if not self.serving:
            self._start_checks(config, files, stream)
        return files

    def _pages(self, renderer: SiteRenderer, config: MkDocsConfig) -> tuple[dict[str, Page], _PageStream | None]:
        """The pages of `mkdocs build`: read back when the last build kept them and nothing they are made from
        changed. Otherwise, when a child can be forked, the pages a child is to make (the stream: it starts with the
        checks, once the files are known, and sends each page as it is made, in the order MkDocs reads them, so
        that MkDocs converts the first while the child makes the next); else made here. Shared pages are always
        made here."""
        keep = _cache_dir(config)
        site = kept.site_key(renderer)
        pages = kept.load(keep, site)
        if pages is not None:
            log.debug(f"the generated pages of the last build were read back ({CACHE_DIR}/pages.json)")
            return {**pages, **renderer.shared()}, None
        makers = renderer.makers()
        if self._parallel() and len(renderer.runbooks) >= _STREAM_FROM and sidework.can_fork():
            return renderer.shared(), _PageStream(makers, keep, site)
        pages = {path: make() for path, make in makers.items()}
        self.keeping.append(functools.partial(kept.save, keep, site, dict(pages)))
        return {**pages, **renderer.shared()}, None

    @event_priority(50)
    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        # Still before MkDocs cleans site_dir: from here on it cleans and fills the staging folder instead.
        if self.config.staged and not self.serving:
            self.stage = publish.Stage.begin(Path(config.site_dir), keep_existing=self.dirty)
            config.site_dir = str(self.stage.staging)
        self.checks = self._checks(config)
        self.written = None
        if self.serving and self.checks is not None:  # in process, keeping findings: only changed files' items run
            for diagnostic in self.checks():
                log.warning(diagnostic.text())

    def _start_checks(self, config: MkDocsConfig, files: Files, stream: _PageStream | None) -> None:
        """`mkdocs build` makes this plugin's pages (``stream``, unless they were read back), checks the commands,
        reads each page for the site link check as soon as it is written, and makes print.html from the pages as
        MkDocs renders them, in a forked child (sidework). Without a child all of it is done here."""
        site = bool(self.config.check_site)
        urls = {f.src_uri: f.url for f in files.documentation_pages(inclusion=InclusionLevel.is_included)}
        printer = self._print_page(config, urls)
        keeping, self.keeping = self.keeping, []
        wanted = self.checks is not None or site or printer is not None or stream is not None
        if wanted and self._parallel() and sidework.can_fork():
            work = functools.partial(
                _side_work, keeping, self.checks, printer, Path(config.site_dir), site, _cache_dir(config), stream
            )
            try:
                self.side = sidework.Child(work, "checks")
            except OSError as exc:  # no fork to be had (process or memory limits): all of it is done here
                log.debug(f"no child for the checks: {exc}")
            else:
                if stream is not None:
                    stream.child = self.side
                    safe.HIGHLIGHTS = None  # the child keeps those it highlights
                log.debug(f"pages, checks and print.html are made beside the build, in process {self.side.pid}")
                return
        if stream is not None:
            stream.make_here()
        for keep in keeping:
            keep()
        if self.checks is not None:
            for diagnostic in self.checks():
                log.warning(diagnostic.text())

    def _parallel(self) -> bool:
        """Whether this build may fork children for its work (sidework decides whether it can)."""
        return bool(self.config.parallel) and not self.serving

    def _checks(self, config: MkDocsConfig) -> Callable[[], list[Diagnostic]] | None:
        """The command and link checks of the runbooks, as configured; None when they are off."""
        if self.config.checks == "off" or self.project is None:
            return None
        from .checks.runner import CheckOptions, Runner, run_remembered

        options = CheckOptions(
            online=self.config.checks == "online",
            today=_today(),
            docs_dir=Path(config.docs_dir),
            ignore=("review",) if self.config.stale == "banner" else (),
        )
        options.online_options.cache_dir = options.cache_dir = _cache_dir(config)
        # Under `mkdocs serve` only the items of changed files are selected and checked again (the others' findings
        # are kept).
        project = self.project
        if self.serving:
            memo = self.check_memo
            return lambda: sorted(run_remembered(project, options, memo))
        return lambda: sorted(Runner(project, options).run_all())

    def on_page_content(self, html: str, /, *, page: Any, config: MkDocsConfig, files: Files) -> str:
        # A diagram's source is not text to find: Material's search (which reads page.content after this event)
        # skips any element marked data-search-exclude.
        return _DIAGRAM.sub(r"\g<0> data-search-exclude", html) if "mermaid" in html else html

    @event_priority(-100)  # after other plugins changed the content
    def on_page_context(self, context: Any, /, *, page: Any, config: MkDocsConfig, nav: Any) -> Any:
        # The page's HTML as MkDocs rendered it, for print.html and the binder: no page is converted twice. Kept
        # across `mkdocs serve` rebuilds, where a dirty build renders only the pages that changed.
        if self.config.print_page or self.config.binder_pdf:
            self.rendered[page.file.src_uri] = (page.url, page.content or "")
            if self.side is not None and self.config.print_page:
                self.side.send(("page", (page.file.src_uri, page.url, page.content or "")))
        return context

    def on_env(self, env: Any, /, *, config: MkDocsConfig, files: Files) -> Any:
        if self.config.csp and not self.serving:
            self.policy = csp.Policy.for_theme(config.theme.dirs, extra_scripts=_plugin_scripts(config))
        if self.serving and env.bytecode_cache is None:
            # Each rebuild loads the config again, and with it a new template environment that would compile every
            # theme template again (0.15 s a rebuild): compiled templates are kept in memory, by source checksum.
            env.bytecode_cache = _TEMPLATE_CODE
        return env

    @event_priority(-100)  # after plugins that add inline scripts (mermaid2), so they are seen and hashed
    def on_post_page(self, output: str, /, *, page: Any, config: MkDocsConfig) -> str:
        if self.side is not None:  # MkDocs writes a page after this event: the one before this page is written
            if self.written is not None:
                self.side.send(("written", self.written))
            self.written = page.file.abs_dest_path
        if self.policy is None:
            return output
        return self.policy.apply(output)

    @event_priority(100)  # first: the child makes print.html while the other plugins finish
    def _post_build_first(self, *, config: MkDocsConfig) -> None:
        if self.side is not None:
            self.side.send(("pages", None))

    def _print_page(self, config: MkDocsConfig, urls: Mapping[str, str] | None = None) -> Printer | None:
        """What makes print.html from the rendered pages (``urls``: every page's, known before they are rendered),
        or None when this build makes none."""
        if not self.config.print_page or self.project is None:
            return None
        large = len(self.project.index.runbooks) > self.config.nav_full_limit
        if self.serving and large:
            log.info("print.html is not rebuilt under `mkdocs serve` for a site this large; `mkdocs build` makes it")
            return None
        from .binder import BinderOptions, PrintPage

        options = BinderOptions(today=_today(), site_url=self._qr_url(config))
        return Printer(PrintPage(self.project.index, options, urls or {}), self.config.binder_pdf)

    @event_priority(-1000)  # last: after search and offline have written their files
    def _post_build_last(self, *, config: MkDocsConfig) -> None:
        try:
            self._finish(config)
        finally:
            self._unfreeze()

    def _unfreeze(self) -> None:
        if self.frozen and self.exits:
            self.left_frozen = gc.get_freeze_count()  # for the exit; handed back by the next build if one comes
        elif self.frozen:
            gc.unfreeze()
        self.frozen = self.exits = False  # one build per `mkdocs build`

    def _finish(self, config: MkDocsConfig) -> None:
        self.built, self.building = self.building, {}
        if self.serving:
            from .checks.cache import write_deferred

            write_deferred(unless_within=60)
        site_dir = Path(config.site_dir)
        if self.config.binder_pdf and self.project is not None:
            from .binder import BinderError, BinderOptions, make_binder, site_resolver

            options = BinderOptions(today=_today(), site_url=self._qr_url(config), cache_dir=_cache_dir(config))
            bodies, resolve = site_resolver(self.rendered)
            try:
                output, pages, _ = make_binder(
                    self.project.index, site_dir / self.config.binder_pdf, options, bodies=bodies, resolve=resolve
                )
            except BinderError as exc:
                (site_dir / self.config.binder_pdf).unlink(missing_ok=True)  # the announced file: not a PDF
                log.warning(f"binder not printed: {exc}")
            else:
                published = (self.stage.target if self.stage else site_dir) / self.config.binder_pdf
                log.info(f"binder printed to {published} ({pages} pages; {output.name} in the new site)")
        for diagnostic in self._findings(config):
            log.warning(diagnostic.text())
        if self.stage is not None:
            stage, self.stage = self.stage, None
            config.site_dir = str(stage.target)
            warnings = publish.strict_warnings() if config.strict else 0
            if warnings:
                stage.abandon()
                log.error(
                    f"runbinder: {warnings} warning(s) in strict mode: the new site was not published; "
                    f"{stage.target} still holds the last good site."
                )
            else:
                stage.commit()

    on_post_build = CombinedEvent(_post_build_first, _post_build_last)

    def _findings(self, config: MkDocsConfig) -> list[Diagnostic]:
        """The findings of the checks `mkdocs build` runs beside itself, after print.html is written; or of the
        same work done here, when there was no child or it failed."""
        site = self.config.check_site and not self.serving  # a publishing check: `mkdocs build` runs it
        found = []  # without a child the checks ran in on_pre_build (serve) or on_files
        if self.side is not None:
            side, self.side = self.side, None
            if self.written is not None:
                side.send(("written", self.written))
            side.send(("finish", None))
            outcome = side.result()
            if outcome is not None:
                return outcome
            log.debug(f"the checks and print.html are made here; their child failed: {side.failure}")
            found = self.checks() if self.checks is not None else []
        if (printer := self._print_page(config)) is not None:
            from .atomic import write_atomically

            keep = None if self.serving else _cache_dir(config)
            write_atomically(Path(config.site_dir) / PRINT_PAGE, printer.html(self.rendered, keep), sync=False)
        if site:
            from .checks.links import check_site

            found += check_site(Path(config.site_dir), "site", _cache_dir(config))
        return found

    def on_build_error(self, *, error: Exception) -> None:
        self._unfreeze()
        safe.HIGHLIGHTS = None  # made pages before the build failed (or was to hand them to a child)
        if self.side is not None:
            self.side.cancel()
            self.side = None
        if self.stage is not None:
            stage, self.stage = self.stage, None
            stage.abandon()
            log.error(f"runbinder: the build failed: the new site was not published; {stage.target} is unchanged.")

    def _nav_mode(self, config: MkDocsConfig, runbooks: int) -> str:
        mode = str(self.config.nav)
        if mode == "auto" and config.nav is None:
            mode = "full" if runbooks <= self.config.nav_full_limit else "overview"
            if mode == "overview":
                log.info(
                    f"{runbooks} runbooks: the navigation lists the overview pages only (nav_full_limit: "
                    f"{self.config.nav_full_limit}); services and runbooks are reached from their indexes and search"
                )
        return mode

    def _check_alert_rules(self, config: MkDocsConfig, base: Path) -> Coverage:
        assert self.project is not None
        coverage, empty = check_alerts(
            safe_view(self.project).index,
            self.config.alert_rules,
            base,
            base,
            site_url=config.site_url or None,
            directory_urls=config.use_directory_urls,
        )
        for pattern in empty:
            log.warning(f"alert_rules: {pattern!r} matches no rule file")
        for diagnostic in coverage.diagnostics:
            log.warning(diagnostic.text())
        return coverage

    def _qr_url(self, config: MkDocsConfig) -> str | None:
        # Under `mkdocs serve` site_url is the preview server's own address: no QR code leads there from paper.
        return str(config.site_url) if self.config.site_url_qr and config.site_url and not self.serving else None

    def on_serve(self, server: LiveReloadServer, /, *, config: MkDocsConfig, builder: Any) -> LiveReloadServer:
        if self.root is not None:
            server.watch(str(self.root))
        for rule_file in self.coverage.files if self.coverage is not None else ():
            server.watch(str(rule_file.path))
        return server


class GeneratedPage(File):
    """A generated page. Under `mkdocs serve --dirty` it is rebuilt only when its Markdown changed since the last
    build (a runbook edit changes its own page and the pages that list or link to it), not on every save."""

    unchanged = False

    def is_modified(self) -> bool:
        if self.unchanged and os.path.isfile(self.abs_dest_path):
            return False
        return super().is_modified()


def _fetched(content: Any) -> Any:
    """``File``'s content property, reading a streamed page's Markdown first."""

    def get(self: StreamedPage) -> Any:
        self._fetch()
        return content.fget(self)

    return property(get, content.fset)


class StreamedPage(GeneratedPage):
    """A generated page whose Markdown a child is making (``_PageStream``): MkDocs waits for it only when it reads
    the page, by which time the child has usually sent it. Only `mkdocs build` streams pages."""

    _stream: _PageStream | None = None
    _streamed_as = ""

    def stream(self, stream: _PageStream) -> None:
        self._content = None
        self._stream, self._streamed_as = stream, self.src_uri  # a plugin may rename the file before it is read

    def _fetch(self) -> None:
        if self._content is None and self._stream is not None:
            self._content, self._stream = self._stream.document(self._streamed_as), None

    def __getstate__(self) -> dict[str, Any]:
        """A copy (copy.deepcopy, pickle) holds the page's Markdown, not the stream and the child's pipes."""
        self._fetch()
        state = dict(self.__dict__)
        state.pop("_stream", None)
        return state

    content_string = _fetched(File.content_string)
    content_bytes = _fetched(File.content_bytes)

    def is_modified(self) -> bool:
        return True


_STREAM_FROM = 40  # runbooks: below this, a child making the pages costs about what it saves


class _PageStream:
    """The pages of one `mkdocs build`, made by its side child (``make_and_post``) and read by MkDocs in this
    process, page by page (``document``), in the order the child makes them. A page the child did not send (it
    failed or died) is made here when it is read, from the same makers, so the site is the same either way."""

    def __init__(self, makers: dict[str, Callable[[], Page]], keep: Path, site: str) -> None:
        self.makers = makers  # the kept pages: exactly what ``kept.save`` keeps for the next build
        self.shown: dict[str, Callable[[], Page]] = {}  # pages shown instead of the kept one (the alerts index)
        self.keep, self.site = keep, site
        self.child: sidework.Child[Any] | None = None
        self.documents: dict[str, str] = {}  # received (the same strings the pages hold once MkDocs read them)
        self.unread: set[str] = set()  # made for keeping only (a hand-written home page wins)

    def document(self, path: str) -> str:
        """The Markdown document of page ``path``, waiting for the child to send it if need be. Asked again (a
        plugin may copy a file before MkDocs reads it), it is the same document."""
        if path not in self.makers or path in self.unread:
            raise KeyError(path)  # never waited for: the child sends only these
        while path not in self.documents:
            part = self.child.receive() if self.child is not None else None
            if part is None:  # no child (any more): made here
                self.child = None
                self.documents[path] = self._made(path).document()
                break
            sent, document, fragments = part
            safe.FRAGMENTS.store.update(fragments)
            self.documents[sent] = document
        return self.documents[path]

    def make_here(self) -> None:
        """Without a child: every page made now, in this process, and kept for the next build."""
        made = {path: make() for path, make in self.makers.items()}
        self.documents = {path: self._made(path, made[path]).document() for path in made}
        self._keep(made)

    def make_and_post(self) -> None:
        """In the child: each page posted as it is made, with the fragments the parent does not have yet; then the
        pages and the highlighted commands kept for the next build."""
        made: dict[str, Page] = {}
        sent: set[str] = set()
        store = safe.FRAGMENTS.store
        for path, make in self.makers.items():
            page = made[path] = make()
            if path in self.unread:
                continue
            document = self._made(path, page).document()
            fragments = {}
            for marker in safe.FRAGMENTS.pattern.finditer(document):
                if (key := marker.group(1)) not in sent:
                    sent.add(key)
                    fragments[key] = store.get(key, "")
            sidework.post((path, document, fragments))
        self._keep(made)

    def _keep(self, made: dict[str, Page]) -> None:
        """The pages and the commands highlighted while making them, kept for the next build."""
        kept.save(self.keep, self.site, made)
        if safe.HIGHLIGHTS is not None:
            safe.HIGHLIGHTS.save()
            safe.HIGHLIGHTS = None

    def _made(self, path: str, page: Page | None = None) -> Page:
        shown = self.shown.get(path)
        if shown is not None:
            return shown()
        return page if page is not None else self.makers[path]()


FRAGMENTS_EXTENSION = "runbinder.safe:FragmentExtension"


def _plugin_scripts(config: MkDocsConfig) -> list[str]:
    """Inline scripts other plugins add on purpose (so the policy allows exactly them)."""
    scripts = []
    mermaid2 = config.plugins.get("mermaid2")
    if mermaid2 is not None:
        scripts += csp.mermaid2_scripts(mermaid2)
    return scripts


def _today() -> date:
    """Today, or SOURCE_DATE_EPOCH's day for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc).date()
    return date.today()


def _configure_markdown(config: MkDocsConfig, diagrams: str = "material") -> None:
    """Enable the extensions the generated pages need, and a ``mermaid`` fence unless one is configured.

    ``material``: pymdownx's fence_code_format (``<pre class="mermaid"><code>``, HTML-escaped), which Material
    renders. ``mermaid2``: mermaid2's own fence_mermaid (``<div class="mermaid">``, NOT HTML-escaped), which
    mermaid2 renders; without a mermaid fence the superfences added here would turn the diagrams into highlighted
    code blocks that mermaid2 does not recognise.
    """
    wanted: dict[str, dict[str, Any]] = {
        "admonition": {},
        "attr_list": {},
        "tables": {},
        "toc": {"permalink": True},
        "pymdownx.details": {},
        "pymdownx.highlight": {"anchor_linenums": False},
        "pymdownx.inlinehilite": {},
        "pymdownx.tasklist": {"custom_checkbox": True},
        "pymdownx.superfences": {},
    }
    for name, options in wanted.items():
        if name not in config.markdown_extensions:
            config.markdown_extensions.append(name)
            config.mdx_configs[name] = options
    fences = config.mdx_configs.setdefault("pymdownx.superfences", {}).setdefault("custom_fences", [])
    if any(f.get("name") == "mermaid" for f in fences):
        return  # the site's own choice wins
    if diagrams == "mermaid2":
        try:
            mermaid2 = importlib.import_module("mermaid2")  # optional and untyped: not a static import
        except ImportError:
            log.warning("diagrams: mermaid2 is set but mkdocs-mermaid2-plugin is not installed")
            return
        fences.append({"name": "mermaid", "class": "mermaid", "format": mermaid2.fence_mermaid})
    else:
        from pymdownx.superfences import fence_code_format

        fences.append({"name": "mermaid", "class": "mermaid", "format": fence_code_format})


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates of this process, in memory (Jinja checks each against its source's checksum)."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if (code := self.code.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_CODE = _CompiledTemplates()


@dataclasses.dataclass
class Printer:
    """print.html for this build: made ready page by page (``page.add``), written from ``html``."""

    page: PrintPage
    pdf_link: str | None

    def html(
        self,
        rendered: Mapping[str, tuple[str, str]],
        keep: Path | None = None,
        later: list[Callable[[], None]] | None = None,
    ) -> bytes:
        """print.html; with ``keep`` (a cache folder), the one a build made from the very same pages is read back,
        or the one made here is kept there for the next build (by a function appended to ``later``, if given)."""
        return self.html_read(rendered, keep, later)[0]

    def html_read(
        self,
        rendered: Mapping[str, tuple[str, str]],
        keep: Path | None = None,
        later: list[Callable[[], None]] | None = None,
        read_whole: Callable[[str], Any] | None = None,
    ) -> tuple[bytes, list[Any] | None]:
        """``html``, and when print.html was made here from sections read as they were made ready (``PrintPage``
        with a reader), the readings it is made of (``PrintPage.html_read``); else None."""
        key = None
        if keep is not None:
            settings = repr((self.page.options, MERMAID_JS, self.pdf_link))
            key = kept.print_key(self.page.renderer, settings, rendered)
            data = kept.load_print_page(keep, key)
            if data is not None:
                return data, None
        text, readings = self.page.html_read(rendered, MERMAID_JS, self.pdf_link, read_whole)
        data = text.encode("utf-8")
        if keep is not None and key is not None:
            saving = functools.partial(kept.save_print_page, keep, key, data)
            saving() if later is None else later.append(saving)
        return data, readings


def _side_work(
    keeping: list[Callable[[], None]],
    checks: Callable[[], list[Diagnostic]] | None,
    printer: Printer | None,
    site_dir: Path,
    site: bool,
    cache_dir: Path,
    stream: _PageStream | None,
    inbox: sidework.Inbox[Any],
) -> list[Diagnostic]:
    """In the child: the pages of ``stream``, each posted to the parent as it is made; what this build keeps for
    the next one, and the checks; then each page as MkDocs renders it (for print.html) and writes it (read for the
    site link check); print.html once every page is rendered; the site link check over all of them at the end."""
    from .atomic import write_atomically
    from .checks.cache import VerdictCache
    from .checks.links import (
        Reading,
        Seen,
        check_site,
        joined,
        page_reading,
        part_reading,
        read_ahead,
        read_seen,
        whole_reading,
    )

    if stream is not None:
        stream.make_and_post()
    if site and printer is not None:  # each section of print.html read as it is made ready, not the page at the end
        printer.page.read = part_reading
    for keep in keeping:
        keep()
    keeping = []
    found = checks() if checks is not None else []
    if site:  # parsed now, while MkDocs renders, not at the end: the link check finds it parsed (checks/cache.py)
        VerdictCache(cache_dir, name="site.json")
    rendered: dict[str, tuple[str, str]] = {}
    saving: threading.Thread | None = None
    readings: dict[str, Reading] = {}
    seen: dict[str, Seen] = {}
    while (message := inbox.get()) is not None:
        kind, value = message
        if kind == "page":
            src_uri, url, content = value
            rendered[src_uri] = (url, content)
            if printer is not None:
                printer.page.add(src_uri, url, content)
        if kind in ("pages", "finish") and printer is not None:  # "finish" without "pages" too: always written
            data, parts = printer.html_read(rendered, cache_dir, keeping, whole_reading if site else None)
            printer = None
            write_atomically(site_dir / PRINT_PAGE, data, sync=False)
            # print.html kept for the next build (tens of megabytes hashed and written, which release the
            # interpreter) meanwhile, not after the site link check: the build is waiting for this child now.
            saving = threading.Thread(target=_run_all, args=(keeping,), name="runbinder-keep")
            saving.start()
            keeping = []
            if site:  # read now, while MkDocs finishes, not after: the largest page of the site
                known = joined(parts) if parts is not None else None
                seen[PRINT_PAGE], read = read_ahead(site_dir / PRINT_PAGE, data, cache_dir, known)
                if read is not None:
                    readings[read[0]] = read[1]
        if kind == "written" and site:
            try:
                data, seen_as = read_seen(Path(value))
            except OSError:
                continue  # check_site reads what is there at the end
            key, reading = page_reading(data)
            readings[key] = reading
            with contextlib.suppress(ValueError):  # a page outside site_dir is read again by check_site
                seen[Path(value).relative_to(site_dir).as_posix()] = seen_as
        elif kind == "finish":
            found += check_site(site_dir, "site", cache_dir, readings, seen) if site else []
            if saving is not None:
                saving.join()
            return found
    raise EOFError("the build ended before its checks")


def _run_all(work: list[Callable[[], None]]) -> None:
    """What a build keeps for the next one, in a thread: a failure there only costs the next build time."""
    for do in work:
        try:
            do()
        except Exception as exc:  # a thread's traceback would reach the terminal
            log.debug(f"not kept for the next build: {exc!r}")
