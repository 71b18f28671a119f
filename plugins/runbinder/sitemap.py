"""Which pages the site has, where each thing lives, and which ids are taken: facts that renderers, checks,
the binder and validation all read, so a link the checker accepts is a page the renderer writes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
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
    """The docs path of every generated page (shared pages included)."""
    return {
        *PAGES.values(),
        *(service_page(sid) for sid in index["services"]),
        *(runbook_page(rid) for rid in index.runbooks),
        *(path for path in index.files if path.endswith(".md")),
    }


SHARED_FOLDERS = ("pages", "images")
"""Folders of a runbook project whose files the site publishes as they are: shared Markdown pages that runbooks
link to (``pages/``, rendered through the same doors as runbook prose) and images (``images/``)."""
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})


def project_files(root: Path) -> dict[str, Path]:
    """The shared pages and images of a project, by their path in the site (``pages/x.md``, ``images/y.png``).

    Links in runbook text name them by that path, the same from every page and in the binder."""
    found: dict[str, Path] = {}
    for folder in SHARED_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            relative = path.relative_to(root)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            if folder == "pages" and path.suffix != ".md":
                continue
            if folder == "images" and path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            found[relative.as_posix()] = path
    return found


# --------------------------------------------------------------------------- alerts

# A classic Prometheus alert name (letters, digits, underscores) is its own anchor: readable, exact, case kept.
_PLAIN_ALERT = re.compile(r"[A-Za-z0-9_]{1,100}")


def alert_target(name: str) -> tuple[str, str]:
    """The docs page and anchor of an alert's permanent address: its own entry on the alerts index.

    The address depends on the alert's name alone, never on which runbook handles it, so renaming, splitting or
    merging runbooks keeps every ``runbook_url`` valid; a name handled per severity or scope leads to the choice.
    A plain name is kept as written (``alert-KubePodCrashLooping``); any other name (``AuthOS: database down``)
    becomes a readable slug and a hash of the exact name, so distinct names never share an anchor and every
    anchor is a safe HTML id and URL fragment without escaping.
    """
    if _PLAIN_ALERT.fullmatch(name):
        return PAGES["alerts"], f"alert-{name}"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48].strip("-")
    mark = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    return PAGES["alerts"], f"alert-{slug}-{mark}" if slug else f"alert-{mark}"


def site_path(page: str, directory_urls: bool) -> str:
    """The URL path (from the site root) MkDocs gives a docs page: ``alerts.html``, or ``alerts/`` with
    ``use_directory_urls``."""
    stem = page.removesuffix(".md")
    if stem == "index" or stem.endswith("/index"):
        return stem.removesuffix("index") if directory_urls else stem + ".html"
    return stem + "/" if directory_urls else stem + ".html"


def alert_url(name: str, site_url: str | None = None, *, directory_urls: bool = False) -> str:
    """The URL of an alert's page, the one every face uses: the alerts index links to it, ``runbinder alerts``
    checks ``runbook_url`` annotations against it and ``--write-urls`` writes it. Without ``site_url`` it is
    relative to the site root (``alerts.html#alert-NodeDown``)."""
    page, anchor = alert_target(name)
    base = site_url.rstrip("/") + "/" if site_url else ""
    return f"{base}{site_path(page, directory_urls)}#{anchor}"
