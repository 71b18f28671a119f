"""A runbook's page: what is happening, the decision flow, time-boxed phases of steps and commands, who to call."""

from __future__ import annotations

from .. import rules_match, safe
from ..languages import highlight
from ..review import review_due
from ..sitemap import PAGES, alert_target, runbook_page
from ..structure import PathT
from ..validate import slug
from . import blocks as b
from . import mermaid
from .base import KIND_TITLES, Data, Renderer, rel
from .escalation import escalation_flow, escalation_table

# Ids of the page's own sections: phase and step ids never take them.
FIXED_IDS = (
    "triggered-by",
    "summary",
    "impact",
    "symptoms",
    "decision-flow",
    "variables",
    "escalation",
    "prevention",
    "related-runbooks",
    "references",
    "notes",
    "change-history",
    "referenced-by",
)


def runbook(r: Renderer, rb: Data) -> b.Page:
    """One runbook's page."""
    here = runbook_page(rb["id"])
    plan, anchors = anchor_plan(rb)
    parts = [b.heading(1, safe.md_text(rb["title"]))]
    facts = [
        f"**Service:** {r.link('service', rb['service'], here)}",
        f"**Owner:** {r.link('contact', rb['owner'], here)}",
        f"**Severity:** {r.badge(rb.get('severity'), here)}",
        f"**Kind:** {safe.md_text(KIND_TITLES.get(rb['kind'], rb['kind']))}",
    ]
    if rb.get("escalation"):
        facts.append("**Escalation:** [who to call](#escalation)")
    parts.append(" · ".join(facts))
    due = review_due(rb, r.site)
    if rb.get("tags"):
        parts.append(
            "**Tags:** "
            + " ".join(f"[{safe.md_text(tag)}]({rel(here, PAGES['tags'])}#tag-{tag})" for tag in rb["tags"])
        )
    reviewed = f"**Last reviewed:** {safe.md_text(rb.get('last_reviewed', 'never'))}"
    if due:
        reviewed += f" (next review due {safe.md_text(_day(due))})"
    parts.append(reviewed)
    if due is None or due < r.today:
        why = (
            f"It was last reviewed on {rb['last_reviewed']}; the review was due on {_day(due)}."
            if due
            else "It has never been reviewed."
        )
        parts.append(
            b.admonition(
                "danger",
                "Overdue for review",
                f"{safe.md_text(why)} Check every command against the running system before "
                "relying on it, then update `last_reviewed`.",
            )
        )
    if rb.get("alerts"):
        parts.append(b.heading(2, "Triggered by", "triggered-by"))
        parts.append(_triggered_by(rb["alerts"], here))
    parts.append(b.heading(2, "Summary", "summary"))
    parts.append(r.md(rb["summary"], here))
    for key, title in (("impact", "Impact"), ("symptoms", "Symptoms")):
        if rb.get(key):
            parts.append(b.heading(2, title, key))
            parts.append(r.md_list(rb[key], here))
    parts += _sections(r, rb, "before-phases", here, plan)
    if rb.get("flow"):
        parts.append(b.heading(2, "Decision flow", "decision-flow"))
        parts.append(b.fence(runbook_flow(rb["flow"]), "mermaid"))
    for number, phase in enumerate(rb["phases"], 1):
        parts.append(_phase(r, phase, number, here, plan))
    parts += _sections(r, rb, "after-phases", here, plan)
    if rb.get("variables"):
        parts.append(b.heading(2, "Variables", "variables"))
        parts.append("Replace these placeholders before running a command. Never paste a secret into a ticket or chat.")
        parts.append(
            b.table(
                ["Placeholder", "Meaning", "Secret", "Example"],
                [
                    [
                        safe.md_text(v["name"]),
                        safe.md_text(v["description"]),
                        "**secret**" if v.get("secret") else "",
                        safe.md_text(v.get("example", "")),
                    ]
                    for v in rb["variables"]
                ],
            )
        )
    for checklist in rb.get("checklists", []):
        parts.append(checklist_block(r, checklist, 2, here, anchors))
    for ident in rb.get("include_checklists", []):
        entry = r.index["checklists"].get(ident)
        if entry:
            parts.append(checklist_block(r, entry.data, 2, here, anchors, shared=rel(here, PAGES["checklists"])))
    if rb.get("recovery_validation"):
        parts.append(checklist_block(r, {**rb["recovery_validation"]}, 2, here, anchors, prefix="Before closing: "))
    escalation = rb.get("escalation")
    if escalation:
        parts.append(b.heading(2, "Escalation", "escalation"))
        if escalation.get("policy"):
            policy = r.index["escalation_policies"].get(escalation["policy"])
            parts.append(f"Follow {r.link('policy', escalation['policy'], here)}.")
            if policy:
                parts.append(escalation_table(r, policy.data["levels"], here))
        if escalation.get("levels"):
            parts.append(escalation_table(r, escalation["levels"], here))
            parts.append(b.fence(escalation_flow(r, escalation["levels"]), "mermaid"))
        if escalation.get("notes"):
            parts.append(r.md_list(escalation["notes"], here))
    if rb.get("prevention"):
        parts.append(b.heading(2, "Prevention", "prevention"))
        parts.append(r.md_list(rb["prevention"], here))
    if rb.get("related"):
        parts.append(b.heading(2, "Related runbooks", "related-runbooks"))
        parts.append("\n".join(f"- {r.link('runbook', other, here)}" for other in rb["related"]))
    if rb.get("references"):
        parts.append(b.heading(2, "References", "references"))
        parts.append(r.links(rb["references"], here))
    if rb.get("notes"):
        parts.append(b.heading(2, "Notes", "notes"))
        parts.append(r.md_list(rb["notes"], here))
    if rb.get("history"):
        parts.append(b.heading(2, "Change history", "change-history"))
        parts.append(
            b.table(
                ["Date", "Version", "Changes", "Author"],
                [
                    [
                        safe.md_text(h["date"]) + (f" ({safe.md_text(h['note'])})" if h.get("note") else ""),
                        safe.md_text(h.get("version", "")),
                        safe.md_text(h["changes"]),
                        safe.md_text(h.get("author", "")),
                    ]
                    for h in rb["history"]
                ],
            )
        )
    parts.append(r.referenced_by("runbook", rb["id"], here, 2, "referenced-by"))
    if rb.get("source"):
        parts.append(f"*Source: {safe.md_text(rb['source'])}*")
    return b.Page(here, str(rb["title"]), b.join(parts))


