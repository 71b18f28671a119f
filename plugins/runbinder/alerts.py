"""Alerting rules and runbooks kept in step: which rule has no runbook, which ``runbook_url`` leads nowhere, which
runbook alert no rule fires, which rule two runbooks claim.

The core behind ``runbinder alerts``, ``runbinder check --rules``, the MkDocs plugin's ``alert_rules``, the pytest
plugin's rule items and the alerts index. A rule is handled by a runbook alert of the same name whose matchers its
labels satisfy (``rules_match``); the URL every face expects in ``runbook_url`` is ``sitemap.alert_url``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import rules_match
from .diagnostics import Diagnostic, sort_key
from .rules import Rule, RuleFile, expand, load_rule_file
from .rules_write import RewriteError, UrlEdit, rewrite, unified_diff, write_atomically
from .sitemap import alert_target, alert_url
from .validate import Index, display_path

RuleStatus = Literal["ok", "alert.no-runbook", "alert.ambiguous"]
UrlStatus = Literal["ok", "missing", "wrong", "not-checked"]


@dataclass(frozen=True)
class RunbookAlert:
    """An alert a runbook says it handles, with its matchers and where it is written."""

    runbook: str
    index: int
    name: str
    condition: str
    matchers: tuple[rules_match.Matcher, ...]
    usable: bool
    """False when one of its matchers cannot be used (validation reports it): it then matches nothing."""
    file: str
    line: int
    col: int

    def when(self) -> str:
        """Its matchers in Alertmanager's form, or an empty string when it takes every alert of its name."""
        return ", ".join(m.text() for m in self.matchers)


@dataclass
class RuleVerdict:
    """What became of one rule: the runbooks that handle it and the state of its runbook_url."""

    rule: Rule
    handlers: list[RunbookAlert]
    status: RuleStatus
    url: UrlStatus
    expected_url: str
    findings: list[Diagnostic] = field(default_factory=list)

    @property
    def runbooks(self) -> list[str]:
        """The ids of the runbooks that handle the rule, each once."""
        return list(dict.fromkeys(a.runbook for a in self.handlers))


@dataclass
class AlertVerdict:
    """What became of one runbook alert: how many rules it matches."""

    alert: RunbookAlert
    rules: int

    @property
    def status(self) -> Literal["ok", "runbook.no-rule"]:
        """``runbook.no-rule`` when no rule of the rule files fires it."""
        return "ok" if self.rules else "runbook.no-rule"


@dataclass
class AlertEntry:
    """One alert name as the alerts index shows it: its permanent address, the runbooks to choose from, and the
    rules that fire it (when rule files are configured)."""

    name: str
    page: str
    anchor: str
    choices: list[RunbookAlert]
    rules: list[RuleVerdict]


