"""The severity matrix: the site's scale, each level's criteria and required response, and how each service names it."""

from __future__ import annotations

from .. import safe
from ..sitemap import PAGES
from . import blocks as b
from . import mermaid
from .base import Data, Renderer


def severity_chart(r: Renderer) -> str:
    """Mermaid source: each level with its first criteria, and its targets."""
    nodes: list[mermaid.Node] = []
    edges: list[mermaid.Edge] = []
    for sid, sev in r.table("severities").items():
        lines = [r.severity_label(sev), *[str(c) for c in sev.get("criteria", [])[:3]]]
        nodes.append(mermaid.Node(sid, "\n".join(lines)))
        targets = [
            f"{label}: {b.duration(sev[key])}"
            for label, key in (("Response", "response_time"), ("Resolution", "resolution_time"))
            if sev.get(key)
        ]
        if targets:  # a level without targets gets no targets node
            nodes.append(mermaid.Node(f"{sid}-targets", "\n".join(targets)))
            edges.append(mermaid.Edge(sid, f"{sid}-targets"))
    return mermaid.flowchart(nodes, edges, "LR")


def scale_cells(level: Data) -> list[str]:
    """A service's severity definition as table cells: label, impact and criteria, targets, examples."""
    statements = [*([level["impact"]] if level.get("impact") else []), *level.get("criteria", [])]
    return [
        safe.md_text(level["label"]),
        "<br>".join(safe.md_text(x) for x in statements),
        _within(level.get("response_time")),
        _within(level.get("resolution_time")),
        "<br>".join(safe.md_text(x) for x in level.get("examples", [])),
    ]


def _within(value: object) -> str:
    """A duration cell, empty when the target is not set."""
    return safe.md_text(b.duration(value)) if value else ""


def severity_page(r: Renderer) -> b.Page:
    """The severity matrix page."""
    here = PAGES["severity"]
    anchors = b.Anchors()
    anchors.reserve("classification")
    parts = [b.heading(1, "Severity matrix")]
    rows = []
    for sid, sev in r.table("severities").items():
        rows.append(
            [
                r.badge(sid, here),
                safe.md_text(", ".join(str(a) for a in sev.get("aliases", []))),
                "<br>".join(safe.md_text(c) for c in sev.get("criteria", [])),
                "<br>".join(safe.md_text(c) for c in sev.get("response", [])),
                _within(sev.get("response_time")),
                _within(sev.get("resolution_time")),
                str(sum(1 for rb in r.runbooks if rb.get("severity") == sid)),
            ]
        )
    headers = [
        "Level",
        "Also called",
        "Criteria (any)",
        "Required response",
        "Respond within",
        "Resolve within",
        "Runbooks",
    ]
    parts.append(b.table(headers, rows))
    parts.append(b.heading(2, "Classification", "classification"))
    parts.append(b.fence(severity_chart(r), "mermaid"))
    for sid, sev in r.table("severities").items():
        parts.append(b.heading(2, safe.md_text(r.severity_label(sev)), anchors.take(f"severity-{sid}")))
        if sev.get("summary"):
            parts.append(r.md(sev["summary"], here))
        parts.append("**Criteria** (any one):")
        parts.append(r.md_list(sev.get("criteria", []), here))
        if sev.get("response"):
            parts.append("**Required response:**")
            parts.append(r.md_list(sev["response"], here))
        if sev.get("examples"):
            parts.append("**Examples:**")
            parts.append(r.md_list(sev["examples"], here))
        per_service = []
        for svc_id, svc in r.table("services").items():
            for level in svc.get("severity_scale", []):
                if level.get("level") == sid:
                    per_service.append([r.link("service", svc_id, here), *scale_cells(level)])
        if per_service:
            parts.append("**How each service names and defines this level:**")
            parts.append(
                b.table(
                    ["Service", "Their label", "Impact / criteria", "Respond within", "Resolve within", "Examples"],
                    per_service,
                )
            )
        runbooks = [rb for rb in r.runbooks if rb.get("severity") == sid]
        if runbooks:
            parts.append("**Runbooks that start at this level:**")
            parts.append("\n".join(f"- {r.link('runbook', rb['id'], here)}" for rb in runbooks))
    return b.Page(here, "Severity matrix", b.join(parts))


def severity_css(severities: list[Data]) -> str:
    """Badge colours from the catalog; text colour picked for contrast. The label always says the level."""
    rules = []
    for sev in severities:
        color = safe.css_color(sev.get("color", "#616161"))
        red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
        ink = "#000" if (0.299 * red + 0.587 * green + 0.114 * blue) > 150 else "#fff"
        rules.append(f".rb-sev-{safe.css_ident(sev['id'])} {{ background: {color}; color: {ink}; }}")
    return "\n".join(rules) + "\n"
