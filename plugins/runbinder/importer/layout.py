"""From a parsed Markdown runbook to runbinder's model: summary, impact, phases of steps, sections, variables.

Alert runbooks (the prometheus-operator and OpenShift collections) follow Meaning / Impact / Diagnosis /
Mitigation; general Markdown (the seed documents) is read by headings: each second-level heading a runbook,
third-level ones its phases. Whatever matches no known part becomes a labelled section: nothing is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..structure import slug
from . import commands as cmd
from .fields import Rewrite, field_markdown, plain, title_from
from .source import Block, Section

SUMMARY = ("meaning", "summary", "description", "overview", "what this means")
IMPACT = ("impact", "business impact", "user impact")
PHASES = {
    "diagnosis": "Diagnosis",
    "diagnose": "Diagnosis",
    "investigation": "Diagnosis",
    "troubleshooting": "Diagnosis",
    "debugging": "Diagnosis",
    "verification": "Diagnosis",
    "mitigation": "Mitigation",
    "mitigate": "Mitigation",
    "resolution": "Mitigation",
    "remediation": "Mitigation",
    "fix": "Mitigation",
    "recovery": "Mitigation",
    "runbook": "Runbook",
    "procedure": "Procedure",
    "steps": "Steps",
    "solution": "Mitigation",
    "actions": "Actions",
}
_ALTERNATIVE = re.compile(
    r"\b(web console|console|cli|command line|command-line|ui|gui|option \d+|alternative(?:ly)?|"
    r"before|after|using|with|via|manual(?:ly)?|automatic(?:ally)?|openshift \d|version \d|\d+\.\d+)\b",
    re.IGNORECASE,
)


@dataclass
class Context:
    """What building one runbook collects along the way."""

    rewrite: Rewrite
    review: list[str] = field(default_factory=list)
    assigned: set[str] = field(default_factory=set)  # shell variables earlier commands give values to
    variables: dict[str, str] = field(default_factory=dict)  # name -> the text around its first use
    programs: set[str] = field(default_factory=set)  # what the commands run, for the catalog's tools
    destructive: int = 0


def key(title: str) -> str:
    """A section title compared loosely: lower case, no punctuation."""
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", title.lower()).split())


def details(blocks: list[Block]) -> tuple[list[Block], list[tuple[str, list[Block]]]]:
    """``<details><summary>Title</summary> ... </details>`` groups taken out of a run of blocks: they become
    folded sections (raw HTML would only be shown as text)."""
    kept: list[Block] = []
    found: list[tuple[str, list[Block]]] = []
    inside: tuple[str, list[Block]] | None = None
    for block in blocks:
        text = block.inline if block.kind == "html" else ""
        if inside is None and re.match(r"\s*<details\b", text, re.IGNORECASE):
            summary = re.search(r"<summary>(.*?)</summary>", text, re.IGNORECASE | re.DOTALL)
            title = plain(re.sub(r"<[^>]+>", "", summary.group(1))) if summary else "Details"
            rest = re.sub(r"(?is)\s*<details\b[^>]*>\s*(<summary>.*?</summary>)?", "", text, count=1).strip()
            inside = (title or "Details", [])
            if rest and not re.fullmatch(r"(?is)</details>", rest):
                inside[1].append(Block("html", rest, block.start, block.end, inline=rest))
            if re.search(r"</details>\s*$", text, re.IGNORECASE):
                found.append(inside)
                inside = None
        elif inside is not None and re.match(r"\s*</details>", text, re.IGNORECASE):
            found.append(inside)
            inside = None
        elif inside is not None:
            inside[1].append(block)
        else:
            kept.append(block)
    if inside is not None:
        found.append(inside)
    return kept, found


def _unfold(section: Section, out: dict[str, Any], placement: str, ctx: Context) -> None:
    section.blocks, folded = details(section.blocks)
    for title, blocks in folded:
        text = field_markdown(blocks, ctx.rewrite) or "(empty in the source)"
        out["sections"].append({"title": title, "text": text, "placement": placement, "collapsed": True})
    for child in section.children:
        _unfold(child, out, placement, ctx)


def alert_parts(root: Section, ctx: Context) -> dict[str, Any]:
    """Summary, impact, phases and sections of an alert runbook (Meaning / Impact / Diagnosis / Mitigation)."""
    top = root
    intro: list[Block] = list(root.blocks)
    if len(root.children) == 1 and root.children[0].level == 1:
        top = root.children[0]
        intro += top.blocks
    out: dict[str, Any] = {"phases": [], "sections": []}
    seen_phase = False
    intro, folded = details(intro)
    for title, blocks in folded:
        out["sections"].append(
            {
                "title": title,
                "text": field_markdown(blocks, ctx.rewrite) or "(empty in the source)",
                "placement": "before-phases",
                "collapsed": True,
            }
        )
    for section in top.children:
        _unfold(section, out, "after-phases" if seen_phase or key(section.title) in PHASES else "before-phases", ctx)
        name = key(section.title)
        if name in SUMMARY and "summary" not in out:
            out["summary"] = _whole(section, ctx)
        elif name in IMPACT and "impact" not in out:
            out["impact"] = _statements(section, ctx)
        elif name in PHASES:
            seen_phase = True
            out["phases"].append(phase(section, PHASES[name] if section.title.isupper() else section.title, ctx))
        else:
            placement = "after-phases" if seen_phase else "before-phases"
            out["sections"].append(
                {
                    "title": section.title or "Notes",
                    "text": _whole(section, ctx) or "(empty)",
                    "placement": placement,
                    "_heading": section.title,
                }
            )
    if "summary" not in out:
        text = field_markdown(intro, ctx.rewrite)
        if text:
            out["summary"] = text
        else:
            out["summary"] = "TODO: what this alert means."
            ctx.review.append("no Meaning section: the summary is a TODO")
    elif intro and (text := field_markdown(intro, ctx.rewrite)):  # an intro of only a comment: kept for review
        out["sections"].insert(0, {"title": "Introduction", "text": text, "placement": "before-phases"})
    if not out["phases"]:
        ctx.review.append("no Diagnosis or Mitigation section: the runbook has one placeholder step")
        out["phases"] = [{"title": "Response", "steps": [{"title": "TODO: write the first step"}]}]
    if not out["sections"]:
        del out["sections"]
    return out


def _whole(section: Section, ctx: Context) -> str:
    """A section and its sub-sections as one Markdown field (sub-headings kept as headings)."""
    parts = [field_markdown(section.blocks, ctx.rewrite)]
    for child in section.children:
        parts.append(f"{'#' * min(child.level, 6)} {child.title}")
        parts.append(_whole(child, ctx))
    return "\n\n".join(p for p in parts if p.strip())


def _statements(section: Section, ctx: Context) -> list[str]:
    """Impact as a list of statements: list items stay items, each other block is one."""
    items: list[str] = []
    for block in section.blocks:
        if block.kind == "list":
            for item in block.items:
                text = field_markdown(item.blocks, ctx.rewrite)
                if text.strip():
                    items.append(text)
        else:
            text = field_markdown([block], ctx.rewrite)
            if text.strip():
                items.append(text)
    for child in section.children:
        items.append(f"**{child.title}**\n\n{_whole(child, ctx)}")
    return items or ["TODO: describe the impact."]


def phase(section: Section, title: str, ctx: Context) -> dict[str, Any]:
    """A phase from a section: its sub-headings, or its numbered items, or its code blocks, become steps."""
    description, steps = steps_from_blocks(section.blocks, ctx)
    out: dict[str, Any] = {"title": title or "Steps", "_heading": section.title}
    if description:
        out["description"] = description
    steps = [_clean(s) for s in steps] + steps_from_sections(section.children, ctx)
    out["steps"] = unique_ids(steps) or [{"title": title or "Steps", "text": description or "(empty in the source)"}]
    if not steps and description:
        del out["description"]
    return out


def steps_from_sections(children: list[Section], ctx: Context) -> list[dict[str, Any]]:
    """Sub-headings as steps; a heading whose sub-headings are alternatives (CLI / web console) gets those."""
    steps = []
    for child in children:
        step: dict[str, Any] = {"title": child.title or "Step", "_heading": child.title}
        description, inner = steps_from_blocks(child.blocks, ctx)
        if len(inner) == 1 and not description and inner[0].get("_anonymous"):
            step.update({k: v for k, v in inner[0].items() if k not in ("title", "_anonymous")})
        else:
            if description:
                step["text"] = description
            if inner:
                step["steps"] = inner
        grand = child.children
        if len(grand) >= 2 and all(_ALTERNATIVE.search(g.title) for g in grand):
            step["alternatives"] = [_alternative(g, ctx) for g in grand]
        elif grand:
            step.setdefault("steps", []).extend(steps_from_sections(grand, ctx))
        if not any(k in step for k in ("text", "commands", "steps", "alternatives")):
            step["text"] = "(no text under this heading in the source)"
        steps.append(step)
    return [_clean(s) for s in steps]


def _alternative(section: Section, ctx: Context) -> dict[str, Any]:
    description, steps = steps_from_blocks(section.blocks, ctx)
    way: dict[str, Any] = {"title": section.title, "_heading": section.title}
    if len(steps) == 1 and steps[0].get("_anonymous") and not description:
        way.update({k: v for k, v in steps[0].items() if k in ("text", "commands")})
    else:
        if description:
            way["text"] = description
        if steps:
            way["steps"] = [_clean(s) for s in steps]
    if section.children:
        way.setdefault("steps", []).extend(steps_from_sections(section.children, ctx))
    if not any(k in way for k in ("text", "commands", "steps")):
        way["text"] = "(no text under this heading in the source)"
    return way


def steps_from_blocks(blocks: list[Block], ctx: Context) -> tuple[str, list[dict[str, Any]]]:
    """(text before the first step, steps) from a run of blocks."""
    lists = [b for b in blocks if b.kind == "list" and _holds_code(b)]
    if lists:
        return _steps_from_lists(blocks, ctx)
    return _steps_from_code(blocks, ctx)


def _holds_code(block: Block) -> bool:
    return any(
        child.kind == "code" or (child.kind == "list" and _holds_code(child)) for i in block.items for child in i.blocks
    )


def _steps_from_lists(blocks: list[Block], ctx: Context) -> tuple[str, list[dict[str, Any]]]:
    """Each item of a list that holds commands is a step; text between such lists starts the next step."""
    description_blocks: list[Block] = []
    steps: list[dict[str, Any]] = []
    pending: list[Block] = []
    for block in blocks:
        if block.kind == "list" and _holds_code(block):
            if pending:
                if steps:
                    steps.append(_text_step(pending, ctx))
                else:
                    description_blocks += pending
                pending = []
            for item in block.items:
                steps.append(_item_step(item.blocks, ctx))
        else:
            pending.append(block)
    if pending:
        steps.append(_text_step(pending, ctx))
    return field_markdown(description_blocks, ctx.rewrite), steps


def _item_step(blocks: list[Block], ctx: Context) -> dict[str, Any]:
    """A list item as a step: its first paragraph names it, its code blocks are its commands, nested lists that
    hold commands are its sub-steps."""
    text_blocks = [b for b in blocks if b.kind != "code" and not (b.kind == "list" and _holds_code(b))]
    step: dict[str, Any] = {}
    lead = field_markdown(text_blocks[:1], ctx.rewrite)
    step["title"] = title_from(lead) or "Step"
    text = field_markdown(text_blocks, ctx.rewrite)
    if text:
        step["text"] = text
    step.update(_commands([b for b in blocks if b.kind == "code"], text, ctx))
    subs = [i for b in blocks if b.kind == "list" and _holds_code(b) for i in b.items]
    if subs:
        step["steps"] = [_item_step(i.blocks, ctx) for i in subs]
    return _clean(step)


def _text_step(blocks: list[Block], ctx: Context) -> dict[str, Any]:
    text = field_markdown(blocks, ctx.rewrite)
    return {"title": title_from(text) or "Then", "text": text}


def _steps_from_code(blocks: list[Block], ctx: Context) -> tuple[str, list[dict[str, Any]]]:
    """Text and code blocks in order: each run of text with the code blocks after it is a step."""
    steps: list[dict[str, Any]] = []
    text: list[Block] = []
    code: list[Block] = []

    def flush() -> None:
        if not code:
            return
        intro = field_markdown(text, ctx.rewrite)
        step: dict[str, Any] = {"title": title_from(intro) if intro else _title_from_code(code[0].inline)}
        if intro:
            step["text"] = intro
        step.update(_commands(code, intro, ctx))
        steps.append(_clean(step))
        text.clear()
        code.clear()

    for block in blocks:
        if block.kind == "code":
            code.append(block)
        else:
            flush()
            text.append(block)
    flush()
    rest = field_markdown(text, ctx.rewrite)
    if not steps:
        return "", ([{"title": title_from(rest) or "Steps", "text": rest, "_anonymous": True}] if rest else [])
    if rest:
        # Text after the last command comments on it (what the output means, a caveat, a table of values): it is
        # shown under that command, in the order the author wrote it.
        last = steps[-1]["commands"][-1]
        last["note"] = f"{last['note']}\n\n{rest}" if last.get("note") else rest
    if len(steps) == 1:
        steps[0]["_anonymous"] = True
    return "", steps


def _title_from_code(code: str) -> str:
    first = next((line.strip() for line in code.split("\n") if line.strip()), "the command")
    words = re.sub(r"^\$\s*", "", first).split()[:4]
    return "Run " + " ".join(words)[:60]


def _commands(blocks: list[Block], around: str, ctx: Context) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for block in blocks:
        converted = cmd.convert(block.inline, block.info)
        ctx.review += converted.review
        for command in converted.commands:
            facts = cmd.inspect(command["code"], command.get("language", "bash"), ctx.assigned)
            for name in facts.placeholders:
                ctx.variables.setdefault(name, plain(around)[:200])
            ctx.assigned |= facts.assigned
            ctx.programs |= facts.programs
            if facts.change:
                command["destructive"] = True
                ctx.destructive += 1
            out.append(command)
    return {"commands": out} if out else {}


def _clean(step: dict[str, Any]) -> dict[str, Any]:
    """Keys in the schema's order, markers of the walk removed, sub-steps with ids of their own."""
    order = (
        "_heading", "id", "title", "when", "text", "commands", "checklist", "links", "runbook", "steps", "alternatives"
    )  # fmt: skip
    out = {k: step[k] for k in order if k in step}
    if "steps" in out:
        out["steps"] = unique_ids(out["steps"])
    return out