@dataclass
class Coverage:
    """The verdict on every rule and every runbook alert, and the findings, sorted by file and position."""

    files: list[RuleFile]
    rules: list[RuleVerdict]
    alerts: list[AlertVerdict]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    site_url: str | None = None
    directory_urls: bool = False

    def summary(self) -> dict[str, int]:
        """The counts a team reads first."""
        names = {v.rule.name for v in self.rules}
        severities: dict[str, set[str | None]] = {}
        for verdict in self.rules:
            severities.setdefault(verdict.rule.name, set()).add(verdict.rule.severity)
        handled = {v.rule.name for v in self.rules if v.status != "alert.no-runbook"}
        return {
            "rule_files": len(self.files),
            "rules": len(self.rules),
            "recording_rules": sum(f.recording for f in self.files),
            "alert_names": len(names),
            "names_at_several_severities": sum(1 for s in severities.values() if len(s) > 1),
            "rules_without_runbook": sum(v.status == "alert.no-runbook" for v in self.rules),
            "names_without_runbook": len(names - handled),
            "runbook_urls_missing": sum(v.url == "missing" for v in self.rules),
            "runbook_urls_wrong": sum(v.url == "wrong" for v in self.rules),
            "rules_ambiguous": sum(v.status == "alert.ambiguous" for v in self.rules),
            "runbook_alerts": len(self.alerts),
            "runbook_alerts_without_rule": sum(a.status == "runbook.no-rule" for a in self.alerts),
            "errors": sum(d.level == "error" for d in self.diagnostics),
            "warnings": sum(d.level == "warning" for d in self.diagnostics),
        }

    def report(self, extra: Sequence[Diagnostic] = ()) -> dict[str, Any]:
        """Every rule and every runbook alert with its classification, the counts and the findings (for JSON);
        ``extra`` diagnostics (the runbooks' own errors) join the findings."""
        rules = []
        for verdict in self.rules:
            rule = verdict.rule
            rules.append(
                {
                    "file": rule.file,
                    "line": rule.line,
                    "col": rule.col,
                    "group": rule.group,
                    "alert": rule.name,
                    "labels": rule.labels,
                    "for": rule.for_,
                    "status": verdict.status,
                    "runbooks": verdict.runbooks,
                    "runbook_url": {
                        "status": verdict.url,
                        "found": rule.annotations.get("runbook_url"),
                        "expected": verdict.expected_url,
                    },
                    "findings": [d.rule for d in verdict.findings],
                }
            )
        alerts = [
            {
                "file": v.alert.file,
                "line": v.alert.line,
                "col": v.alert.col,
                "runbook": v.alert.runbook,
                "alert": v.alert.name,
                "matchers": [m.text() for m in v.alert.matchers],
                "rules": v.rules,
                "status": v.status,
            }
            for v in self.alerts
        ]
        return {
            "summary": self.summary(),
            "rules": rules,
            "runbook_alerts": alerts,
            "diagnostics": [asdict(d) for d in sorted({*self.diagnostics, *extra}, key=sort_key)],
        }

    def entries(self) -> list[AlertEntry]:
        """Every alert name the site gives an address: those of the runbooks, and those of the rules."""
        return entries(self.alerts_only(), self.rules)

    def alerts_only(self) -> list[RunbookAlert]:
        """The runbook alerts, in project order."""
        return [v.alert for v in self.alerts]


def runbook_alerts(index: Index, *, located: bool = True) -> list[RunbookAlert]:
    """Every alert of every runbook in the project, with its matchers. Without ``located``, positions are left at
    0 (finding them composes each file's node tree again; pages do not need them)."""
    found = []
    for ident, entry in index.runbooks.items():
        alerts = entry.data.get("alerts")
        if not isinstance(alerts, list):
            continue
        for i, alert in enumerate(alerts):
            if not isinstance(alert, dict) or not isinstance(alert.get("name"), str):
                continue
            matchers, problems = rules_match.of_alert(alert)
            line, col = entry.doc.locate(("alerts", i, "name")) if located else (0, 0)
            condition = alert.get("condition")
            found.append(
                RunbookAlert(
                    runbook=ident,
                    index=i,
                    name=alert["name"],
                    condition=condition if isinstance(condition, str) else "",
                    matchers=matchers,
                    usable=not problems,
                    file=entry.doc.display,
                    line=line,
                    col=col,
                )
            )
    return found


def entries(alerts: Sequence[RunbookAlert], rules: Sequence[RuleVerdict] = ()) -> list[AlertEntry]:
    """The alerts index, one entry per alert name, by name (case-insensitively, then exactly)."""
    by_name: dict[str, AlertEntry] = {}

    def entry(name: str) -> AlertEntry:
        if name not in by_name:
            page, anchor = alert_target(name)
            by_name[name] = AlertEntry(name, page, anchor, [], [])
        return by_name[name]

    for alert in alerts:
        entry(alert.name).choices.append(alert)
    for verdict in rules:
        entry(verdict.rule.name).rules.append(verdict)
    return [by_name[name] for name in sorted(by_name, key=lambda n: (n.lower(), n))]


def load_rules(paths: Iterable[Path], cwd: Path) -> list[RuleFile]:
    """Load rule files, each named for messages as the user would type it."""
    return [load_rule_file(path, display_path(path, cwd)) for path in paths]


