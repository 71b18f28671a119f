"""Which pages the site has, where each thing lives, and which ids are taken: facts that renderers, checks,
the binder and validation all read, so a link the checker accepts is a page the renderer writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .validate import Index

# The overview pages, by key.
PAGES = {
    "home": "index.md",
    "severity": "severity.md",
    "escalation": "escalation.md",
    "contacts": "contacts.md",
    "roles": "roles.md",
    "services": "services/index.md",
    "runbooks": "runbooks/index.md",
    "alerts": "alerts.md",
    "tags": "tags.md",
    "templates": "templates.md",
    "tools": "tools.md",
    "checklists": "checklists.md",
    "schema": "reference/schema.md",
}

RESERVED_IDS = frozenset({"index"})
"""Runbook and service ids that would name an index page (``runbooks/index.md``, ``services/index.md``)."""


def runbook_page(ident: str) -> str:
    """The docs path of a runbook's page."""
    return f"runbooks/{ident}.md"


def service_page(ident: str) -> str:
    """The docs path of a service's page."""
    return f"services/{ident}.md"


def page_paths(index: Index) -> set[str]:
    """The docs path of every generated page."""
    return {
        *PAGES.values(),
        *(service_page(sid) for sid in index["services"]),
        *(runbook_page(rid) for rid in index.runbooks),
    }
