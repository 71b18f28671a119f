"""Index pages: all runbooks, alerts, tags."""

from __future__ import annotations

from collections import defaultdict

from .. import safe
from ..review import review_due
from ..sitemap import PAGES
from . import blocks as b
from .base import KIND_TITLES, Data, Renderer


def runbooks_index(r: Renderer) -> b.Page:
    """Every runbook with its service, kind, severity and review state."""
    here = PAGES["runbooks"]
    rows = []
    for rb in r.runbooks:
        due = review_due(rb, r.site)
        overdue = " (overdue)" if due and due < r.today else ""
        rows.append(
            [
                r.link("runbook", rb["id"], here),
                r.link("service", rb["service"], here),
                safe.md_text(KIND_TITLES.get(rb["kind"], rb["kind"])),
                r.badge(rb.get("severity"), here),
                safe.md_text(str(rb.get("last_reviewed", "never")) + overdue),
            ]
        )
    body = b.join(
        [b.heading(1, "All runbooks"), b.table(["Runbook", "Service", "Kind", "Severity", "Last reviewed"], rows)]
    )
    return b.Page(here, "All runbooks", body)


def alerts_page(r: Renderer) -> b.Page:
    """Which runbook to open for each alert."""
    here = PAGES["alerts"]
    rows: list[tuple[str, list[str]]] = []
    for rb in r.runbooks:
        for alert in rb.get("alerts", []):
            rows.append(
                (
                    str(alert["name"]).lower(),
                    [
                        safe.md_text(alert["name"]),
                        safe.md_text(alert.get("condition", "")),
                        r.link("runbook", rb["id"], here),
                        r.link("service", rb["service"], here),
                        r.badge(rb.get("severity"), here),
                    ],
                )
            )
    rows.sort(key=lambda row: row[0])
    body = b.join(
        [
            b.heading(1, "Alerts"),
            "Which runbook to open for each alert.",
            b.table(["Alert", "Condition", "Runbook", "Service", "Severity"], [cells for _, cells in rows]),
        ]
    )
    return b.Page(here, "Alerts", body)


def tags_page(r: Renderer) -> b.Page:
    """Runbooks grouped by tag."""
    here = PAGES["tags"]
    tags: dict[str, list[Data]] = defaultdict(list)
    for rb in r.runbooks:
        for tag in rb.get("tags", []):
            tags[tag].append(rb)
    anchors = b.Anchors()
    parts = [b.heading(1, "Tags")]
    for tag in sorted(tags):
        parts.append(b.heading(2, safe.md_text(tag), anchors.take(f"tag-{safe.css_ident(tag)}")))
        parts.append("\n".join(f"- {r.link('runbook', rb['id'], here)}" for rb in tags[tag]))
    return b.Page(here, "Tags", b.join(parts))
