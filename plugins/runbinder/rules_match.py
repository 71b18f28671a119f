"""Label matchers on runbook alerts, matched the way Alertmanager matches labels.

A runbook alert may narrow the alerts it handles with ``labels`` (``severity: critical``, exact values) and
``matchers`` (Alertmanager's ``label op value`` strings: ``=``, ``!=``, ``=~``, ``!~``). As in Alertmanager, a label
an alert does not carry counts as the empty string, and a regular expression must match the whole value
(``^(?:re)$``). Python's ``re`` stands in for Go's RE2; the expressions teams write for labels read the same in both.

Nothing here imports the validator or the renderers: validation, the alerts check and the pages all use it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .schemas import load_schemas

Op = Literal["=", "!=", "=~", "!~"]
PathT = tuple[str | int, ...]

# A regular expression that is only alternatives of plain words (critical|warning) is a finite set of values:
# two matchers of that kind can be compared exactly.
_WORDS = re.compile(r"[A-Za-z0-9_-]*(?:\|[A-Za-z0-9_-]*)*")


@functools.cache
def _syntax() -> re.Pattern[str]:
    # The schema's own pattern: what validation accepts is exactly what is parsed here.
    schema = load_schemas()["runbook.schema.json"]["$defs"]["alert"]["properties"]["matchers"]["items"]
    return re.compile(schema["pattern"])


@dataclass(frozen=True)
class Matcher:
    """One label matcher. ``pattern`` is the compiled expression of ``=~``/``!~`` (None for ``=`` and ``!=``)."""

    label: str
    op: Op
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, value: str | None) -> bool:
        """Whether a label value satisfies this matcher; None (label absent) is the empty string."""
        actual = value or ""
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        if self.pattern is None:
            return False
        found = self.pattern.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def text(self) -> str:
        """Alertmanager's form, ``label op "value"`` (the value quoted with Go's escapes)."""
        quoted = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.label}{self.op}"{quoted}"'

    def words(self) -> frozenset[str] | None:
        """The finite set of values the expression or value names, when it names one (None otherwise)."""
        if self.op in ("=", "!="):
            return frozenset({self.value})
        text = self.value
        if text.startswith("(") and text.endswith(")") and text.count("(") == 1:
            text = text[1:-1]
        return frozenset(text.split("|")) if _WORDS.fullmatch(text) else None


class MatcherError(ValueError):
    """A matcher that cannot be used: bad syntax, or a regular expression that does not compile."""

    def __init__(self, message: str, syntax: bool) -> None:
        super().__init__(message)
        self.syntax = syntax


def parse(text: str) -> Matcher:
    """A matcher from its Alertmanager text (``namespace=~"openshift-.*"``); MatcherError when it is unusable."""
    found = _syntax().fullmatch(text)
    if found is None:
        raise MatcherError(f"{text!r} is not a label matcher (label, operator, value)", syntax=True)
    label, op, value = _unquote(found.group(1)), found.group(2), _unquote(found.group(3))
    return make(label, op, value)


def make(label: str, op: str, value: str) -> Matcher:
    """A matcher from its parts, with its expression compiled (MatcherError when it does not compile)."""
    if op not in ("=", "!=", "=~", "!~"):
        raise MatcherError(f"unknown operator {op!r}", syntax=True)
    if op in ("=~", "!~"):
        try:
            re.compile(value)  # first alone, so an error's position is in the author's own text
            # Alertmanager anchors the expression: it must match the whole value.
            pattern = re.compile(f"(?:{value})")
        except (re.error, RecursionError, OverflowError) as exc:
            raise MatcherError(f"regular expression {value!r} does not compile: {exc}", syntax=False) from None
        return Matcher(label, op, value, pattern)  # type: ignore[arg-type]
    return Matcher(label, op, value)  # type: ignore[arg-type]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        escapes = {"n": "\n", "t": "\t"}
        return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), text[1:-1], flags=re.S)
    return text


@dataclass(frozen=True)
class Problem:
    """A matcher of a runbook alert that cannot be used, where it is (relative to the alert) and why."""

    path: PathT
    message: str
    syntax: bool


def of_alert(alert: Mapping[str, Any]) -> tuple[tuple[Matcher, ...], list[Problem]]:
    """A runbook alert's matchers (``labels`` first, then ``matchers``) and the problems of those that cannot be
    used. Values of the wrong type are left to the schema. An alert with a problem must match nothing: its
    other matchers alone would claim more alerts than its author meant."""
    matchers: list[Matcher] = []
    problems: list[Problem] = []
    labels = alert.get("labels")
    if isinstance(labels, Mapping):
        for label, value in labels.items():
            if isinstance(label, str) and isinstance(value, str):
                matchers.append(Matcher(label, "=", value))
    written = alert.get("matchers")
    if isinstance(written, list):
        for i, text in enumerate(written):
            if not isinstance(text, str):
                continue
            try:
                matchers.append(parse(text))
            except MatcherError as exc:
                problems.append(Problem(("matchers", i), str(exc), exc.syntax))
    return tuple(matchers), problems


def decide(matchers: Iterable[Matcher], labels: Mapping[str, str | None]) -> bool | None:
    """Whether an alert with ``labels`` satisfies every matcher: True, False, or None when that depends on labels
    not known in advance (a matcher on a label missing from ``labels``, which a rule's series may carry).

    ``labels`` maps the labels known for sure; a value of None marks a label known to be set at firing time
    (a template such as ``{{ $labels.severity }}``), so matchers on it are undecided too."""
    undecided = False
    for matcher in matchers:
        if matcher.label in labels and labels[matcher.label] is not None:
            if not matcher.matches(labels[matcher.label]):
                return False
        else:
            undecided = True
    return None if undecided else True


def undecided(matchers: Iterable[Matcher], labels: Mapping[str, str | None]) -> tuple[Matcher, ...]:
    """The matchers ``labels`` cannot decide (see ``decide``)."""
    return tuple(m for m in matchers if m.label not in labels or labels[m.label] is None)


def disjoint(a: Sequence[Matcher], b: Sequence[Matcher]) -> bool:
    """True when no set of labels can satisfy both ``a`` and ``b``: two runbook alerts of one name that a
    responder can tell apart (severity="critical" and severity="warning"; namespace=~"a-.*" and
    namespace!~"a-.*"). False when they may overlap, including every case this cannot prove (two unrelated
    regular expressions), so an overlap is never hidden."""
    by_label: dict[str, list[Matcher]] = {}
    for matcher in (*a, *b):
        by_label.setdefault(matcher.label, []).append(matcher)
    return any(_unsatisfiable(group) for group in by_label.values())


def _unsatisfiable(group: Sequence[Matcher]) -> bool:
    """True when no single value of one label satisfies every matcher of ``group``."""
    candidates: frozenset[str] | None = None
    for matcher in group:
        words = matcher.words()
        if matcher.op in ("=", "=~") and words is not None:
            candidates = words if candidates is None else candidates & words
    if candidates is not None:
        # A finite set of values to try: every matcher can be asked about each one.
        return not any(all(m.matches(value) for m in group) for value in candidates)
    positive = {m.value for m in group if m.op == "=~"}
    return any(m.op == "!~" and m.value in positive for m in group)
