"""Communication templates, internal and external."""

from __future__ import annotations

from .. import safe
from ..sitemap import PAGES
from . import blocks as b
from .base import Renderer


def templates_page(r: Renderer) -> b.Page:
    """Every template with its channel, subject, body and placeholders."""
    here = PAGES["templates"]
    anchors = b.Anchors()
    parts = [b.heading(1, "Communication templates")]
    for audience, title in (("internal", "Internal"), ("external", "External")):
        items = [(tid, tpl) for tid, tpl in r.table("templates").items() if tpl["audience"] == audience]
        if not items:
            continue
        parts.append(b.heading(2, title, anchors.take(f"templates-{audience}")))
        for tid, tpl in items:
            parts.append(b.heading(3, safe.md_text(tpl["name"]), anchors.take(f"template-{tid}")))
            facts = []
            if tpl.get("channel"):
                facts.append(f"**Channel:** {safe.md_text(tpl['channel'])}")
            if tpl.get("service"):
                facts.append(f"**Service:** {r.link('service', tpl['service'], here)}")
            if facts:
                parts.append(" · ".join(facts))
            if tpl.get("description"):
                parts.append(r.md(tpl["description"], here))
            if tpl.get("subject"):
                parts.append("**Subject:** " + safe.fragment(f"<code>{safe.html_text(tpl['subject'])}</code>"))
            parts.append(safe.code_block(tpl["body"], "markdown" if tpl.get("format") == "markdown" else "text"))
            if tpl.get("variables"):
                parts.append(
                    b.table(
                        ["Placeholder", "Fill in"],
                        [
                            [safe.md_text("{" + str(v["name"]) + "}"), safe.md_text(v["description"])]
                            for v in tpl["variables"]
                        ],
                    )
                )
    return b.Page(here, "Communication templates", b.join(parts))
