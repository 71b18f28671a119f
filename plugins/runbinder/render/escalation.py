"""Escalation: the matrix of every rule, and each policy as a table and a flowchart."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta

from .. import safe
from ..review import interval
from ..sitemap import PAGES
from . import blocks as b
from . import mermaid
from .base import METHOD_TITLES, Data, Renderer


def _when(level: Data) -> str:
    """A level's condition with its time, without saying the time twice ("No progress after 30 min")."""
    when = str(level.get("when", ""))
    if not level.get("after"):
        return when
    after = b.duration(level["after"])
    if after in when or str(level["after"]) in when:
        return when
    return f"{when} (after {after})" if when else f"After {after}"


def escalation_rows(r: Renderer, levels: Iterable[Data], here: str) -> Iterator[list[str]]:
    """HTML table cells for each level: level, when, to whom (with how to reach them), how, timeline, actions."""
    for number, level in enumerate(levels, 1):
        method = safe.html_text(METHOD_TITLES.get(str(level.get("method", "")), ""))
        if level.get("via"):
            via = r.link("tool", level["via"], here, html=True)
            method = f"{method} via {via}" if method else via
        extra = [*([level["responsibility"]] if level.get("responsibility") else []), *level.get("actions", [])]
        when = safe.html_text(_when(level))
        if level.get("severities"):
            always = ", ".join(r.badge_html(s, here) for s in level["severities"])
            when = f"{when}<br>Always at {always}" if when else f"Always at {always}"
        yield [
            safe.html_text(level.get("level", number)),
            when,
            ", ".join(r.recipient(who, here, html=True) for who in level.get("to", [])),
            method,
            safe.html_text(level["timeline"]) if level.get("timeline") else "",
            b.cell_list(safe.html_text(x) for x in extra),
        ]


def escalation_table(r: Renderer, levels: Iterable[Data], here: str) -> str:
    """One policy (or a runbook's own levels) as a table (HTML: the matrix of a large site runs to a thousand rows,
    which Python-Markdown took most of a rebuild to read)."""
    return b.html_table(
        ["Level", "When", "Escalate to", "How", "Timeline", "Responsibility / actions"],
        escalation_rows(r, levels, here),
    )


def escalation_flow(r: Renderer, levels: list[Data]) -> str:
    """Mermaid source for a policy, drawn as the data says and no more: levels without a condition follow one
    another from the incident; a level with a condition (``when``) is a branch of its own from the incident, never a
    step after the level above it; levels with a time (``after``) follow one another in time order. Conditions are
    written in the boxes, so the chart stays narrow enough to read at full size."""
    nodes = [mermaid.Node("start", "Incident", "start")]
    edges = []
    sequence = "start"
    for number, level in enumerate(levels, 1):
        key = f"level-{number}"
        who = ", ".join(_name_of(r, w) for w in level.get("to", []))
        how = METHOD_TITLES.get(str(level.get("method", "")), "")
        lines = [f"Level {level.get('level', number)}: {who}", *([how] if how else [])]
        if level.get("when") and not level.get("after"):
            when = b.short(str(level["when"]), 64)
            lines.insert(0, when if when.lower().startswith(("if ", "when ")) else f"If: {when}")
            edges.append(mermaid.Edge("start", key))
        elif not level.get("after"):
            edges.append(mermaid.Edge(sequence, key))
            sequence = key
        nodes.append(mermaid.Node(key, "\n".join(lines)))
    timed = sorted(
        (n for n, level in enumerate(levels, 1) if level.get("after")),
        key=lambda n: interval(str(levels[n - 1]["after"])) or timedelta.max,
    )
    previous = "start"
    for n in timed:
        level = levels[n - 1]
        edges.append(mermaid.Edge(previous, f"level-{n}", b.short(_when(level), 64)))
        previous = f"level-{n}"
    branches = sum(1 for edge in edges if edge.source == "start")
    return mermaid.flowchart(nodes, edges, "LR" if branches > 2 else "TD")


def _name_of(r: Renderer, ident: str) -> str:
    for section in ("roles", "contacts"):
        if ident in r.index[section]:
            return str(r.index[section][ident].data["name"])
    return ident


def escalation_matrix(r: Renderer, here: str) -> str:
    """Every escalation rule on the site: policies first, then levels written in runbooks."""
    rows = []
    defined: list[tuple[Iterable[Data], str]] = [
        (policy.get("levels", []), r.link_html("policy", pid, here))
        for pid, policy in r.table("escalation_policies").items()
    ]
    defined += [
        ((rb.get("escalation") or {}).get("levels", []), r.link_html("runbook", rb["id"], here)) for rb in r.runbooks
    ]
    for levels, where in defined:
        for row in escalation_rows(r, levels, here):
            rows.append([row[1] or "Any time", row[2], "; ".join(filter(None, row[3:5])), where])
    return b.html_table(["Condition", "Escalate to", "How", "Defined in"], rows)


def escalation_page(r: Renderer) -> b.Page:
    """The escalation page."""
    here = PAGES["escalation"]
    anchors = b.Anchors()
    anchors.reserve("escalation-matrix")
    parts = [
        b.heading(1, "Escalation"),
        b.heading(2, "Escalation matrix", "escalation-matrix"),
        "Every escalation rule on this site: policies first, then levels written in runbooks.",
        escalation_matrix(r, here),
    ]
    for pid, policy in r.table("escalation_policies").items():
        parts.append(b.heading(2, safe.md_text(policy["name"]), anchors.take(f"policy-{pid}")))
        if policy.get("service"):
            parts.append(f"Service: {r.link('service', policy['service'], here)}")
        if policy.get("description"):
            parts.append(r.md(policy["description"], here))
        parts.append(escalation_table(r, policy["levels"], here))
        parts.append(b.fence(escalation_flow(r, policy["levels"]), "mermaid"))
        parts.append(r.referenced_by("policy", pid, here, 3, anchors.take(f"policy-{pid}-referenced-by")))
    return b.Page(here, "Escalation", b.join(parts))
