"""Index pages: all runbooks, alerts, tags."""

from __future__ import annotations

from collections import defaultdict

from .. import safe
from ..alerts import Coverage, entries, runbook_alerts
from ..review import review_due
from ..sitemap import PAGES, runbook_page
from . import blocks as b
from .base import KIND_TITLES, Data, Renderer


def runbooks_index(r: Renderer) -> b.Page:
    """Every runbook with its service, kind, severity and review state."""
    here = PAGES["runbooks"]
    rows = []
    for rb in r.runbooks:
        due = review_due(rb, r.site)
        overdue = " (overdue)" if due and due < r.today else ""
        rows.append(
            [
                r.link_html("runbook", rb["id"], here),
                r.link_html("service", rb["service"], here),
                safe.html_text(KIND_TITLES.get(rb["kind"], rb["kind"])),
                r.badge_html(rb.get("severity"), here),
                safe.html_text(str(rb.get("last_reviewed", "never")) + overdue),
            ]
        )
    headers = ["Runbook", "Service", "Kind", "Severity", "Last reviewed"]
    body = b.join([b.heading(1, "All runbooks"), b.html_table(headers, rows)])
    return b.Page(here, "All runbooks", body, searchable=False)


def alerts_page(r: Renderer, coverage: Coverage | None = None) -> b.Page:
    """Which runbook to open for each alert: one entry per alert name, at the alert's permanent address
    (``sitemap.alert_target``), listing the runbooks to choose from and, with rule files (``coverage``), the rules
    that fire it: expression, ``for``, severity and summary."""
    here = PAGES["alerts"]
    known = coverage.entries() if coverage is not None else entries(runbook_alerts(r.index, located=False))
    parts = [
        b.heading(1, "Alerts"),
        "Which runbook to open for each alert. Every alert has a permanent address on this page, its entry "
        "(`#alert-` and its name), that stays the same when runbooks are renamed or split: point a rule's "
        "`runbook_url` at it (`runbinder alerts --write-urls`). Where runbooks share an alert name, the table says "
        "which labels lead to which runbook.",
    ]
    if coverage is not None:
        counts = coverage.summary()
        parts.append(
            safe.md_text(
                f"{counts['rules']} alerting rules in {counts['rule_files']} rule files; "
                f"{counts['names_without_runbook']} of {counts['alert_names']} alert names have no runbook yet."
            )
        )
    if known:
        parts.append(safe.fragment('<div class="rb-filter"></div>'))  # the page's script puts a name filter here
    anchors = b.Anchors()
    for entry in known:
        parts.append(b.heading(2, safe.md_text(entry.name), anchors.take(entry.anchor), classes=("rb-alert",)))
        if entry.choices:
            rows = []
            for choice in entry.choices:
                runbook = r.index.runbooks.get(choice.runbook)
                data = runbook.data if runbook is not None else {}
                rows.append(
                    [
                        r.link_html("runbook", choice.runbook, here),
                        safe.html_text(" ".join((choice.when() or "any labels").split())),
                        r.link_html("service", str(data.get("service", "")), here),
                        r.badge_html(data.get("severity"), here),
                        safe.html_text(" ".join(choice.condition.split())),
                    ]
                )
            parts.append(b.html_table(["Runbook", "When", "Service", "Severity", "Condition"], rows))
        else:
            parts.append("**No runbook handles this alert yet.**")
        if coverage is not None and not entry.rules and entry.choices:
            parts.append("No rule in the configured rule files fires this alert.")
        for verdict in entry.rules:
            rule = verdict.rule
            facts = [
                f"in {rule.file}:{rule.line}",
                f"group {rule.group}" if rule.group else "",
                f"severity {rule.severity}" if rule.severity else "no severity label",
                f"for {rule.for_}" if rule.for_ else "fires at once",
            ]
            handled = ", ".join(r.link("runbook", ident, here) for ident in verdict.runbooks) or "no runbook"
            parts.append("**Rule** " + safe.md_text(", ".join(f for f in facts if f)) + f" → {handled}")
            summary = rule.annotations.get("summary")
            if summary:
                parts.append(safe.md_text(summary))
            parts.append(safe.code_block(rule.expr.rstrip("\n"), "text"))
    if not known:
        parts.append("No runbook lists an alert yet.")
    return b.Page(here, "Alerts", b.join(parts))


def tags_page(r: Renderer) -> b.Page:
    """Runbooks grouped by tag."""
    here = PAGES["tags"]
    tags: dict[str, list[Data]] = defaultdict(list)
    for rb in r.runbooks:
        for tag in rb.get("tags", []):
            tags[tag].append(rb)
    anchors = b.Anchors()
    parts = [b.heading(1, "Tags")]
    for tag in sorted(tags):
        parts.append(b.heading(2, safe.md_text(tag), anchors.take(f"tag-{safe.css_ident(tag)}")))
        parts.append(r.link_list(((str(rb["title"]), runbook_page(rb["id"])) for rb in tags[tag]), here))
    return b.Page(here, "Tags", b.join(parts), searchable=False)
