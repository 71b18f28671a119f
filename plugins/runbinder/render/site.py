"""Every page of the runbook site, from a validated project: one module per page kind, assembled here."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import safe, sidework
from ..schemas import load_schemas
from ..sitemap import PAGES, page_paths, runbook_page, service_page
from . import blocks as b
from . import kept
from .base import Renderer
from .checklists import checklists_page
from .contacts import contacts_page, roles_page
from .escalation import escalation_page
from .home import home
from .lists import alerts_page, runbooks_index, tags_page
from .runbook import runbook
from .schema_ref import schema_reference
from .services import service, services_index
from .severity import severity_css, severity_page
from .shared import read_page, shared_page
from .templates import templates_page
from .tools import tools_page

__all__ = ["SiteRenderer", "severity_css"]


class SiteRenderer(Renderer):
    """Renders the site for one project. ``pages()`` returns {docs path: Page}."""

    read_back = False
    """Whether the last ``pages()`` read the pages kept by an earlier build instead of making them."""

    def pages(
        self,
        memo: dict[str, Any] | None = None,
        beside: bool = False,
        keep: Path | None = None,
        later: list[Callable[[], None]] | None = None,
    ) -> dict[str, b.Page]:
        """Every generated page. ``memo`` (kept by a long-lived caller: the MkDocs plugin under `mkdocs serve`)
        holds the runbook pages of the last call with what each depended on; a runbook's page is made again only
        when its file, the site's context (catalogs, settings, pages, date) or what it read of other runbooks (their
        titles, the pages that link to it) changed. Its fragments are still in ``safe.FRAGMENTS`` (never emptied).

        ``beside``: a forked child (sidework) makes part of the runbook pages meanwhile, when one can be started.

        ``keep``: a cache folder where the pages of the last call are kept between processes (``kept``): when they
        were made from exactly what this call would make them from, they are read back instead (without ``memo``).
        Pages made here are kept there for the next call; with ``later``, by a function appended to it (for a
        caller that has this done beside, after the pages are out)."""
        site = kept.site_key(self) if keep is not None and memo is None else None
        out = kept.load(keep, site) if keep is not None and site is not None else None
        self.read_back = out is not None
        if out is None:
            out = self._generated(memo, beside)
            if keep is not None and site is not None:
                saving = functools.partial(kept.save, keep, site, dict(out))
                saving() if later is None else later.append(saving)
        for path, source in self.shared_pages().items():
            out[path] = shared_page(self, path, source)
        return out

    def _generated(self, memo: dict[str, Any] | None, beside: bool) -> dict[str, b.Page]:
        """Every page but the shared pages (see ``pages``)."""
        runbooks = self.runbooks
        child: sidework.Child[_Made] | None = None
        if beside and memo is None and len(runbooks) >= _BESIDE_FROM and sidework.can_fork():
            # This process also makes the shared pages and merges the child's: it keeps the smaller share.
            cut = len(runbooks) * 2 // 5
            child = sidework.Child(functools.partial(_runbook_pages, self, runbooks[cut:]), "pages")
            runbooks = runbooks[:cut]
        out = {
            page.path: page
            for page in (
                home(self),
                severity_page(self),
                escalation_page(self),
                contacts_page(self),
                roles_page(self),
                services_index(self),
                runbooks_index(self),
                alerts_page(self),
                tags_page(self),
                templates_page(self),
                tools_page(self),
                checklists_page(self),
                b.Page(PAGES["schema"], "Schema reference", schema_reference(load_schemas())),
            )
        }
        for sid in self.table("services"):
            out[service_page(sid)] = service(self, sid)
        remembered: dict[str, Any] = {}
        for rb in runbooks:
            path = runbook_page(rb["id"])
            out[path] = runbook(self, rb) if memo is None else self._remembered(rb, path, memo, remembered)
        if child is not None:
            made = child.result()
            if made is None:  # the child failed: its pages are made here
                made = _runbook_pages(self, self.runbooks[len(runbooks) :], None)
            pages, fragments, highlights = made
            safe.FRAGMENTS.store.update(fragments)
            if highlights and safe.HIGHLIGHTS is not None:
                safe.HIGHLIGHTS.cache.entries.update(highlights)
                safe.HIGHLIGHTS.cache.changed = True
            out.update(pages)
        if memo is not None:
            memo.clear()
            memo.update(remembered)
        return out

    def _remembered(self, rb: dict[str, Any], path: str, memo: dict[str, Any], remembered: dict[str, Any]) -> b.Page:
        entry = self.index.runbooks[rb["id"]]
        base = (self.context_digest(), entry.doc.display, entry.doc.digest, entry.path)
        last = memo.get(path)
        if last is not None and last[0] == base and all(self.still(read) for read in last[1]):
            remembered[path] = last
            return last[2]  # type: ignore[no-any-return]
        self.reads = []
        try:
            page = runbook(self, rb)
        finally:
            reads, self.reads = self.reads, None
        remembered[path] = (base, tuple(reads), page)
        return page

    def shared_pages(self) -> dict[str, Path]:
        """The project's shared pages by site path (``pages/...md``)."""
        return {path: source for path, source in sorted(self.index.files.items()) if path.endswith(".md")}

    def page_paths(self) -> set[str]:
        """The paths of every generated page, without rendering them."""
        return page_paths(self.index)

    def nav(self, full: bool = True, printable: Sequence[Any] = (), authors: Sequence[Any] = ()) -> list[Any]:
        """MkDocs nav: what a responder reads first (home, severity, escalation, alerts, services and runbooks,
        contacts, templates, tools, checklists, the ``printable`` binder), then a group for the people who write the
        runbooks: tags, the schema reference and the site's own pages (``authors``, e.g. about.md). ``full`` lists
        each service with its runbooks. Titles are escaped: themes print navigation titles as HTML."""
        title = safe.nav_title
        services: list[Any] = [{"All services": PAGES["services"]}]
        for sid, svc in self.table("services").items() if full else ():
            children: list[Any] = [{"Overview": service_page(sid)}]
            children += [{title(rb["title"]): runbook_page(rb["id"])} for rb in self.by_service.get(sid, [])]
            services.append({title(svc["name"]): children})
        shared = (
            [{"Shared pages": [{title(read_page(src)[0]): p} for p, src in self.shared_pages().items()]}]
            if self.shared_pages() and full
            else []
        )
        return [
            {"Home": PAGES["home"]},
            {"Severity matrix": PAGES["severity"]},
            {"Escalation": PAGES["escalation"]},
            {"Alerts": PAGES["alerts"]},
            {"Services": services} if full else {"Services": PAGES["services"]},
            {"All runbooks": PAGES["runbooks"]},
            {"Contacts": PAGES["contacts"]},
            {"Roles": PAGES["roles"]},
            {"Communication templates": PAGES["templates"]},
            {"Tools and access": PAGES["tools"]},
            {"Checklists": PAGES["checklists"]},
            *shared,
            *printable,
            {"For runbook authors": [{"Tags": PAGES["tags"]}, {"Schema reference": PAGES["schema"]}, *authors]},
        ]


_BESIDE_FROM = 40  # runbooks: below this, starting a child costs about what it saves
_Made = tuple[dict[str, b.Page], dict[str, str], dict[str, Any]]


def _runbook_pages(renderer: SiteRenderer, runbooks: Sequence[dict[str, Any]], inbox: Any) -> _Made:
    """Runbook pages with the fragments they carry and the highlighted commands newly kept, for the process that
    merges them (in a child: only what it made itself, since the parent has the rest)."""
    if inbox is not None:
        safe.FRAGMENTS.store = {}
    pages = {runbook_page(rb["id"]): runbook(renderer, rb) for rb in runbooks}
    highlights = safe.HIGHLIGHTS.cache if safe.HIGHLIGHTS is not None else None
    new = highlights.entries if inbox is not None and highlights is not None and highlights.changed else {}
    return pages, safe.FRAGMENTS.store if inbox is not None else {}, new
