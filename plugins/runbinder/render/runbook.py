"""A runbook's page: what is happening, the decision flow, time-boxed phases of steps and commands, who to call."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date

from .. import oncall, rules_match, safe
from ..languages import canonical, highlight
from ..placeholders import command_uses
from ..review import review_due
from ..sitemap import PAGES, alert_target, runbook_page, service_page
from ..structure import PathT, find_step
from ..structure import iter_commands as walk_commands
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
    due = review_due(rb, r.site)
    facts.append(_review_badge(rb, due, r.today))
    parts.append(" · ".join(facts))
    answer = oncall.for_runbook(r.index, rb)
    if answer.first or answer.then:
        calls = [f"**Call first:** {r.calls(answer.first, here, inline=True)}" if answer.first else ""]
        if answer.then:
            calls.append(f"**If not resolved:** {r.calls(answer.then, here, timed=True, inline=True)}")
        more = "#escalation" if rb.get("escalation") else f"{rel(here, service_page(rb['service']))}#who-to-call"
        calls.append(f"[Everyone to call]({more})")
        parts.append(" · ".join(c for c in calls if c))
    shown, names, bare = page_variables(r, rb)
    if not r.print_mode:
        # On a phone the page's contents sit in a drawer: the places a responder goes first, one tap away.
        jumps = [("Fill in your values", "variables")] if shown else []
        jumps.append((f"Start at step 1: {rb['phases'][0]['title']}", plan[("phases", 0)]))
        if rb.get("escalation"):
            jumps.append(("Escalation", "escalation"))
        parts.append("**Go to:** " + " · ".join(f"[{safe.md_text(text)}](#{anchor})" for text, anchor in jumps))
    if rb.get("tags"):
        parts.append(
            "**Tags:** "
            + " ".join(f"[{safe.md_text(tag)}]({rel(here, PAGES['tags'])}#tag-{tag})" for tag in rb["tags"])
        )
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
    # Right under the summary: what to fill in before the first command, and where the ticks stand.
    if shown:
        parts.append(variables_section(r, shown, here))
    if not r.print_mode:
        parts.append(safe.fragment('<div class="rb-progress"></div>'))
    for key, title in (("impact", "Impact"), ("symptoms", "Symptoms")):
        if rb.get(key):
            parts.append(b.heading(2, title, key))
            parts.append(r.md_list(rb[key], here))
    parts += _sections(r, rb, "before-phases", here, plan)
    if rb.get("flow"):
        parts.append(b.heading(2, "Decision flow", "decision-flow"))
        parts.append(b.fence(runbook_flow(rb["flow"]), "mermaid"))
        parts.append(_flow_steps(rb, plan))
    with _placeholders(names, bare):
        for number, phase in enumerate(rb["phases"], 1):
            parts.append(_phase(r, phase, number, here, plan))
    parts += _sections(r, rb, "after-phases", here, plan)
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
    return b.Page(here, page_title(r, rb), b.join(parts))


def page_title(r: Renderer, rb: Data) -> str:
    """The runbook's title with its service, for the browser tab and search results, where three runbooks called
    "High Error Rate" must not look alike."""
    service = r.index["services"].get(str(rb.get("service")))
    return f"{rb['title']} · {service.data['name']}" if service else str(rb["title"])


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


def _review_badge(rb: Data, due: date | None, today: date) -> str:
    """When the runbook was last checked, as a badge that turns into a warning once the review is overdue."""
    last = safe.md_text(rb.get("last_reviewed", "never"))
    if due is None or due < today:
        text = f"Review overdue: last reviewed {last}" if rb.get("last_reviewed") else "Never reviewed"
        return f'<span class="rb-review rb-review-overdue">{text}</span>'
    return f'<span class="rb-review">Reviewed {last}, next by {safe.md_text(_day(due))}</span>'


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
    parts = [b.heading(min(level, 6), safe.md_text(f"{number} {step['title']}"), anchor, classes=("rb-step",))]
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
    names, bare = _PLACEHOLDERS.get()
    body.append(safe.code_block(command["code"], highlight(command.get("language")), names, bare))
    if command.get("input"):
        body.append("Then type:")
        body.append(safe.code_block(command["input"], highlight(command.get("input_language", "text")), names, bare))
    if command.get("expected_output"):
        body.append("Expected output:")
        body.append(safe.code_block(command["expected_output"], "text"))
    if command.get("sample_output"):
        body.append("Sample output:")
        body.append(safe.code_block(command["sample_output"], "text"))
    if command.get("note"):
        body.append(r.md(command["note"], here))
    title = str(command.get("title", ""))
    named = [f"**{safe.md_text(title)}**" if title else "", *body]
    if command.get("destructive"):
        return b.admonition("warning rb-destructive", "Changes state: check before you run it", b.join(named))
    return b.join(named)


_PLACEHOLDERS: ContextVar[tuple[tuple[str, ...], tuple[str, ...]]] = ContextVar("placeholders", default=((), ()))
"""The placeholders the runbook page being rendered declares (all, and the bare ones): its commands mark them."""


@contextlib.contextmanager
def _placeholders(names: tuple[str, ...], bare: tuple[str, ...]) -> Iterator[None]:
    token = _PLACEHOLDERS.set((names, bare))
    try:
        yield
    finally:
        _PLACEHOLDERS.reset(token)


def page_variables(r: Renderer, rb: Data) -> tuple[list[tuple[Data, bool]], tuple[str, ...], tuple[str, ...]]:
    """The variables a runbook page offers to fill in: its own, then the site-wide ones its commands use, each with
    whether it is site-wide; and the names its commands mark (all, and the bare ones)."""
    own = {str(v["name"]): v for v in rb.get("variables", [])}
    site = {name: entry.data for name, entry in r.index.site_variables.items() if name not in own}
    bare = [n for n, v in own.items() if v.get("bare")] + [n for n, v in site.items() if v.get("bare")]
    used: set[str] = set()
    if site:
        for _path, command, _step in walk_commands(rb):
            for key, language in (("code", command.get("language")), ("input", command.get("input_language", "text"))):
                if isinstance(command.get(key), str):
                    used.update(u.name for u in command_uses(command[key], canonical(language), bare))
    shown = [(v, False) for v in own.values()] + [(v, True) for n, v in site.items() if n in used]
    names = tuple(str(v["name"]) for v, _ in shown)
    return shown, names, tuple(n for n in bare if n in names)


def variables_section(r: Renderer, shown: list[tuple[Data, bool]], here: str) -> str:
    """The placeholders of the page's commands, each explained: a list the page's script turns into a form (a
    field per placeholder, filled into every command); without the script, the list a reader replaces them by."""
    context = r.context(here)
    items = []
    for variable, site_wide in shown:
        classes = " ".join(c for c, on in (("rb-var-secret", variable.get("secret")), ("rb-var-site", site_wide)) if on)
        name = safe.html_attr(variable["name"])
        notes = []
        if variable.get("example"):
            notes.append(f"Example: <code>{safe.html_text(variable['example'])}</code>")
        if variable.get("secret"):
            notes.append("Secret: never paste it into a ticket or chat; this page never stores it.")
        if site_wide:
            notes.append("Site-wide: the same value fills every runbook of this site.")
        note = f'<p class="rb-var-note">{" ".join(notes)}</p>' if notes else ""
        kind = f' class="{classes}"' if classes else ""
        items.append(
            f'<dt{kind} data-rb-var="{name}"><code>{safe.html_text(variable["name"])}</code></dt>'
            f"<dd>{safe.markdown_html(str(variable['description']), context)}{note}</dd>"
        )
    intro = (
        "Replace these placeholders before running a command (they are marked in every command below). "
        "Never paste a secret into a ticket or chat."
    )
    return b.join(
        [
            b.heading(2, "Variables", "variables"),
            intro,
            safe.fragment(f'<div class="rb-vars"><dl>{"".join(items)}</dl></div>'),
        ]
    )


def _flow_steps(rb: Data, plan: dict[PathT, str]) -> str:
    """Under the chart, each box that stands for a step with a link to it (a chart's boxes cannot be links: the
    site draws diagrams with mermaid's strict security, which turns clicks off)."""
    items = []
    for node in rb["flow"]["nodes"]:
        found = find_step(rb, str(node["step"])) if node.get("step") else None
        if found is None or found[0] not in plan:
            continue
        path, number = found
        target = _step_at(rb, path)
        items.append(
            f"- {safe.md_text(node['label'])}: [{safe.md_text(number + ' ' + str(target.get('title', '')))}]"
            f"(#{plan[path]})"
        )
    return ("**Steps in this flow:**\n\n" + "\n".join(items)) if items else ""


def _step_at(rb: Data, path: PathT) -> Data:
    item: object = rb
    for key in path:
        item = item[key]  # type: ignore[index]
    return item if isinstance(item, dict) else {}


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
