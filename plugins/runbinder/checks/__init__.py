"""Checks beyond the schema: every command and every link, and review freshness.

Each check is an ``Item`` with a stable node id (``runbooks/x.yaml::phase/step/command-1``) so that the CLI,
the pytest plugin and the MkDocs plugin report the same things under the same names.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..diagnostics import Diagnostic, Level
from ..loader import Document

PathT = tuple[str | int, ...]


@dataclass
class Item:
    """One thing to check: a command, a link, a runbook's review date."""

    nodeid: str
    doc: Document
    path: PathT
    kind: str
    data: dict[str, Any]
    run: Callable[[Item], list[Diagnostic]] = field(repr=False)

    def ignored(self) -> list[dict[str, Any]]:
        """The ``ignore`` decisions recorded on this command or link in the YAML."""
        value = self.data.get("ignore", [])
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    def diagnostic(
        self,
        message: str,
        rule: str,
        level: Level = "error",
        at: PathT | None = None,
        offset: int | None = None,
        field_name: str = "code",
    ) -> Diagnostic:
        """A diagnostic located at this item (or at a character of one of its fields)."""
        if offset is not None:
            line, col = self.doc.locate_in_scalar((*self.path, field_name), offset)
        else:
            line, col = self.doc.locate(at if at is not None else self.path)
        return Diagnostic(self.doc.display, line, col, level, message, rule)


def rule_matches(rule: str, patterns: Iterable[str]) -> bool:
    """``shellcheck.SC2086`` matches ``shellcheck.SC2086``, ``shellcheck`` and ``shellcheck.*``."""
    return any(rule == p or rule.startswith(p + ".") or fnmatch.fnmatchcase(rule, p) for p in patterns)


def apply_ignores(
    item: Item, diagnostics: Sequence[Diagnostic], *, report_unused: bool = True, not_run: Sequence[str] = ()
) -> list[Diagnostic]:
    """Drop what the YAML records as a deliberate exception (each exception carries its reason).

    An exception that matches nothing is reported (check.unused-ignore), so stale decisions do not pile up;
    ``not_run`` names rule families this run did not check (online links when offline).
    """
    ignores = item.ignored()
    used: set[int] = set()
    kept = []
    for diagnostic in diagnostics:
        hits = [i for i, entry in enumerate(ignores) if rule_matches(diagnostic.rule, [str(entry.get("rule"))])]
        if hits:
            used.update(hits)
        else:
            kept.append(diagnostic)
    if report_unused:
        for i, entry in enumerate(ignores):
            rule = str(entry.get("rule"))
            if i not in used and not rule_matches(rule, not_run):
                kept.append(
                    item.diagnostic(
                        f"accepted finding {rule!r} no longer occurs here: remove it",
                        "check.unused-ignore",
                        level="warning",
                        at=(*item.path, "ignore", i),
                    )
                )
    return kept


def select(diagnostics: Iterable[Diagnostic], only: Sequence[str], skip: Sequence[str]) -> list[Diagnostic]:
    """--select / --ignore by rule (prefixes and globs allowed)."""
    out = []
    for d in diagnostics:
        if only and not rule_matches(d.rule, only):
            continue
        if skip and rule_matches(d.rule, skip):
            continue
        out.append(d)
    return out
