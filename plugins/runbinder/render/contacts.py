"""Contacts (teams, rotations, people, external parties) and incident roles."""

from __future__ import annotations

from .. import safe
from ..sitemap import PAGES
from . import blocks as b
from .base import METHOD_LABELS, Renderer, contact_value

GROUPS = [("team", "Teams"), ("rotation", "On-call rotations"), ("person", "People"), ("external", "External parties")]


def contacts_page(r: Renderer) -> b.Page:
    """Every contact with every way to reach them."""
    here = PAGES["contacts"]
    anchors = b.Anchors()
    parts = [b.heading(1, "Contacts")]
    for kind, title in GROUPS:
        members = [(cid, c) for cid, c in r.table("contacts").items() if c["type"] == kind]
        if not members:
            continue
        parts.append(b.heading(2, title, anchors.take(f"contacts-{kind}")))
        for cid, contact in members:
            parts.append(b.heading(3, safe.md_text(contact["name"]), anchors.take(f"contact-{cid}")))
            if contact.get("description"):
                parts.append(r.md(contact["description"], here))
            methods = [
                f"- {safe.md_text(METHOD_LABELS.get(m['type'], m['type']))}: {contact_value(m)}"
                + (f" ({safe.md_text(m['note'])})" if m.get("note") else "")
                for m in contact.get("methods", [])
            ]
            parts.append("\n".join(methods) if methods else "*No contact details recorded.*")
            if contact.get("members"):
                parts.append("Members: " + ", ".join(r.link("contact", m, here) for m in contact["members"]))
            owned = [sid for sid, s in r.table("services").items() if s.get("owner") == cid]
            if owned:
                parts.append("Owns: " + ", ".join(r.link("service", s, here) for s in owned))
            parts.append(r.referenced_by("contact", cid, here, 4, anchors.take(f"contact-{cid}-referenced-by")))
    return b.Page(here, "Contacts", b.join(parts))


def roles_page(r: Renderer) -> b.Page:
    """Incident roles: who is staffed when, and what they do."""
    here = PAGES["roles"]
    anchors = b.Anchors()
    parts = [b.heading(1, "Roles")]
    for rid, role in r.table("roles").items():
        parts.append(b.heading(2, safe.md_text(role["name"]), anchors.take(f"role-{rid}")))
        if role.get("description"):
            parts.append(r.md(role["description"], here))
        if role.get("severities"):
            parts.append("Staffed for: " + ", ".join(r.badge(s, here) for s in role["severities"]))
        parts.append(r.md_list(role["responsibilities"], here))
        if role.get("filled_by"):
            parts.append("Filled by: " + ", ".join(r.link("contact", c, here) for c in role["filled_by"]))
        parts.append(r.referenced_by("role", rid, here, 3, anchors.take(f"role-{rid}-referenced-by")))
    return b.Page(here, "Roles", b.join(parts))