def anchor_plan(rb: Data) -> tuple[dict[PathT, str], b.Anchors]:
    """The page anchor of every section, phase, step and alternative of a runbook, by its path in the data, and
    the page's ids so far (checklists take theirs after). The page and the importer (which rewrites in-page links
    of the source to these anchors) both read it."""
    anchors = b.Anchors()
    anchors.reserve(*FIXED_IDS)
    plan: dict[PathT, str] = {}

    def sections(placement: str) -> None:
        for i, section in enumerate(rb.get("sections", [])):
            if section.get("placement", "after-phases") == placement:
                plan[("sections", i)] = anchors.take(str(section.get("id") or slug(str(section["title"]))))

    def step(path: PathT, data: Data, parent: str) -> None:
        anchor = anchors.take(f"{parent}-{step_id(data)}")
        plan[path] = anchor
        for k, way in enumerate(data.get("alternatives", [])):
            option = f"{anchor}-option-{k + 1}"
            way_path: PathT = (*path, "alternatives", k)
            plan[way_path] = option
            for j, sub in enumerate(way.get("steps", [])):
                step((*path, "alternatives", k, "steps", j), sub, option)
        for j, sub in enumerate(data.get("steps", [])):
            step((*path, "steps", j), sub, anchor)

    sections("before-phases")
    for i, phase in enumerate(rb.get("phases", [])):
        plan[("phases", i)] = anchors.take(phase_id(phase))
        for j, data in enumerate(phase.get("steps", [])):
            step(("phases", i, "steps", j), data, phase_id(phase))
    sections("after-phases")
    return plan, anchors


