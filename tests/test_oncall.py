"""Who to call: the answer read from escalation levels (oncall.py), and how pages show it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from runbinder import oncall, safe
from runbinder.render.escalation import escalation_flow, escalation_rows
from runbinder.render.site import SiteRenderer
from runbinder.validate import Index, load_project

CATALOG = """
site: {name: On-call test}
severities:
  - {id: sev1, name: Critical, criteria: [Down]}
  - {id: sev2, name: High, criteria: [Degraded]}
roles:
  - {id: commander, name: Incident commander, responsibilities: [Lead], severities: [sev1], filled_by: [lead]}
contacts:
  - id: owners
    name: Owning team
    type: team
    methods: [{type: pager, value: "+1 (555) 010-0199"}]
  - id: primary
    name: Primary on-call
    type: person
    methods: [{type: phone, value: "+44 20 7946 0958"}]
  - id: lead
    name: Lead
    type: person
    methods: [{type: phone, value: "Phone call"}]
  - {id: legal, name: Legal, type: team}
  - {id: vp, name: VP, type: person}
  - {id: secondary, name: Secondary, type: person}
escalation_policies:
  - id: situations
    name: Situations
    levels:
      - {to: [primary], method: phone}
      - {when: Data breach, to: [legal]}
      - {when: SEV1, severities: [sev1], to: [lead], method: phone}
      - {when: No progress after 4 hours, after: 4h, to: [vp]}
      - {when: No progress, after: 30m, to: [secondary], severities: [sev1]}
  - id: timed-only
    name: Timed only
    levels:
      - {after: 1h, to: [vp]}
services:
  - {id: web, name: Web, owner: owners, escalation_policy: situations}
  - {id: batch, name: Batch, owner: owners, escalation_policy: timed-only}
  - {id: lonely, name: Lonely, owner: owners}
"""

RUNBOOK = """
id: {ident}
title: High Error Rate
service: {service}
owner: owners
kind: alert-response
severity: sev1
summary: Errors.
phases:
  - title: Act
    steps:
      - title: Look
        text: Look.
