"""Every page of the runbook site, from a validated project: one module per page kind, assembled here."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import safe
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

    def pages(
        self,
        memo: dict[str, Any] | None = None,
        keep: Path | None = None,
        later: list[Callable[[], None]] | None = None,
    ) -> dict[str, b.Page]:
        """Every generated page. ``memo`` (kept by a long-lived caller: the MkDocs plugin under `mkdocs serve`)
        holds the runbook pages of the last call with what each depended on; a runbook's page is made again only
        when its file, the site's context (catalogs, settings, pages, date) or what it read of other runbooks (their
        titles, the pages that link to it) changed. Its fragments are still in ``safe.FRAGMENTS`` (never emptied).

        ``keep``: a cache folder where the pages of the last call are kept between processes (``kept``): when they
        were made from exactly what this call would make them from, they are read back instead (without ``memo``).
        Pages made here are kept there for the next call; with ``later``, by a function appended to it (for a
        caller that has this done beside, after the pages are out)."""
        site = kept.site_key(self) if keep is not None and memo is None else None
        out = kept.load(keep, site) if keep is not None and site is not None else None
        if out is None:
            out = self._generated(memo)
            if keep is not None and site is not None:
                saving = functools.partial(kept.save, keep, site, dict(out))
                saving() if later is None else later.append(saving)
        out.update(self.shared())
        return out

    def makers(self) -> dict[str, Callable[[], b.Page]]:
        """What makes each page but the shared pages, by path, in the order of ``pages``: a caller may make them
        elsewhere (the MkDocs plugin has a child make them while MkDocs reads the first ones)."""
        made: dict[str, Callable[[], b.Page]] = {
            PAGES[key]: functools.partial(make, self) for key, make in _OVERVIEW_PAGES
        }
        for sid in self.table("services"):
            made[service_page(sid)] = functools.partial(service, self, sid)
        for rb in self.runbooks:
            made[runbook_page(rb["id"])] = functools.partial(runbook, self, rb)
        return made

    def shared(self) -> dict[str, b.Page]:
        """The project's shared pages (never kept: each is made from its own file)."""
        return {path: shared_page(self, path, source) for path, source in self.shared_pages().items()}

    def _generated(self, memo: dict[str, Any] | None) -> dict[str, b.Page]:
        """Every page but the shared pages (see ``pages``)."""
        if memo is None:
            return {path: make() for path, make in self.makers().items()}
        out: dict[str, b.Page] = {}
        remembered: dict[str, Any] = {}
        runbook_paths = {runbook_page(rb["id"]): rb for rb in self.runbooks}
        for path, make in self.makers().items():
            rb = runbook_paths.get(path)
            out[path] = make() if rb is None else self._remembered(rb, path, memo, remembered)
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


def _schema_page(renderer: SiteRenderer) -> b.Page:
    return b.Page(PAGES["schema"], "Schema reference", schema_reference(load_schemas()))


_OVERVIEW_PAGES: tuple[tuple[str, Callable[[SiteRenderer], b.Page]], ...] = (
    ("home", home),
    ("severity", severity_page),
    ("escalation", escalation_page),
    ("contacts", contacts_page),
    ("roles", roles_page),
    ("services", services_index),
    ("runbooks", runbooks_index),
    ("alerts", alerts_page),
    ("tags", tags_page),
    ("templates", templates_page),
    ("tools", tools_page),
    ("checklists", checklists_page),
    ("schema", _schema_page),
)
"""The pages that are not a service's or a runbook's, in the order they are made (PAGES key, maker)."""