def classify(
    index: Index, files: Sequence[RuleFile], *, site_url: str | None = None, directory_urls: bool = False
) -> Coverage:
    """Classify every rule of ``files`` and every runbook alert of ``index``, with located findings.

    ``site_url`` is the published site's address: a runbook_url must then be exactly ``alert_url(...)``. Without
    it, a runbook_url must end with the alert's address relative to the site (``/alerts.html#alert-X``)."""
    alerts = runbook_alerts(index)
    by_name: dict[str, list[RunbookAlert]] = {}
    for alert in alerts:
        by_name.setdefault(alert.name, []).append(alert)
    rule_counts: dict[RunbookAlert, int] = dict.fromkeys(alerts, 0)
    diagnostics: list[Diagnostic] = [d for f in files for d in f.diagnostics]
    verdicts: list[RuleVerdict] = []
    every_rule = [rule for f in files for rule in f.rules]
    for rule in every_rule:
        known = rule.known_labels()
        handlers = [
            a for a in by_name.get(rule.name, []) if a.usable and rules_match.decide(a.matchers, known) is not False
        ]
        for alert in handlers:
            rule_counts[alert] += 1
        status: RuleStatus = "ok"
        findings: list[Diagnostic] = []
        if not handlers:
            status = "alert.no-runbook"
            findings.append(_no_runbook(rule, alerts))
        elif _ambiguous(handlers, known):
            status = "alert.ambiguous"
            findings.append(_ambiguous_finding(rule, handlers))
        expected = alert_url(rule.name, site_url, directory_urls=directory_urls)
        url: UrlStatus = "not-checked"
        if status != "alert.no-runbook":  # until a runbook handles it, the alert has no page to point at
            url = _url_status(rule.annotations.get("runbook_url"), expected, site_url)
            if url != "ok":
                findings.append(_url_finding(rule, url, expected, site_url))
        diagnostics.extend(findings)
        verdicts.append(RuleVerdict(rule, handlers, status, url, expected, findings))
    rule_names = sorted({r.name for r in every_rule})
    for alert in alerts:
        if rule_counts[alert] == 0 and alert.usable:
            diagnostics.append(_no_rule(alert, every_rule, rule_names))
    return Coverage(
        files=list(files),
        rules=verdicts,
        alerts=[AlertVerdict(a, rule_counts[a]) for a in alerts],
        diagnostics=sorted(set(diagnostics), key=sort_key),
        site_url=site_url,
        directory_urls=directory_urls,
    )


def check(
    index: Index,
    patterns: Sequence[str],
    base: Path,
    cwd: Path,
    *,
    site_url: str | None = None,
    directory_urls: bool = False,
) -> tuple[Coverage, list[str]]:
    """Expand ``patterns`` (relative to ``base``), load the rule files and classify; also returns the patterns that
    named no file (each face decides whether that is a usage error or a warning)."""
    paths, empty = expand(patterns, base)
    coverage = classify(index, load_rules(paths, cwd), site_url=site_url, directory_urls=directory_urls)
    return coverage, empty


# --------------------------------------------------------------------------- decisions


def _ambiguous(handlers: Sequence[RunbookAlert], known: dict[str, str | None]) -> bool:
    """True when two runbooks claim the rule and nothing left to decide at firing time tells them apart."""
    for i, a in enumerate(handlers):
        for b in handlers[i + 1 :]:
            if a.runbook == b.runbook:
                continue
            if not rules_match.disjoint(
                rules_match.undecided(a.matchers, known), rules_match.undecided(b.matchers, known)
            ):
                return True
    return False


def _url_status(found: str | None, expected: str, site_url: str | None) -> UrlStatus:
    if found is None or not found.strip():
        return "missing"
    if site_url:
        return "ok" if found.strip() == expected else "wrong"
    return "ok" if found.strip() == expected or found.strip().endswith("/" + expected) else "wrong"


# --------------------------------------------------------------------------- findings


def _labels(rule: Rule) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in sorted(rule.labels.items()) if k == "severity")
    return f" ({shown})" if shown else ""


def _did_you_mean(word: str, candidates: Iterable[str], what: str) -> str:
    if len(word) > 200:
        return ""
    close = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.8)
    return f"; did you mean {what} {close[0]!r}?" if close else ""


