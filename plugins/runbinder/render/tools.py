"""Tools and access: what a responder needs access to, and at which level."""

from __future__ import annotations

from .. import safe
from ..sitemap import PAGES
from . import blocks as b
from .base import Renderer


def tools_page(r: Renderer) -> b.Page:
    """Every tool with its purpose, access level and the commands it provides."""
    here = PAGES["tools"]
    anchors = b.Anchors()
    parts = [b.heading(1, "Tools and access"), "What a responder needs access to, and at which level."]
    parts.append(
        b.table(
            ["Tool", "Purpose", "Access level", "Where", "Commands"],
            [
                [
                    f"[{safe.md_text(tool['name'])}](#tool-{tid})",
                    safe.md_text(tool["purpose"]),
                    safe.md_text(tool.get("access_level", "")),
                    safe.md_text(tool.get("url", "")),
                    safe.md_text(", ".join(str(e) for e in tool.get("executables", []))),
                ]
                for tid, tool in r.table("tools").items()
            ],
        )
    )
    for tid, tool in r.table("tools").items():
        parts.append(b.heading(2, safe.md_text(tool["name"]), anchors.take(f"tool-{tid}")))
        parts.append(safe.md_text(tool["purpose"]))
        if tool.get("services"):
            parts.append("Used for: " + ", ".join(r.link("service", s, here) for s in tool["services"]))
        parts.append(r.referenced_by("tool", tid, here, 3, anchors.take(f"tool-{tid}-referenced-by")))
    return b.Page(here, "Tools and access", b.join(parts))
