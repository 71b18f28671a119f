"""The home page: for someone in the middle of an incident (severity at a glance, who to call, where to start)."""

from __future__ import annotations

from .. import oncall, safe
from ..sitemap import PAGES, service_page
from . import blocks as b
from .base import Renderer, rel

TITLE_DEFAULT = "Runbooks"


def home(r: Renderer) -> b.Page:
    """The site's home page."""
    here = PAGES["home"]
    name = str(r.site.get("name", TITLE_DEFAULT))
    parts = [b.heading(1, safe.md_text(name))]
    if r.site.get("description"):
        parts.append(r.md(r.site["description"], here))
    first_steps = [
        f"Paged by an alert? Find it in the [alerts index]({rel(here, PAGES['alerts'])}): every alert leads to its "
        "runbook.",
        f"How bad is it? The [severity matrix]({rel(here, PAGES['severity'])}).",
        f"Who to call: [below](#who-to-call), and every policy under [escalation]({rel(here, PAGES['escalation'])}).",
    ]
    box = "\n".join(f"- {step}" for step in first_steps)
    if r.site.get("start_here"):
        box += "\n\n" + r.md_list(r.site["start_here"], here)
    parts.append(b.admonition("danger", "In an incident right now?", box))
    parts.append(b.heading(2, "Severity at a glance", "severity-at-a-glance"))
    rows = []
    for sid, sev in r.table("severities").items():
        rows.append(
            [
                r.badge(sid, here),
                safe.md_text(", ".join(str(a) for a in sev.get("aliases", []))),
                safe.md_text(sev.get("summary", "")),
                safe.md_text(b.duration(sev["response_time"])) if sev.get("response_time") else "",
                safe.md_text(b.duration(sev["resolution_time"])) if sev.get("resolution_time") else "",
            ]
        )
    parts.append(b.table(["Level", "Also called", "When", "Respond within", "Resolve within"], rows))
    parts.append(f"Full criteria and required response: [severity matrix]({rel(here, PAGES['severity'])}).")
    parts.append(b.heading(2, "Who to call", "who-to-call"))
    parts.append(
        "Who to call first on each service at each level. What follows if it is not resolved is on the service's page."
    )
    severities = r.table("severities")
    rows = []
    for sid in r.table("services"):
        row = [f"{r.link('service', sid, here)}<br>[then…]({rel(here, service_page(sid))}#who-to-call)"]
        row += [r.calls(oncall.for_service(r.index, sid, level).first, here) for level in severities]
        rows.append(row)
    parts.append(b.table(["Service", *(r.badge(level, here) for level in severities)], rows))
    parts.append(
        f"Every rule in one table: the [escalation matrix]({rel(here, PAGES['escalation'])}#escalation-matrix)."
    )
    parts.append(b.heading(2, "Where to start", "where-to-start"))
    rows = []
    for sid, svc in r.table("services").items():
        policy = svc.get("escalation_policy")
        rows.append(
            [
                r.link("service", sid, here),
                r.link("contact", svc["owner"], here),
                str(len(r.by_service.get(sid, []))),
                r.link("policy", policy, here) if policy else "",
            ]
        )
    parts.append(b.table(["Service", "Owner", "Runbooks", "Escalation"], rows))
    parts.append(
        f"Paged by an alert? Find it in the [alerts index]({rel(here, PAGES['alerts'])}). "
        f"Everything else: [all runbooks]({rel(here, PAGES['runbooks'])})."
    )
    return b.Page(here, name, b.join(parts))
