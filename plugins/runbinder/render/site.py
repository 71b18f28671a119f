"""Every page of the runbook site as Markdown, from a validated project.

One pass collects who references what (for "Referenced by" sections); each
page is then a pure function of the data. All text from YAML goes through
``text.inline`` (plain text) or ``text.markdown`` (Markdown fields).
"""

from __future__ import annotations

import functools
import posixpath
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..review import review_due
from ..schemas import load_schemas
from ..sitemap import PAGES, page_paths
from ..urls import is_web_url
from ..validate import Index, slug
from . import mermaid
from . import text as t
from .schema_ref import schema_reference

Data = dict[str, Any]

KIND_TITLES = {
    "alert-response": "Alert response",
    "incident-procedure": "Incident procedure",
    "troubleshooting": "Troubleshooting",
    "maintenance": "Maintenance",
    "deployment": "Deployment",
    "process": "Process",
}
METHOD_TITLES = {
    "page": "Page",
    "phone": "Phone call",
    "chat": "Chat",
    "email": "E-mail",
    "ticket": "Ticket",
    "support-ticket": "Support ticket",
    "video": "Video call",
}


@dataclass(frozen=True)
class Ref:
    """Something that links to a target: its label and the page (and anchor) it is on."""

    label: str
    page: str
    anchor: str = ""