def _no_runbook(rule: Rule, alerts: Sequence[RunbookAlert]) -> Diagnostic:
    same = [a for a in alerts if a.name == rule.name]
    if same:
        listed = ", ".join(sorted({f"{a.runbook} ({a.when() or 'any labels'})" for a in same}))
        why = f"the runbooks for {rule.name!r} all exclude its labels: {listed}"
    else:
        why = "no runbook lists it under alerts" + _did_you_mean(
            rule.name, (a.name for a in alerts), "the runbook alert"
        )
    message = f"alert {rule.name!r}{_labels(rule)} has no runbook: {why}"
    return Diagnostic(rule.file, rule.line, rule.col, "error", message, "alert.no-runbook")


def _ambiguous_finding(rule: Rule, handlers: Sequence[RunbookAlert]) -> Diagnostic:
    runbooks = list(dict.fromkeys(a.runbook for a in handlers))
    message = (
        f"alert {rule.name!r}{_labels(rule)} is claimed by {len(runbooks)} runbooks ({', '.join(runbooks)}); "
        "give their alerts labels or matchers that tell them apart"
    )
    return Diagnostic(rule.file, rule.line, rule.col, "error", message, "alert.ambiguous")


def _url_finding(rule: Rule, status: UrlStatus, expected: str, site_url: str | None) -> Diagnostic:
    fix = "`runbinder alerts --write-urls` sets it" if site_url else "set it, or run `runbinder alerts --site-url URL`"
    if status == "missing":
        message = f"alert {rule.name!r} has no runbook_url annotation; its page is {expected} ({fix})"
    else:
        found = rule.annotations.get("runbook_url", "")
        shown = found if len(found) <= 200 else found[:200] + "..."
        message = f"runbook_url {shown!r} does not lead to the page of alert {rule.name!r}, {expected} ({fix})"
    return Diagnostic(rule.file, rule.url_line, rule.url_col, "error", message, "alert.runbook-url")


def _no_rule(alert: RunbookAlert, rules: Sequence[Rule], names: Sequence[str]) -> Diagnostic:
    same = [r for r in rules if r.name == alert.name]
    if same:
        message = (
            f"alert {alert.name!r} matches no rule: the rule files have {len(same)} rule(s) of that name, "
            f"but none with labels that satisfy {alert.when()}"
        )
    else:
        message = (
            f"alert {alert.name!r} matches no alerting rule in the rule files (renamed, or removed?)"
            + _did_you_mean(alert.name, names, "the rule")
        )
    return Diagnostic(alert.file, alert.line, alert.col, "warning", message, "runbook.no-rule")


# --------------------------------------------------------------------------- writing runbook_url


@dataclass
class UrlWrites:
    """What ``write_urls`` did (or, for a dry run, would do): the diff of each file, how many annotations it set,
    and the files it had to leave alone, each as a located error."""

    diffs: dict[str, str] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    refused: list[Diagnostic] = field(default_factory=list)


def write_urls(coverage: Coverage, *, dry_run: bool = False) -> UrlWrites:
    """Point the runbook_url of every rule that a runbook handles at its alert's page (``coverage`` was classified
    with the site's URL), file by file, atomically. Rules without a runbook keep theirs: their alert has no page yet.
    With ``dry_run``, nothing is written and the diffs say what would change."""
    if not coverage.site_url:
        raise ValueError("writing runbook_url needs the site's URL")
    edits: dict[str, list[tuple[Rule, UrlEdit]]] = {}
    for verdict in coverage.rules:
        if verdict.url in ("missing", "wrong"):
            rule = verdict.rule
            edits.setdefault(rule.file, []).append((rule, UrlEdit(rule.document, rule.where, verdict.expected_url)))
    done = UrlWrites()
    for found in coverage.files:
        planned = edits.get(found.display)
        if not planned:
            continue
        first = planned[0][0]
        try:
            new = rewrite(found, [edit for _, edit in planned])
            done.diffs[found.display] = unified_diff(found, new)
            if not dry_run:
                write_atomically(found, new)
            done.written[found.display] = len(planned)
        except (RewriteError, OSError) as exc:
            reason = str(exc) if isinstance(exc, RewriteError) else (exc.strerror or str(exc))
            done.refused.append(
                Diagnostic(
                    found.display,
                    first.url_line,
                    first.url_col,
                    "error",
                    f"runbook_url not written in this file: {reason}",
                    "rules.rewrite",
                )
            )
    return done