def unique_ids(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Steps whose titles give the same id (the same words, or the same first 64 characters) get ids of their own."""
    seen: set[str] = set()
    for step in steps:
        ident = str(step.get("id") or slug(str(step.get("title", ""))))
        if ident in seen:
            n = 2
            while f"{ident[:60]}-{n}" in seen:
                n += 1
            ident = f"{ident[:60]}-{n}"
            step["id"] = ident
            step.update({k: step.pop(k) for k in list(step) if k != "id"})  # id first, as authors write it
        seen.add(ident)
    return steps


def variables(ctx: Context) -> list[dict[str, Any]]:
    """Declarations for the placeholders found, each with a TODO description quoting where it was met."""
    out = []
    for name, around in ctx.variables.items():
        where = f' Seen in: "{around}"' if around else ""
        out.append({"name": name, "description": f"TODO: describe what to put here.{where}"})
    return out


def general_runbooks(root: Section, ctx_for: Callable[[], Context]) -> list[tuple[str, dict[str, Any], Context]]:
    """General Markdown: each second-level heading a runbook, its third-level headings phases."""
    top = root.children[0] if len(root.children) == 1 and root.children[0].level == 1 else root
    intro = [*root.blocks, *(top.blocks if top is not root else [])] if top.children else []
    out: list[tuple[str, dict[str, Any], Context]] = []
    for section in top.children or [top]:  # no second-level headings: the whole document is one runbook
        ctx = ctx_for()
        parts: dict[str, Any] = {}
        description, steps = steps_from_blocks(section.blocks, ctx)
        if len(steps) == 1 and steps[0].get("_anonymous") and not steps[0].get("commands"):
            description, steps = steps[0].get("text", ""), []  # text only: it says what the runbook is for
        summary = description
        parts["summary"] = summary or f"{section.title or 'Imported runbook'}."
        phases = []
        if steps and not (len(steps) == 1 and steps[0].get("_anonymous") and not steps[0].get("commands")):
            phases.append({"title": "Steps", "steps": [_clean(s) for s in steps]})
        for child in section.children:
            phases.append(phase(child, child.title, ctx))
        parts["phases"] = phases or [{"title": "Steps", "steps": [{"title": section.title, "text": parts["summary"]}]}]
        if intro and not out and (text := field_markdown(intro, ctx.rewrite)):  # the introduction opens runbook 1
            parts["sections"] = [{"title": top.title or "Introduction", "text": text, "placement": "before-phases"}]
        out.append((section.title, parts, ctx))
    return out


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def rewrite_anchors(data: dict[str, Any], plan: dict[tuple[str | int, ...], str]) -> dict[str, str]:
    """In-page links of the source (``#example-queries``, GitHub's anchor of a heading) rewritten to the anchor the
    page gives what that heading became (a phase, a step, a section); the import's ``_heading`` marks removed.
    Returns the rewrites made (``#old``: ``#new``)."""
    targets: dict[str, str] = {}

    def collect(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            heading = value.pop("_heading", None)
            if isinstance(heading, str) and heading and path in plan:
                targets.setdefault(github_anchor(heading), plan[path])
            for key_name, child in value.items():
                collect(child, (*path, key_name))
        elif isinstance(value, list):
            for i, child in enumerate(value):
                collect(child, (*path, i))

    collect(data, ())
    changed: dict[str, str] = {}

    def fix(value: Any) -> Any:
        if isinstance(value, str) and "](#" in value:

            def swap(match: re.Match[str]) -> str:
                new = targets.get(match.group(1))
                if new is None or new == match.group(1):
                    return match.group(0)
                changed[f"#{match.group(1)}"] = f"#{new}"
                return f"](#{new})"

            return re.sub(r"\]\(#([^)\s]+)\)", swap, value)
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    data.update(fix(data))
    return changed