def _sections(r: Renderer, rb: Data, placement: str, here: str, plan: dict[PathT, str]) -> list[str]:
    """The runbook's labelled sections that go ``placement`` (before or after the phases)."""
    out = []
    for i, section in enumerate(rb.get("sections", [])):
        if section.get("placement", "after-phases") != placement:
            continue
        anchor = plan[("sections", i)]
        if section.get("collapsed") and not r.print_mode:
            # Folded on the site; the heading keeps the section in the page's contents and gives it its address.
            out.append(b.heading(2, safe.md_text(section["title"]), anchor))
            out.append(b.admonition("note", str(section["title"]), r.md(section["text"], here), collapsible=True))
        else:
            out.append(b.heading(2, safe.md_text(section["title"]), anchor))
            out.append(r.md(section["text"], here))
    return out


def _day(day: object) -> str:
    return day.isoformat() if hasattr(day, "isoformat") else str(day)


def phase_id(phase: Data) -> str:
    """The id a phase is known by (its own, or its title's slug): the same one validation and checks use."""
    return str(phase.get("id") or slug(str(phase["title"])))


def step_id(step: Data) -> str:
    """The id a step is known by within its phase."""
    return str(step.get("id") or slug(str(step["title"])))


def _phase(r: Renderer, phase: Data, number: int, here: str, plan: dict[PathT, str]) -> str:
    title = f"{number}. {phase['title']}"
    if phase.get("timebox"):
        title += f" (within {b.duration(phase['timebox'])})"
    path: PathT = ("phases", number - 1)
    parts = [b.heading(2, safe.md_text(title), plan[path])]
    if phase.get("description"):
        parts.append(r.md(phase["description"], here))
    for step_number, step in enumerate(phase["steps"], 1):
        parts.append(_step(r, step, f"{number}.{step_number}", 3, (*path, "steps", step_number - 1), here, plan))
    return b.join(parts)


def _step(r: Renderer, step: Data, number: str, level: int, path: PathT, here: str, plan: dict[PathT, str]) -> str:
    """A step with its sub-steps (one heading level down, numbered under it) and its alternatives."""
    anchor = plan[path]
    parts = [b.heading(min(level, 6), safe.md_text(f"{number} {step['title']}"), anchor)]
    parts.append(_doing(r, step, here))
    if step.get("alternatives"):
        ways = step["alternatives"]
        parts.append(f"Do **one** of these {len(ways)}:")
        for k, way in enumerate(ways, 1):
            body = [_doing(r, way, here)]
            for sub_number, sub in enumerate(way.get("steps", []), 1):
                sub_path = (*path, "alternatives", k - 1, "steps", sub_number - 1)
                body.append(_step(r, sub, f"{number}.{k}.{sub_number}", level + 1, sub_path, here, plan))
            parts.append(b.admonition("abstract", f"Option {k} of {len(ways)}: {way['title']}", b.join(body)))
    for sub_number, sub in enumerate(step.get("steps", []), 1):
        parts.append(_step(r, sub, f"{number}.{sub_number}", level + 1, (*path, "steps", sub_number - 1), here, plan))
    return b.join(parts)


def _doing(r: Renderer, item: Data, here: str) -> str:
    """What a step (or one way of doing it) says to do: when, text, commands, check boxes, hand-over, links."""
    parts = []
    if item.get("when"):
        parts.append(f"*When:* {safe.md_text(item['when'])}")
    if item.get("text"):
        parts.append(r.md(item["text"], here))
    for command in item.get("commands", []):
        parts.append(command_block(r, command, here))
    if item.get("checklist"):
        parts.append(r.md_list(item["checklist"], here, tasks=True))
    if item.get("runbook"):
        parts.append(f"See {r.link('runbook', item['runbook'], here)}.")
    if item.get("links"):
        parts.append(r.links(item["links"], here))
    return b.join(parts) if parts else ""


