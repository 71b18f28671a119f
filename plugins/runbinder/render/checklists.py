"""Shared checklists."""

from __future__ import annotations

from ..sitemap import PAGES
from . import blocks as b
from .base import Renderer
from .runbook import checklist_block


def checklists_page(r: Renderer) -> b.Page:
    """Every shared checklist and the runbooks that include it."""
    here = PAGES["checklists"]
    anchors = b.Anchors()
    parts = [b.heading(1, "Checklists")]
    for cid, checklist in r.table("checklists").items():
        parts.append(checklist_block(r, checklist, 2, here, anchors))
        parts.append(r.referenced_by("checklist", cid, here, 3, anchors.take(f"checklist-{cid}-referenced-by")))
    return b.Page(here, "Checklists", b.join(parts))
