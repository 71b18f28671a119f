"""The services index and a page per service."""

from __future__ import annotations

from .. import oncall, safe
from ..sitemap import PAGES, service_page
from . import blocks as b
from .base import KIND_TITLES, Renderer
from .severity import scale_cells


def services_index(r: Renderer) -> b.Page:
    """Every service with its owner, runbook count and dependencies."""
    here = PAGES["services"]
    rows = []
    for sid, svc in r.table("services").items():
        rows.append(
            [
                r.link("service", sid, here),
                r.link("contact", svc["owner"], here),
                str(len(r.by_service.get(sid, []))),
                ", ".join(r.link("service", d, here) for d in svc.get("dependencies", [])),
            ]
        )
    body = b.join([b.heading(1, "Services"), b.table(["Service", "Owner", "Runbooks", "Depends on"], rows)])
    return b.Page(here, "Services", body)


def service(r: Renderer, sid: str) -> b.Page:
    """One service: owner, escalation, runbooks, dependencies, its own severity scale, metrics, links."""
    here = service_page(sid)
    svc = r.table("services")[sid]
    anchors = b.Anchors()
    parts = [b.heading(1, safe.md_text(svc["name"]))]
    facts = [f"**Owner:** {r.link('contact', svc['owner'], here)}"]
    if svc.get("escalation_policy"):
        facts.append(f"**Escalation:** {r.link('policy', svc['escalation_policy'], here)}")
    parts.append(" · ".join(facts))
    if svc.get("description"):
        parts.append(r.md(svc["description"], here))
    parts.append(b.heading(2, "Who to call", anchors.take("who-to-call")))
    rows = []
    for level in r.table("severities"):
        answer = oncall.for_service(r.index, sid, level)
        rows.append([r.badge(level, here), r.calls(answer.first, here), r.calls(answer.then, here, timed=True)])
    parts.append(b.table(["Severity", "Call first", "If not resolved"], rows))
    if svc.get("escalation_policy"):
        parts.append(f"Every situation and contact: {r.link('policy', svc['escalation_policy'], here)}.")
    runbooks = r.by_service.get(sid, [])
    parts.append(b.heading(2, "Runbooks", anchors.take("runbooks")))
    if runbooks:
        parts.append(
            b.table(
                ["Runbook", "Kind", "Severity", "Alerts"],
                [
                    [
                        r.link("runbook", rb["id"], here),
                        safe.md_text(KIND_TITLES.get(rb["kind"], rb["kind"])),
                        r.badge(rb.get("severity"), here),
                        str(len(rb.get("alerts", []))),
                    ]
                    for rb in runbooks
                ],
            )
        )
    else:
        parts.append("*No runbooks yet.*")
    deps = svc.get("dependencies", [])
    dependents = [s for s, other in r.table("services").items() if sid in other.get("dependencies", [])]
    if deps or svc.get("external_dependencies") or dependents:
        parts.append(b.heading(2, "Dependencies", anchors.take("dependencies")))
        if deps:
            parts.append("Depends on: " + ", ".join(r.link("service", d, here) for d in deps))
        if svc.get("external_dependencies"):
            parts.append("External: " + ", ".join(safe.md_text(d) for d in svc["external_dependencies"]))
        if dependents:
            parts.append("Depended on by: " + ", ".join(r.link("service", d, here) for d in dependents))
    if svc.get("severity_scale"):
        parts.append(b.heading(2, "Severity scale", anchors.take("severity-scale")))
        parts.append("How this service names the site's severity levels, with its own targets.")
        parts.append(
            b.table(
                ["Site level", "Label here", "Impact / criteria", "Targets", "Examples"],
                [[r.badge(level["level"], here), *scale_cells(level)] for level in svc["severity_scale"]],
            )
        )
        for level in svc["severity_scale"]:
            if level.get("response"):
                parts.append(f"**{safe.md_text(level['label'])} response:**")
                parts.append(r.md_list(level["response"], here))
    if svc.get("metrics"):
        parts.append(b.heading(2, "Key metrics", anchors.take("key-metrics")))
        parts.append(
            b.table(
                ["Group", "Metric", "Healthy"],
                [
                    [safe.md_text(m.get("group", "")), safe.md_text(m["name"]), safe.md_text(m.get("target", ""))]
                    for m in svc["metrics"]
                ],
            )
        )
    templates = [(tid, tpl) for tid, tpl in r.table("templates").items() if tpl.get("service") == sid]
    if templates:
        parts.append(b.heading(2, "Communication templates", anchors.take("communication-templates")))
        parts.append("\n".join(f"- {r.link('template', tid, here)}" for tid, _ in templates))
    if svc.get("links"):
        parts.append(b.heading(2, "Links", anchors.take("links")))
        parts.append(r.links(svc["links"], here))
    parts.append(r.referenced_by("service", sid, here, 2, anchors.take("referenced-by")))
    return b.Page(here, str(svc["name"]), b.join(parts))