def command_block(r: Renderer, command: Data, here: str) -> str:
    """A command: its code, what to type into it, its expected output and note; a warning box when it changes
    state."""
    body = []
    if command.get("runs_in"):
        body.append(f"*Run inside:* {safe.md_text(command['runs_in'])}")
    body.append(safe.code_block(command["code"], highlight(command.get("language"))))
    if command.get("input"):
        body.append("Then type:")
        body.append(safe.code_block(command["input"], highlight(command.get("input_language", "text"))))
    if command.get("expected_output"):
        body.append("Expected output:")
        body.append(safe.code_block(command["expected_output"], "text"))
    if command.get("sample_output"):
        body.append("Sample output:")
        body.append(safe.code_block(command["sample_output"], "text"))
    if command.get("note"):
        body.append(r.md(command["note"], here))
    title = str(command.get("title", ""))
    if command.get("destructive"):
        return b.admonition("warning", f"Changes state: {title}" if title else "Changes state", b.join(body))
    return b.join([f"**{safe.md_text(title)}**" if title else "", *body])


def runbook_flow(flow: Data) -> str:
    """Mermaid source of a runbook's decision flow."""
    nodes = [mermaid.Node(n["id"], n["label"], n.get("type", "action")) for n in flow["nodes"]]
    edges: list[mermaid.Edge] = []
    for node in flow["nodes"]:
        if node.get("next"):
            edges.append(mermaid.Edge(node["id"], node["next"]))
        for branch in node.get("branches", []):
            edges.append(mermaid.Edge(node["id"], branch["to"], branch.get("label")))
    return mermaid.flowchart(nodes, edges)


def checklist_block(
    r: Renderer,
    checklist: Data,
    level: int,
    here: str,
    anchors: b.Anchors,
    shared: str | None = None,
    prefix: str = "",
) -> str:
    """A checklist with check boxes; ``shared`` links to the catalog's copy of a shared one."""
    title = prefix + str(checklist["title"])
    if checklist.get("timebox"):
        title += f" (within {b.duration(checklist['timebox'])})"
    anchor = anchors.take(f"checklist-{checklist['id']}" if checklist.get("id") else f"checklist-{slug(title)}")
    parts = [b.heading(level, safe.md_text(title), anchor)]
    if shared is not None and checklist.get("id"):
        parts.append(f"*Shared checklist: [{safe.md_text(checklist['title'])}]({shared}#checklist-{checklist['id']})*")
    if checklist.get("description"):
        parts.append(r.md(checklist["description"], here))
    if checklist.get("items"):
        parts.append(r.md_list(checklist["items"], here, tasks=True))
    for section in checklist.get("sections", []):
        sub = str(section["title"])
        if section.get("timebox"):
            sub += f" (within {b.duration(section['timebox'])})"
        parts.append(f"**{safe.md_text(sub)}**")
        parts.append(r.md_list(section["items"], here, tasks=True))
    return b.join(parts)


def _triggered_by(alerts: list[Data], here: str) -> str:
    """The alerts that lead here, each linked to its permanent address on the alerts index (where a name several
    runbooks share offers the choice), with the labels that select this runbook when it has matchers."""
    rows = []
    scoped = False
    for alert in alerts:
        page, anchor = alert_target(str(alert["name"]))
        matchers, _ = rules_match.of_alert(alert)
        scoped = scoped or bool(matchers)
        when = ", ".join(m.text() for m in matchers) or "any labels"
        link = f"[{safe.md_text(alert['name'])}]({rel(here, page)}#{anchor})"
        rows.append([link, safe.md_text(when), safe.md_text(alert.get("condition", ""))])
    if not scoped:
        return b.table(["Alert", "Condition"], [[row[0], row[2]] for row in rows])
    return b.table(["Alert", "When", "Condition"], rows)