"""


@pytest.fixture
def index(tmp_path: Path) -> Index:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "catalog.yaml").write_text(CATALOG, encoding="utf-8")
    for ident, service in (("web-errors", "web"), ("batch-errors", "batch"), ("lonely-errors", "lonely")):
        (runbooks / f"{ident}.yaml").write_text(RUNBOOK.format(ident=ident, service=service), encoding="utf-8")
    project = load_project(runbooks, None, tmp_path)
    assert [d.text() for d in project.diagnostics if d.level == "error"] == []
    return project.index


def _who(calls: tuple[oncall.Call, ...]) -> list[tuple[str, ...]]:
    return [call.to for call in calls]


def test_first_calls_and_timed_order(index: Index) -> None:
    at_sev1 = oncall.for_service(index, "web", "sev1")
    assert _who(at_sev1.first) == [("primary",), ("lead",)]  # the first level, and the level engaged at SEV1
    assert _who(at_sev1.then) == [("secondary",), ("vp",)]  # in time order (30m before 4h), not list order
    at_sev2 = oncall.for_service(index, "web", "sev2")
    assert _who(at_sev2.first) == [("primary",)]  # the SEV1-only level is not called at SEV2
    assert _who(at_sev2.then) == [("vp",)]
    assert at_sev1.policy == "situations"


def test_situations_are_never_in_the_order(index: Index) -> None:
    answer = oncall.for_service(index, "web", "sev1")
    assert ("legal",) not in _who(answer.first) + _who(answer.then)


def test_owner_is_the_first_call_when_a_policy_names_none(index: Index) -> None:
    assert _who(oncall.for_service(index, "batch", "sev2").first) == [("owners",)]
    assert _who(oncall.for_service(index, "batch", "sev2").then) == [("vp",)]
    lonely = oncall.for_service(index, "lonely", "sev1")
    assert (_who(lonely.first), lonely.then, lonely.policy) == ([("owners",)], (), None)


def test_roles_engaged_at_a_severity(index: Index) -> None:
    assert oncall.engaged_roles(index, "sev1") == ["commander"]
    assert oncall.engaged_roles(index, "sev2") == []


def test_unknown_severity_in_a_level_is_a_located_error(tmp_path: Path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "catalog.yaml").write_text(
        CATALOG.replace("severities: [sev1], to: [lead]", "severities: [sev9], to: [lead]")
    )
    project = load_project(runbooks, None, tmp_path)
    errors = [d.text() for d in project.diagnostics if d.level == "error"]
    assert len(errors) == 1
    assert "xref.severity" in errors[0]
    assert "sev9" in errors[0]


def test_conditions_are_branches_never_a_sequence(index: Index) -> None:
    renderer = SiteRenderer(index, today=date(2026, 11, 30), directory_urls=False)
    levels = index["escalation_policies"]["situations"].data["levels"]
    chart = escalation_flow(renderer, levels)
    edges = re.findall(r"^\s+(n\d+) -->(?:\|\"(.*?)\"\|)? (n\d+)$", chart, re.M)
    # n0 is the incident; n1..n5 the levels in list order.
    assert ("n0", "", "n1") in edges  # the first level, unconditional
    assert ("n0", "", "n2") in edges  # data breach and SEV1: branches of their own
    assert ("n0", "", "n3") in edges
    assert not any(source in ("n2", "n3") for source, _, _ in edges)  # nothing follows a situation
    timed = [(source, target) for source, _, target in edges if target in ("n4", "n5")]
    assert timed == [("n0", "n5"), ("n5", "n4")]  # 30 min, then 4 hours
    assert "useMaxWidth: false" in chart


def test_a_time_already_in_the_condition_is_not_said_twice(index: Index) -> None:
    renderer = SiteRenderer(index, today=date(2026, 11, 30), directory_urls=False)
    levels = index["escalation_policies"]["situations"].data["levels"]
    rows = list(escalation_rows(renderer, levels, "escalation.md"))
    assert rows[3][1] == "No progress after 4 hours"
    assert rows[4][1].startswith("No progress (after 30 min)")


def test_pages_answer_who_to_call_with_tel_links(index: Index) -> None:
    pages = SiteRenderer(index, today=date(2026, 11, 30), directory_urls=False).pages()
    severity = safe.FRAGMENTS.inline(pages["severity.md"].document())
    assert "### Who to call at SEV1 Critical {#severity-sev1-who-to-call}" in severity
    assert 'href="tel:+442079460958"' in severity  # the primary's phone, one tap away (an HTML table)
    assert "Also engaged at this level, on every service: [Incident commander]" in severity
    assert "tel:Phone" not in severity  # "Phone call" is not a number
    service = safe.FRAGMENTS.inline(pages["services/batch.md"].document())
    assert "## Who to call {#who-to-call}" in service
    assert "(tel:+15550100199)" in service
    runbook = safe.FRAGMENTS.inline(pages["runbooks/web-errors.md"].document())
    assert "**Call first:** [Primary on-call]" in runbook
    assert "**If not resolved:** after 30 min: [Secondary]" in runbook
    home = safe.FRAGMENTS.inline(pages["index.md"].document())
    assert "In an incident right now?" in home
    assert "[alerts index](alerts.md)" in home
    # Runbooks that share a title are told apart by their service in tabs and search results.
    assert pages["runbooks/web-errors.md"].title == "High Error Rate · Web"


@pytest.mark.parametrize(
    "value",
    [
        "+1 777 0100) [x](javascript:alert(1)",
        "+1 777 0100 <img src=x onerror=alert(1)>",
        "tel:+17770100",
        "+1\n777 0100",
    ],
)
def test_hostile_numbers_stay_text(tmp_path: Path, value: str) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    catalog = yaml.safe_load(CATALOG)
    catalog["contacts"][1]["methods"] = [{"type": "phone", "value": value}]
    (runbooks / "catalog.yaml").write_text(yaml.safe_dump(catalog), encoding="utf-8")
    project = load_project(runbooks, None, tmp_path)
    pages = SiteRenderer(project.index, today=date(2026, 11, 30), directory_urls=False).pages()
    markdown = pages["severity.md"].document()  # without the HTML fragments, which Markdown never reads
    severity = safe.FRAGMENTS.inline(markdown)
    assert "(tel:+17770100" not in markdown  # only a whole number is dialled
    assert 'href="tel:+17770100' not in severity
    assert "](javascript" not in markdown
    assert 'href="javascript' not in severity
    assert "<img" not in severity
    assert "Primary on-call" in severity


def test_a_condition_already_saying_if_is_not_prefixed_again(index: Index) -> None:
    renderer = SiteRenderer(index, today=date(2026, 11, 30), directory_urls=False)
    levels = [dict(level) for level in index["escalation_policies"]["situations"].data["levels"]]
    levels[1]["when"] = "If the webhook is business-critical"
    levels[2]["when"] = "Data breach suspected"
    chart = escalation_flow(renderer, levels)
    assert '["If the webhook is business#45;critical<br>' in chart  # mermaid's entities for - and :
    assert "If#58; If" not in chart
    assert '["If#58; Data breach suspected<br>' in chart


def test_a_timed_condition_keeps_its_time(index: Index) -> None:
    """A chart once read "If response times don't improve after 1..." on both arrows: the time was cut off."""
    renderer = SiteRenderer(index, today=date(2026, 11, 30), directory_urls=False)
    levels = [dict(level) for level in index["escalation_policies"]["situations"].data["levels"]]
    levels[4]["when"] = "If response times do not improve after 30 minutes"
    chart = escalation_flow(renderer, levels)
    assert "improve after 30 minutes" in chart
