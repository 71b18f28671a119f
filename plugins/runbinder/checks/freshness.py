"""Runbooks overdue for review: a stale runbook is worse than none at 3 a.m."""

from __future__ import annotations

from datetime import date

from ..diagnostics import Diagnostic, Level
from ..review import review_due
from ..validate import Project
from . import Item


def freshness_items(project: Project) -> list[Item]:
    """One item per runbook."""
    return [
        Item(f"{doc.display}::review", doc, ("last_reviewed",), "review", doc.data, run=lambda _item: [])
        for doc in project.documents
        if doc.kind == "runbook" and isinstance(doc.data, dict)
    ]


def check_freshness(item: Item, project: Project, today: date, level: Level) -> list[Diagnostic]:
    """Overdue (or never reviewed) runbooks, at the configured level."""
    site = project.index.site.data if project.index.site else None
    due = review_due(item.data, site)
    if due is None:
        return [item.diagnostic("never reviewed: add last_reviewed", "review.missing", level=level, at=())]
    if due < today:
        days = (today - due).days
        return [
            item.diagnostic(
                f"overdue for review: last reviewed {item.data['last_reviewed']}, due {due.isoformat()} "
                f"({days} day{'s' if days != 1 else ''} ago)",
                "review.overdue",
                level=level,
            )
        ]
    return []