@dataclass
class SiteRenderer:
    """Renders the site for one project. ``pages()`` returns {docs path: Markdown}."""

    index: Index
    today: date
    backlinks: dict[tuple[str, str], list[Ref]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.site: Data = self.index.site.data if self.index.site else {}
        self.runbooks: list[Data] = sorted(
            (e.data for e in self.index.runbooks.values()),
            key=lambda r: (str(r.get("service")), str(r.get("title")).lower()),
        )
        self.by_service: dict[str, list[Data]] = defaultdict(list)
        for runbook in self.runbooks:
            self.by_service[runbook["service"]].append(runbook)
        self._collect_backlinks()

    # ------------------------------------------------------------------ targets and links

    def table(self, section: str) -> dict[str, Data]:
        return {k: e.data for k, e in self.index[section].items()}

    def target(self, kind: str, ident: str) -> tuple[str, str, str] | None:
        """(page, anchor, plain label) of a referenced thing, or None if it does not exist."""
        if kind == "runbook":
            rb = self.index.runbooks.get(ident)
            return (f"runbooks/{ident}.md", "", str(rb.data["title"])) if rb else None
        if kind == "service":
            svc = self.index["services"].get(ident)
            return (f"services/{ident}.md", "", str(svc.data["name"])) if svc else None
        if kind == "tag":
            return (PAGES["tags"], f"tag-{ident}", ident)
        section, page, name_key = {
            "contact": ("contacts", PAGES["contacts"], "name"),
            "role": ("roles", PAGES["roles"], "name"),
            "severity": ("severities", PAGES["severity"], "name"),
            "policy": ("escalation_policies", PAGES["escalation"], "name"),
            "tool": ("tools", PAGES["tools"], "name"),
            "template": ("templates", PAGES["templates"], "name"),
            "checklist": ("checklists", PAGES["checklists"], "title"),
        }[kind]
        entry = self.index[section].get(ident)
        if entry is None:
            return None
        name = self.severity_label(entry.data) if kind == "severity" else str(entry.data[name_key])
        return (page, f"{kind}-{ident}", name)

    def link(self, kind: str, ident: str, here: str) -> str:
        """A Markdown link from page ``here`` to a thing; plain text when it does not exist."""
        found = self.target(kind, ident)
        if found is None:
            return t.inline(ident)
        page, anchor, name = found
        return f"[{t.inline(name)}]({rel(here, page)}{'#' + anchor if anchor else ''})"

    def recipient(self, ident: str, here: str) -> str:
        """Who to escalate to, with their first contact method, so nobody has to look it up mid-incident."""
        if ident in self.index["roles"]:
            return self.link("role", ident, here)
        link = self.link("contact", ident, here)
        entry = self.index["contacts"].get(ident)
        methods = entry.data.get("methods", []) if entry else []
        return f"{link} ({contact_value(methods[0])})" if methods else link

    @staticmethod
    def severity_label(severity: Data) -> str:
        return f"{str(severity['id']).upper()} {severity['name']}"

    def badge(self, ident: str | None, here: str) -> str:
        """A severity badge that reads in black and white: the colour is decoration, the text says the level."""
        if not ident or ident not in self.index["severities"]:
            return "not set"
        sev = self.index["severities"][ident].data
        text = t.inline(self.severity_label(sev))
        page = rel(here, PAGES["severity"])
        return f'[<span class="rb-sev rb-sev-{ident}">{text}</span>]({page}#severity-{ident})'

    # ------------------------------------------------------------------ backlinks

    def _collect_backlinks(self) -> None:
        add = self._backlink
        for rb in self.runbooks:
            ref = Ref(str(rb["title"]), f"runbooks/{rb['id']}.md")
            add("service", rb.get("service"), ref)
            add("contact", rb.get("owner"), ref)
            add("severity", rb.get("severity"), ref)
            escalation = rb.get("escalation") or {}
            add("policy", escalation.get("policy"), ref)
            for level in escalation.get("levels", []):
                for who in level.get("to", []):
                    add("role" if who in self.index["roles"] else "contact", who, ref)
                add("tool", level.get("via"), ref)
            for other in rb.get("related", []):
                add("runbook", other, ref)
            for ident in rb.get("include_checklists", []):
                add("checklist", ident, ref)
            for phase in rb.get("phases", []):
                for step in phase.get("steps", []):
                    add("runbook", step.get("runbook"), ref)
            for tag in rb.get("tags", []):
                add("tag", tag, ref)
        for sid, svc in self.table("services").items():
            ref = Ref(str(svc["name"]), f"services/{sid}.md")
            add("contact", svc.get("owner"), ref)
            add("policy", svc.get("escalation_policy"), ref)
            for dep in svc.get("dependencies", []):
                add("service", dep, ref)
            for level in svc.get("severity_scale", []):
                add("severity", level.get("level"), ref)
        for pid, policy in self.table("escalation_policies").items():
            ref = Ref(str(policy["name"]), PAGES["escalation"], f"policy-{pid}")
            for level in policy.get("levels", []):
                for who in level.get("to", []):
                    add("role" if who in self.index["roles"] else "contact", who, ref)
                add("tool", level.get("via"), ref)
        for rid, role in self.table("roles").items():
            ref = Ref(str(role["name"]), PAGES["roles"], f"role-{rid}")
            for who in role.get("filled_by", []):
                add("contact", who, ref)
        for cid, contact in self.table("contacts").items():
            ref = Ref(str(contact["name"]), PAGES["contacts"], f"contact-{cid}")
            for who in contact.get("members", []):
                add("contact", who, ref)

    def _backlink(self, kind: str, ident: Any, ref: Ref) -> None:
        if isinstance(ident, str):
            refs = self.backlinks[(kind, ident)]
            if ref not in refs:
                refs.append(ref)

    def referenced_by(self, kind: str, ident: str, here: str, heading: str = "##") -> str:
        refs = self.backlinks.get((kind, ident), [])
        if not refs:
            return ""
        items = sorted(refs, key=lambda r: r.label.lower())
        lines = [f"- [{t.inline(r.label)}]({rel(here, r.page)}{'#' + r.anchor if r.anchor else ''})" for r in items]
        return f"{heading} Referenced by\n\n" + "\n".join(lines)

    # ------------------------------------------------------------------ pages

    def pages(self) -> dict[str, str]:
        """Every generated page."""
        out = {
            PAGES["home"]: self.home(),
            PAGES["severity"]: self.severity_page(),
            PAGES["escalation"]: self.escalation_page(),
            PAGES["contacts"]: self.contacts_page(),
            PAGES["roles"]: self.roles_page(),
            PAGES["services"]: self.services_index(),
            PAGES["runbooks"]: self.runbooks_index(),
            PAGES["alerts"]: self.alerts_page(),
            PAGES["tags"]: self.tags_page(),
            PAGES["templates"]: self.templates_page(),
            PAGES["tools"]: self.tools_page(),
            PAGES["checklists"]: self.checklists_page(),
            PAGES["schema"]: schema_reference(load_schemas()),
        }
        for sid in self.table("services"):
            out[f"services/{sid}.md"] = self.service_page(sid)
        for rb in self.runbooks:
            out[f"runbooks/{rb['id']}.md"] = self.runbook_page(rb)
        return out

    def page_paths(self) -> set[str]:
        """The paths of every generated page, without rendering them."""
        return page_paths(self.index)

    def nav(self, full: bool = True) -> list[Any]:
        """MkDocs nav: overview pages, then (``full``) each service with its runbooks."""
        services: list[Any] = [{"All services": PAGES["services"]}]
        for sid, svc in self.table("services").items() if full else ():
            children: list[Any] = [{"Overview": f"services/{sid}.md"}]
            children += [{str(rb["title"]): f"runbooks/{rb['id']}.md"} for rb in self.by_service.get(sid, [])]
            services.append({str(svc["name"]): children})
        return [
            {"Home": PAGES["home"]},
            {"Severity matrix": PAGES["severity"]},
            {"Escalation": PAGES["escalation"]},
            {"Alerts": PAGES["alerts"]},
            {"Services": services} if full else {"Services": PAGES["services"]},
            {"All runbooks": PAGES["runbooks"]},
            {"Contacts": PAGES["contacts"]},
            {"Roles": PAGES["roles"]},
            {"Communication templates": PAGES["templates"]},
            {"Tools and access": PAGES["tools"]},
            {"Checklists": PAGES["checklists"]},
            {"Tags": PAGES["tags"]},
            {"Schema reference": PAGES["schema"]},
        ]

    # -- home

    def home(self) -> str:
        here = PAGES["home"]
        name = str(self.site.get("name", "Runbooks"))
        parts = [f"# {t.inline(name)}"]
        if self.site.get("description"):
            parts.append(t.markdown(self.site["description"]))
        if self.site.get("start_here"):
            parts.append(t.admonition("danger", "In an incident right now?", t.bullets(self.site["start_here"])))
        parts.append("## Severity at a glance")
        rows = []
        for sid, sev in self.table("severities").items():
            rows.append(
                [
                    self.badge(sid, here),
                    t.inline(", ".join(sev.get("aliases", []))),
                    t.inline(sev.get("summary", "")),
                    t.inline(t.duration(sev["response_time"])),
                    t.inline(t.duration(sev["resolution_time"])) if sev.get("resolution_time") else "",
                ]
            )
        parts.append(t.table(["Level", "Also called", "When", "Respond within", "Resolve within"], rows))
        parts.append(f"Full criteria and required response: [severity matrix]({rel(here, PAGES['severity'])}).")
        parts.append("## Who to call")
        parts.append(self.escalation_matrix(here))
        parts.append("## Where to start")
        rows = []
        for sid, svc in self.table("services").items():
            count = len(self.by_service.get(sid, []))
            policy = svc.get("escalation_policy")
            rows.append(
                [
                    self.link("service", sid, here),
                    self.link("contact", svc["owner"], here),
                    str(count),
                    self.link("policy", policy, here) if policy else "",
                ]
            )
        parts.append(t.table(["Service", "Owner", "Runbooks", "Escalation"], rows))
        parts.append(
            f"Paged by an alert? Find it in the [alerts index]({rel(here, PAGES['alerts'])}). "
            f"Everything else: [all runbooks]({rel(here, PAGES['runbooks'])})."
        )
        return _join(parts)

    # -- severity

    def severity_chart(self) -> str:
        nodes: list[mermaid.Node] = []
        edges: list[mermaid.Edge] = []
        for sid, sev in self.table("severities").items():
            lines = [self.severity_label(sev), *[str(c) for c in sev.get("criteria", [])[:3]]]
            nodes.append(mermaid.Node(sid, "\n".join(lines)))
            target = f"Response: {t.duration(sev['response_time'])}"
            if sev.get("resolution_time"):
                target += f"\nResolution: {t.duration(sev['resolution_time'])}"
            nodes.append(mermaid.Node(f"{sid}-targets", target))
            edges.append(mermaid.Edge(sid, f"{sid}-targets"))
        return mermaid.flowchart(nodes, edges, "LR")

    def severity_page(self) -> str:
        here = PAGES["severity"]
        parts = ["# Severity matrix"]
        rows = []
        for sid, sev in self.table("severities").items():
            runbooks = [rb for rb in self.runbooks if rb.get("severity") == sid]
            rows.append(
                [
                    self.badge(sid, here),
                    t.inline(", ".join(sev.get("aliases", []))),
                    "<br>".join(t.inline(c) for c in sev.get("criteria", [])),
                    "<br>".join(t.inline(c) for c in sev.get("response", [])),
                    t.inline(t.duration(sev["response_time"])),
                    t.inline(t.duration(sev["resolution_time"])) if sev.get("resolution_time") else "",
                    str(len(runbooks)),
                ]
            )
        parts.append(
            t.table(
                [
                    "Level",
                    "Also called",
                    "Criteria (any)",
                    "Required response",
                    "Respond within",
                    "Resolve within",
                    "Runbooks",
                ],
                rows,
            )
        )
        parts.append("## Classification")
        parts.append(t.fence(self.severity_chart(), "mermaid"))
        for sid, sev in self.table("severities").items():
            parts.append(f"## {t.inline(self.severity_label(sev))} {{#severity-{sid}}}")
            if sev.get("summary"):
                parts.append(t.markdown(sev["summary"]))
            parts.append("**Criteria** (any one):\n\n" + t.bullets(sev.get("criteria", [])))
            if sev.get("response"):
                parts.append("**Required response:**\n\n" + t.bullets(sev["response"]))
            if sev.get("examples"):
                parts.append("**Examples:**\n\n" + t.bullets(sev["examples"]))
            per_service = []
            for svc_id, svc in self.table("services").items():
                for level in svc.get("severity_scale", []):
                    if level.get("level") == sid:
                        per_service.append([self.link("service", svc_id, here), *_scale_cells(level)])
            if per_service:
                parts.append("**How each service names and defines this level:**")
                parts.append(
                    t.table(
                        ["Service", "Their label", "Impact / criteria", "Respond within", "Resolve within", "Examples"],
                        per_service,
                    )
                )
            runbooks = [rb for rb in self.runbooks if rb.get("severity") == sid]
            if runbooks:
                parts.append(
                    "**Runbooks that start at this level:**\n\n"
                    + "\n".join(f"- {self.link('runbook', rb['id'], here)}" for rb in runbooks)
                )
        return _join(parts)

    # -- escalation

    def escalation_rows(self, levels: Iterable[Data], here: str) -> Iterator[list[str]]:
        for number, level in enumerate(levels, 1):
            when = level.get("when", "")
            if level.get("after"):
                when = f"{when} (after {t.duration(level['after'])})" if when else f"After {t.duration(level['after'])}"
            method = METHOD_TITLES.get(level.get("method", ""), "")
            if level.get("via"):
                method = (
                    f"{method} via {self.link('tool', level['via'], here)}"
                    if method
                    else self.link("tool", level["via"], here)
                )
            extra = [*([level["responsibility"]] if level.get("responsibility") else []), *level.get("actions", [])]
            yield [
                str(level.get("level", number)),
                t.inline(when),
                ", ".join(self.recipient(who, here) for who in level.get("to", [])),
                method,
                t.inline(level["timeline"]) if level.get("timeline") else "",
                "<br>".join(t.inline(x) for x in extra),
            ]

    def escalation_table(self, levels: Iterable[Data], here: str) -> str:
        return t.table(
            ["Level", "When", "Escalate to", "How", "Timeline", "Responsibility / actions"],
            list(self.escalation_rows(levels, here)),
        )

    def escalation_flow(self, levels: list[Data]) -> str:
        nodes = [mermaid.Node("start", "Incident", "start")]
        edges = []
        previous = "start"
        for number, level in enumerate(levels, 1):
            who = ", ".join(self._name_of(w) for w in level.get("to", []))
            key = f"level-{number}"
            how = METHOD_TITLES.get(level.get("method", ""), "")
            nodes.append(mermaid.Node(key, f"Level {level.get('level', number)}: {who}" + (f"\n{how}" if how else "")))
            condition = level.get("when") or ""
            if level.get("after"):
                condition = (condition + " " if condition else "") + f"after {t.duration(level['after'])}"
            edges.append(mermaid.Edge(previous, key, _short(condition) or None))
            previous = key
        return mermaid.flowchart(nodes, edges, "LR")

    def _name_of(self, ident: str) -> str:
        for section in ("roles", "contacts"):
            if ident in self.index[section]:
                return str(self.index[section][ident].data["name"])
        return ident

    def escalation_matrix(self, here: str) -> str:
        rows = []
        for pid, policy in self.table("escalation_policies").items():
            for level in policy.get("levels", []):
                row = next(self.escalation_rows([level], here))
                rows.append(
                    [row[1] or "Any time", row[2], "; ".join(filter(None, row[3:5])), self.link("policy", pid, here)]
                )
        for rb in self.runbooks:
            for level in (rb.get("escalation") or {}).get("levels", []):
                row = next(self.escalation_rows([level], here))
                rows.append(
                    [
                        row[1] or "Any time",
                        row[2],
                        "; ".join(filter(None, row[3:5])),
                        self.link("runbook", rb["id"], here),
                    ]
                )
        return t.table(["Condition", "Escalate to", "How", "Defined in"], rows)

    def escalation_page(self) -> str:
        here = PAGES["escalation"]
        parts = [
            "# Escalation",
            "## Escalation matrix",
            "Every escalation rule on this site: policies first, then levels written in runbooks.",
            self.escalation_matrix(here),
        ]
        for pid, policy in self.table("escalation_policies").items():
            parts.append(f"## {t.inline(policy['name'])} {{#policy-{pid}}}")
            if policy.get("service"):
                parts.append(f"Service: {self.link('service', policy['service'], here)}")
            if policy.get("description"):
                parts.append(t.markdown(policy["description"]))
            parts.append(self.escalation_table(policy["levels"], here))
            parts.append(t.fence(self.escalation_flow(policy["levels"]), "mermaid"))
            parts.append(self.referenced_by("policy", pid, here, "###"))
        return _join(parts)

    # -- contacts and roles

    def contacts_page(self) -> str:
        here = PAGES["contacts"]
        parts = ["# Contacts"]
        groups = [
            ("team", "Teams"),
            ("rotation", "On-call rotations"),
            ("person", "People"),
            ("external", "External parties"),
        ]
        for kind, title in groups:
            members = [(cid, c) for cid, c in self.table("contacts").items() if c["type"] == kind]
            if not members:
                continue
            parts.append(f"## {title}")
            for cid, contact in members:
                parts.append(f"### {t.inline(contact['name'])} {{#contact-{cid}}}")
                if contact.get("description"):
                    parts.append(t.markdown(contact["description"]))
                methods = [
                    f"- {t.inline(METHOD_LABELS.get(m['type'], m['type']))}: {contact_value(m)}"
                    + (f" ({t.inline(m['note'])})" if m.get("note") else "")
                    for m in contact.get("methods", [])
                ]
                parts.append("\n".join(methods) if methods else "*No contact details recorded.*")
                if contact.get("members"):
                    parts.append("Members: " + ", ".join(self.link("contact", m, here) for m in contact["members"]))
                owned = [sid for sid, s in self.table("services").items() if s.get("owner") == cid]
                if owned:
                    parts.append("Owns: " + ", ".join(self.link("service", s, here) for s in owned))
                parts.append(self.referenced_by("contact", cid, here, "####"))
        return _join(parts)

    def roles_page(self) -> str:
        here = PAGES["roles"]
        parts = ["# Roles"]
        for rid, role in self.table("roles").items():
            parts.append(f"## {t.inline(role['name'])} {{#role-{rid}}}")
            if role.get("description"):
                parts.append(t.markdown(role["description"]))
            if role.get("severities"):
                parts.append("Staffed for: " + ", ".join(self.badge(s, here) for s in role["severities"]))
            parts.append(t.bullets(role["responsibilities"]))
            if role.get("filled_by"):
                parts.append("Filled by: " + ", ".join(self.link("contact", c, here) for c in role["filled_by"]))
            parts.append(self.referenced_by("role", rid, here, "###"))
        return _join(parts)

    # -- services

    def services_index(self) -> str:
        here = PAGES["services"]
        rows = []
        for sid, svc in self.table("services").items():
            rows.append(
                [
                    self.link("service", sid, here),
                    self.link("contact", svc["owner"], here),
                    str(len(self.by_service.get(sid, []))),
                    ", ".join(self.link("service", d, here) for d in svc.get("dependencies", [])),
                ]
            )
        return _join(["# Services", t.table(["Service", "Owner", "Runbooks", "Depends on"], rows)])

    def service_page(self, sid: str) -> str:
        here = f"services/{sid}.md"
        svc = self.table("services")[sid]
        parts = [f"# {t.inline(svc['name'])}"]
        facts = [f"**Owner:** {self.link('contact', svc['owner'], here)}"]
        if svc.get("escalation_policy"):
            facts.append(f"**Escalation:** {self.link('policy', svc['escalation_policy'], here)}")
        parts.append(" · ".join(facts))
        if svc.get("description"):
            parts.append(t.markdown(svc["description"]))
        runbooks = self.by_service.get(sid, [])
        parts.append("## Runbooks")
        if runbooks:
            parts.append(
                t.table(
                    ["Runbook", "Kind", "Severity", "Alerts"],
                    [
                        [
                            self.link("runbook", rb["id"], here),
                            t.inline(KIND_TITLES[rb["kind"]]),
                            self.badge(rb.get("severity"), here),
                            str(len(rb.get("alerts", []))),
                        ]
                        for rb in runbooks
                    ],
                )
            )
        else:
            parts.append("*No runbooks yet.*")
        deps = svc.get("dependencies", [])
        dependents = [s for s, other in self.table("services").items() if sid in other.get("dependencies", [])]
        if deps or svc.get("external_dependencies") or dependents:
            parts.append("## Dependencies")
            if deps:
                parts.append("Depends on: " + ", ".join(self.link("service", d, here) for d in deps))
            if svc.get("external_dependencies"):
                parts.append("External: " + ", ".join(t.inline(d) for d in svc["external_dependencies"]))
            if dependents:
                parts.append("Depended on by: " + ", ".join(self.link("service", d, here) for d in dependents))
        if svc.get("severity_scale"):
            parts.append("## Severity scale")
            parts.append("How this service names the site's severity levels, with its own targets.")
            parts.append(
                t.table(
                    ["Site level", "Label here", "Impact / criteria", "Respond within", "Resolve within", "Examples"],
                    [[self.badge(level["level"], here), *_scale_cells(level)] for level in svc["severity_scale"]],
                )
            )
            for level in svc["severity_scale"]:
                if level.get("response"):
                    parts.append(f"**{t.inline(level['label'])} response:**\n\n" + t.bullets(level["response"]))
        if svc.get("metrics"):
            parts.append("## Key metrics")
            parts.append(
                t.table(
                    ["Group", "Metric", "Healthy"],
                    [
                        [t.inline(m.get("group", "")), t.inline(m["name"]), t.inline(m.get("target", ""))]
                        for m in svc["metrics"]
                    ],
                )
            )
        templates = [(tid, tpl) for tid, tpl in self.table("templates").items() if tpl.get("service") == sid]
        if templates:
            parts.append("## Communication templates")
            parts.append("\n".join(f"- {self.link('template', tid, here)}" for tid, _ in templates))
        if svc.get("links"):
            parts.append("## Links")
            parts.append(self.links(svc["links"]))
        if svc.get("source"):
            parts.append(f"*Source: {t.inline(svc['source'])}*")
        parts.append(self.referenced_by("service", sid, here))
        return _join(parts)

    def links(self, links: Iterable[Data]) -> str:
        lines = []
        for link in links:
            url = str(link["url"])
            target = url if is_web_url(url) else None
            label = t.inline(link["title"])
            shown = f"[{label}]({target})" if target else f"{label}: {t.code(url)}"
            lines.append(f"- {shown}" + (f": {t.item(link['description'])}" if link.get("description") else ""))
        return "\n".join(lines)

    # -- runbooks

    def runbooks_index(self) -> str:
        here = PAGES["runbooks"]
        rows = []
        for rb in self.runbooks:
            due = review_due(rb, self.site)
            overdue = " (overdue)" if due and due < self.today else ""
            rows.append(
                [
                    self.link("runbook", rb["id"], here),
                    self.link("service", rb["service"], here),
                    t.inline(KIND_TITLES[rb["kind"]]),
                    self.badge(rb.get("severity"), here),
                    t.inline(str(rb.get("last_reviewed", "never")) + overdue),
                ]
            )
        return _join(["# All runbooks", t.table(["Runbook", "Service", "Kind", "Severity", "Last reviewed"], rows)])

    def runbook_page(self, rb: Data) -> str:
        here = f"runbooks/{rb['id']}.md"
        parts = [f"# {t.inline(rb['title'])}"]
        facts = [
            f"**Service:** {self.link('service', rb['service'], here)}",
            f"**Owner:** {self.link('contact', rb['owner'], here)}",
            f"**Severity:** {self.badge(rb.get('severity'), here)}",
            f"**Kind:** {t.inline(KIND_TITLES[rb['kind']])}",
        ]
        if rb.get("escalation"):
            facts.append("**Escalation:** [who to call](#escalation)")
        parts.append(" · ".join(facts))
        due = review_due(rb, self.site)
        if rb.get("tags"):
            parts.append(
                "**Tags:** "
                + " ".join(f"[{t.inline(tag)}]({rel(here, PAGES['tags'])}#tag-{tag})" for tag in rb["tags"])
            )
        reviewed = f"**Last reviewed:** {t.inline(rb.get('last_reviewed', 'never'))}"
        if due:
            reviewed += f" (next review due {due.isoformat()})"
        parts.append(reviewed)
        if due is None or due < self.today:
            why = (
                f"It was last reviewed on {rb['last_reviewed']}; the review was due on {due.isoformat()}."
                if due
                else "It has never been reviewed."
            )
            parts.append(
                t.admonition(
                    "danger",
                    "Overdue for review",
                    f"{t.inline(why)} Check every command against the running system before "
                    "relying on it, then update `last_reviewed`.",
                )
            )
        if rb.get("alerts"):
            parts.append("## Triggered by")
            parts.append(
                t.table(
                    ["Alert", "Condition"],
                    [
                        [f"[{t.inline(a['name'])}]({rel(here, PAGES['alerts'])})", t.inline(a.get("condition", ""))]
                        for a in rb["alerts"]
                    ],
                )
            )
        parts.append("## Summary")
        parts.append(t.markdown(rb["summary"]))
        for key, title in (("impact", "Impact"), ("symptoms", "Symptoms")):
            if rb.get(key):
                parts.append(f"## {title}")
                parts.append(t.bullets(rb[key]))
        if rb.get("flow"):
            parts.append("## Decision flow")
            parts.append(t.fence(self.runbook_flow(rb["flow"]), "mermaid"))
        for number, phase in enumerate(rb["phases"], 1):
            parts.append(self.phase(rb, phase, number, here))
        if rb.get("variables"):
            parts.append("## Variables")
            parts.append(
                "Replace these placeholders before running a command. Never paste a secret into a ticket or chat."
            )
            parts.append(
                t.table(
                    ["Placeholder", "Meaning", "Secret", "Example"],
                    [
                        [
                            t.inline(v["name"]),
                            t.inline(v["description"]),
                            "**secret**" if v.get("secret") else "",
                            t.inline(v.get("example", "")),
                        ]
                        for v in rb["variables"]
                    ],
                )
            )
        for checklist in rb.get("checklists", []):
            parts.append(self.checklist(checklist, "##"))
        for ident in rb.get("include_checklists", []):
            entry = self.index["checklists"].get(ident)
            if entry:
                parts.append(self.checklist(entry.data, "##", link=rel(here, PAGES["checklists"])))
        if rb.get("recovery_validation"):
            parts.append(self.checklist({**rb["recovery_validation"]}, "##", prefix="Before closing: "))
        escalation = rb.get("escalation")
        if escalation:
            parts.append("## Escalation {#escalation}")
            if escalation.get("policy"):
                policy = self.index["escalation_policies"].get(escalation["policy"])
                parts.append(f"Follow {self.link('policy', escalation['policy'], here)}.")
                if policy:
                    parts.append(self.escalation_table(policy.data["levels"], here))
            if escalation.get("levels"):
                parts.append(self.escalation_table(escalation["levels"], here))
                parts.append(t.fence(self.escalation_flow(escalation["levels"]), "mermaid"))
            if escalation.get("notes"):
                parts.append(t.bullets(escalation["notes"]))
        if rb.get("prevention"):
            parts.append("## Prevention")
            parts.append(t.bullets(rb["prevention"]))
        if rb.get("related"):
            parts.append("## Related runbooks")
            parts.append("\n".join(f"- {self.link('runbook', r, here)}" for r in rb["related"]))
        if rb.get("references"):
            parts.append("## References")
            parts.append(self.links(rb["references"]))
        if rb.get("notes"):
            parts.append("## Notes")
            parts.append(t.bullets(rb["notes"]))
        if rb.get("history"):
            parts.append("## Change history")
            parts.append(
                t.table(
                    ["Date", "Version", "Changes", "Author"],
                    [
                        [
                            t.inline(h["date"]) + (f" ({t.inline(h['note'])})" if h.get("note") else ""),
                            t.inline(h.get("version", "")),
                            t.inline(h["changes"]),
                            t.inline(h.get("author", "")),
                        ]
                        for h in rb["history"]
                    ],
                )
            )
        parts.append(self.referenced_by("runbook", rb["id"], here))
        if rb.get("source"):
            parts.append(f"*Source: {t.inline(rb['source'])}*")
        return _join(parts)

    def phase(self, rb: Data, phase: Data, number: int, here: str) -> str:
        pid = phase.get("id") or slug(phase["title"])
        title = f"{number}. {phase['title']}"
        if phase.get("timebox"):
            title += f" (within {t.duration(phase['timebox'])})"
        parts = [f"## {t.inline(title)} {{#{pid}}}"]
        if phase.get("description"):
            parts.append(t.markdown(phase["description"]))
        for step_number, step in enumerate(phase["steps"], 1):
            sid = step.get("id") or slug(step["title"])
            parts.append(f"### {number}.{step_number} {t.inline(step['title'])} {{#{pid}-{sid}}}")
            if step.get("when"):
                parts.append(f"*When:* {t.inline(step['when'])}")
            if step.get("text"):
                parts.append(t.markdown(step["text"]))
            for command in step.get("commands", []):
                parts.append(self.command(command))
            if step.get("checklist"):
                parts.append(t.tasks(step["checklist"]))
            if step.get("runbook"):
                parts.append(f"See {self.link('runbook', step['runbook'], here)}.")
            if step.get("links"):
                parts.append(self.links(step["links"]))
        return _join(parts)

    def command(self, command: Data) -> str:
        language = command.get("language", "bash")
        body = [t.fence(command["code"], _highlight(str(language)))]
        if command.get("input"):
            body.append("Then type:")
            body.append(t.fence(command["input"], _highlight(str(command.get("input_language", "text")))))
        if command.get("expected_output"):
            body.append("Expected output:")
            body.append(t.fence(command["expected_output"], "text"))
        if command.get("note"):
            body.append(t.markdown(command["note"]))
        title = str(command.get("title", ""))
        if command.get("destructive"):
            heading = f"Changes state: {title}" if title else "Changes state"
            return t.admonition("warning", heading, _join(body))
        return _join([f"**{t.inline(title)}**" if title else "", *body])

    def runbook_flow(self, flow: Data) -> str:
        nodes = [mermaid.Node(n["id"], n["label"], n.get("type", "action")) for n in flow["nodes"]]
        edges: list[mermaid.Edge] = []
        for node in flow["nodes"]:
            if node.get("next"):
                edges.append(mermaid.Edge(node["id"], node["next"]))
            for branch in node.get("branches", []):
                edges.append(mermaid.Edge(node["id"], branch["to"], branch.get("label")))
        return mermaid.flowchart(nodes, edges)

    def checklist(self, checklist: Data, heading: str, link: str | None = None, prefix: str = "") -> str:
        title = prefix + str(checklist["title"])
        if checklist.get("timebox"):
            title += f" (within {t.duration(checklist['timebox'])})"
        anchor = f" {{#checklist-{checklist['id']}}}" if checklist.get("id") and link is None else ""
        parts = [f"{heading} {t.inline(title)}{anchor}"]
        if link is not None and checklist.get("id"):
            parts.append(f"*Shared checklist: [{t.inline(checklist['title'])}]({link}#checklist-{checklist['id']})*")
        if checklist.get("description"):
            parts.append(t.markdown(checklist["description"]))
        if checklist.get("items"):
            parts.append(t.tasks(checklist["items"]))
        for section in checklist.get("sections", []):
            sub = str(section["title"])
            if section.get("timebox"):
                sub += f" (within {t.duration(section['timebox'])})"
            parts.append(f"**{t.inline(sub)}**")
            parts.append(t.tasks(section["items"]))
        return _join(parts)

    # -- indexes

    def alerts_page(self) -> str:
        here = PAGES["alerts"]
        rows = []
        for rb in sorted(self.runbooks, key=lambda r: [str(a["name"]).lower() for a in r.get("alerts", [])] or [""]):
            for alert in rb.get("alerts", []):
                rows.append(
                    [
                        t.inline(alert["name"]),
                        t.inline(alert.get("condition", "")),
                        self.link("runbook", rb["id"], here),
                        self.link("service", rb["service"], here),
                        self.badge(rb.get("severity"), here),
                    ]
                )
        rows.sort(key=lambda r: r[0].lower())
        return _join(
            [
                "# Alerts",
                "Which runbook to open for each alert.",
                t.table(["Alert", "Condition", "Runbook", "Service", "Severity"], rows),
            ]
        )

    def tags_page(self) -> str:
        here = PAGES["tags"]
        tags: dict[str, list[Data]] = defaultdict(list)
        for rb in self.runbooks:
            for tag in rb.get("tags", []):
                tags[tag].append(rb)
        parts = ["# Tags"]
        for tag in sorted(tags):
            parts.append(f"## {t.inline(tag)} {{#tag-{tag}}}")
            parts.append("\n".join(f"- {self.link('runbook', rb['id'], here)}" for rb in tags[tag]))
        return _join(parts)

    def templates_page(self) -> str:
        here = PAGES["templates"]
        parts = ["# Communication templates"]
        for audience, title in (("internal", "Internal"), ("external", "External")):
            items = [(tid, tpl) for tid, tpl in self.table("templates").items() if tpl["audience"] == audience]
            if not items:
                continue
            parts.append(f"## {title}")
            for tid, tpl in items:
                parts.append(f"### {t.inline(tpl['name'])} {{#template-{tid}}}")
                facts = []
                if tpl.get("channel"):
                    facts.append(f"**Channel:** {t.inline(tpl['channel'])}")
                if tpl.get("service"):
                    facts.append(f"**Service:** {self.link('service', tpl['service'], here)}")
                if facts:
                    parts.append(" · ".join(facts))
                if tpl.get("description"):
                    parts.append(t.markdown(tpl["description"]))
                if tpl.get("subject"):
                    parts.append(f"**Subject:** {t.code(tpl['subject'])}")
                parts.append(t.fence(tpl["body"], "markdown" if tpl.get("format") == "markdown" else "text"))
                if tpl.get("variables"):
                    parts.append(
                        t.table(
                            ["Placeholder", "Fill in"],
                            [[t.inline("{" + v["name"] + "}"), t.inline(v["description"])] for v in tpl["variables"]],
                        )
                    )
        return _join(parts)

    def tools_page(self) -> str:
        here = PAGES["tools"]
        parts = ["# Tools and access", "What a responder needs access to, and at which level."]
        parts.append(
            t.table(
                ["Tool", "Purpose", "Access level", "Where", "Commands"],
                [
                    [
                        f"[{t.inline(tool['name'])}](#tool-{tid})",
                        t.inline(tool["purpose"]),
                        t.inline(tool.get("access_level", "")),
                        t.inline(tool.get("url", "")),
                        t.inline(", ".join(tool.get("executables", []))),
                    ]
                    for tid, tool in self.table("tools").items()
                ],
            )
        )
        for tid, tool in self.table("tools").items():
            parts.append(f"## {t.inline(tool['name'])} {{#tool-{tid}}}")
            parts.append(t.inline(tool["purpose"]))
            if tool.get("services"):
                parts.append("Used for: " + ", ".join(self.link("service", s, here) for s in tool["services"]))
            parts.append(self.referenced_by("tool", tid, here, "###"))
        return _join(parts)

    def checklists_page(self) -> str:
        here = PAGES["checklists"]
        parts = ["# Checklists"]
        for cid, checklist in self.table("checklists").items():
            parts.append(self.checklist(checklist, "##"))
            parts.append(self.referenced_by("checklist", cid, here, "###"))
        return _join(parts)


def _scale_cells(level: Data) -> list[str]:
    """A service severity definition as table cells: label, impact and criteria, targets, examples."""
    statements = [*([level["impact"]] if level.get("impact") else []), *level.get("criteria", [])]
    return [
        t.inline(level["label"]),
        "<br>".join(t.inline(x) for x in statements),
        _within(level.get("response_time")),
        _within(level.get("resolution_time")),
        "<br>".join(t.inline(x) for x in level.get("examples", [])),
    ]


def _within(value: object) -> str:
    """A duration cell, empty when the target is not set."""
    return t.inline(t.duration(str(value))) if value else ""


def severity_css(severities: Iterable[Data]) -> str:
    """Badge colours from the catalog; text colour picked for contrast. The label always says the level."""
    rules = []
    for sev in severities:
        color = str(sev.get("color", "#616161"))
        r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
        ink = "#000" if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "#fff"
        rules.append(f".rb-sev-{sev['id']} {{ background: {color}; color: {ink}; }}")
    return "\n".join(rules) + "\n"


METHOD_LABELS = {"email": "E-mail", "phone": "Phone", "chat": "Chat", "pager": "Pager", "url": "Web"}
HIGHLIGHT = {"sh": "bash", "promql": "text", "markdown": "markdown", "php": "php", "text": "text"}


def _highlight(language: str) -> str:
    """The Pygments lexer name for a command language (PromQL has none: shown as text)."""
    return HIGHLIGHT.get(language, language)


def contact_value(method: Data) -> str:
    value = str(method["value"])
    if method["type"] == "email" and "@" in value and " " not in value:
        return f"[{t.inline(value)}](mailto:{value})"
    if method["type"] == "url" and is_web_url(value):
        return f"[{t.inline(value)}]({value})"
    return t.inline(value)


def rel(here: str, target: str) -> str:
    """Relative link from one docs page to another (MkDocs resolves .md links)."""
    return _relative(posixpath.dirname(here), target)


@functools.lru_cache(maxsize=1 << 16)  # pages live in a few folders: the same pairs recur on every page
def _relative(folder: str, target: str) -> str:
    return posixpath.relpath(target, folder or ".")


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _join(parts: Iterable[str]) -> str:
    return "\n\n".join(p.strip("\n") for p in parts if p) + "\n"
