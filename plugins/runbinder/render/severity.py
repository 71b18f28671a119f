"""The severity matrix: the site's scale, each level's criteria and required response, and how each service names it."""

from __future__ import annotations

from .. import oncall, safe
from ..sitemap import PAGES, runbook_page
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


def scale_cells(level: Data, html: bool = False) -> list[str]:
    """A service's severity definition as table cells: label, impact and criteria, targets, examples (``html``:
    as HTML, else Markdown)."""
    text = safe.html_text if html else safe.md_text
    statements = [*([level["impact"]] if level.get("impact") else []), *level.get("criteria", [])]
    return [
        text(level["label"]),
        b.cell_list(text(x) for x in statements),
        _targets(level, html),
        b.cell_list(text(x) for x in level.get("examples", [])),
    ]


def _targets(level: Data, html: bool = False) -> str:
    """Response and resolution targets in one cell ("Respond: 15 min", "Resolve: 1 hour"); empty when unset."""
    text = safe.html_text if html else safe.md_text
    return "<br>".join(
        f"{label}:&nbsp;{text(b.duration(level[key]))}"
        for label, key in (("Respond", "response_time"), ("Resolve", "resolution_time"))
        if level.get(key)
    )


def _level(r: Renderer, sid: str, sev: Data, here: str) -> str:
    """A level's badge with the other names it goes by under it."""
    aliases = ", ".join(str(a) for a in sev.get("aliases", []))
    return r.badge(sid, here) + (f"<br>*{safe.md_text(aliases)}*" if aliases else "")


def severity_page(r: Renderer) -> b.Page:
    """The severity matrix page: the scale at a glance, then each level with who to call on each service."""
    here = PAGES["severity"]
    anchors = b.Anchors()
    anchors.reserve("classification")
    levels = r.table("severities")
    ids = {sid: anchors.take(f"severity-{sid}") for sid in levels}
    parts = [b.heading(1, "Severity matrix")]
    rows = []
    for sid, sev in levels.items():
        count = sum(1 for rb in r.runbooks if rb.get("severity") == sid)
        rows.append(
            [
                _level(r, sid, sev, here),
                b.cell_list(safe.md_text(c) for c in sev.get("criteria", [])),
                b.cell_list(safe.md_text(c) for c in sev.get("response", [])),
                _targets(sev),
                f"[Who to call](#{ids[sid]}-who-to-call)<br>[{count} runbooks](#{ids[sid]}-runbooks)",
            ]
        )
    parts.append(b.table(["Level", "Criteria (any one)", "Required response", "Targets", "More"], rows))
    parts.append(b.heading(2, "Classification", "classification"))
    parts.append(b.fence(severity_chart(r), "mermaid"))
    for sid, sev in levels.items():
        label = r.severity_label(sev)
        parts.append(b.heading(2, safe.md_text(label), ids[sid]))
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
        parts.append(b.heading(3, safe.md_text(f"Who to call at {label}"), anchors.take(f"{ids[sid]}-who-to-call")))
        parts.append(who_to_call(r, sid, here))
        per_service = []
        for svc_id, svc in r.table("services").items():
            for level in svc.get("severity_scale", []):
                if level.get("level") == sid:
                    per_service.append([r.link_html("service", svc_id, here), *scale_cells(level, html=True)])
        if per_service:
            parts.append("**How each service names and defines this level:**")
            headers = ["Service", "Their label", "Impact / criteria", "Targets", "Examples"]
            parts.append(b.html_table(headers, per_service))
        runbooks = [rb for rb in r.runbooks if rb.get("severity") == sid]
        parts.append(b.heading(3, "Runbooks that start at this level", anchors.take(f"{ids[sid]}-runbooks")))
        if runbooks:  # a thousand on a large site: built as HTML
            parts.append(r.link_list(((str(rb["title"]), runbook_page(rb["id"])) for rb in runbooks), here))
        else:
            parts.append("None.")
    return b.Page(here, "Severity matrix", b.join(parts))


def who_to_call(r: Renderer, severity: str, here: str) -> str:
    """Per service: who to call first at this level, who follows if it is not resolved, and the policy that lists
    every situation; then the roles engaged at this level on every service."""
    rows = []
    for svc_id in r.table("services"):
        answer = oncall.for_service(r.index, svc_id, severity)
        rows.append(
            [
                r.link_html("service", svc_id, here),
                r.calls(answer.first, here, html=True),
                r.calls(answer.then, here, timed=True, html=True),
                r.link_html("policy", answer.policy, here) if answer.policy else "",
            ]
        )
    # A row per service on each level: built as HTML, as the other long tables.
    parts = [b.html_table(["Service", "Call first", "If not resolved", "Every situation"], rows)] if rows else []
    roles = oncall.engaged_roles(r.index, severity)
    if roles:
        parts.append(
            "Also engaged at this level, on every service: " + ", ".join(r.recipient(x, here) for x in roles) + "."
        )
    return b.join(parts)


def luminance(color: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour."""
    channels = []
    for i in (1, 3, 5):
        value = int(color[i : i + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def badge_ink(color: str) -> str:
    """Black or white, whichever contrasts more with ``color``: always at least 4.58:1 (WCAG AA for text), since
    the two ratios cross at that value. The badge carries its own background, so it reads the same on the light
    and the dark scheme."""
    return "#000000" if contrast(color, "#000000") >= contrast(color, "#ffffff") else "#ffffff"


def severity_css(severities: list[Data]) -> str:
    """Badge colours from the catalog; text colour picked by WCAG contrast. The label always says the level."""
    rules = []
    for sev in severities:
        color = safe.css_color(sev.get("color", "#616161"))
        ink = badge_ink(color)
        key = safe.css_ident(sev["id"])
        rules.append(f'.rb-sev-{key}, .rb-sev[data-rb-sev="{key}"] {{ background: {color}; color: {ink}; }}')
    return "\n".join(rules) + "\n"
