"""Who to call: for a severity on a service (or in one runbook), who is called first and who follows if the
incident is not resolved. One answer for the severity page, the service pages, the home page and runbooks.

The answer is read from escalation levels, without guessing from their free text:

- a level with ``after`` is a step in time: called once that much time has passed without resolution, in the
  order of those times;
- a level with ``severities`` is always engaged at those severities (and never called "first" at others);
- the first level of a policy, when it has neither ``after`` nor ``severities``, is the first call;
- every other level applies by its situation (``when``): it is listed with its policy, never in the order.

When a policy names no first call, the service's owner is the first call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .review import interval
from .validate import Index

Data = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """Whom to reach (contact or role ids) through which escalation level (None for a service's owner)."""

    to: tuple[str, ...]
    level: Data | None = None

    @property
    def after(self) -> str | None:
        """How long without resolution before this call, as written (``30m``), or None for a call made now."""
        value = (self.level or {}).get("after")
        return str(value) if value else None


@dataclass(frozen=True)
class Answer:
    """Who to call first and who follows, in order."""

    first: tuple[Call, ...]
    then: tuple[Call, ...]
    policy: str | None = None


def _applies(level: Data, severity: str | None) -> bool:
    levels = level.get("severities")
    return not levels or (severity is not None and severity in levels)


def _elapsed(level: Data) -> timedelta:
    return interval(str(level.get("after", ""))) or timedelta.max


def from_levels(levels: Sequence[Data], severity: str | None) -> tuple[tuple[Call, ...], tuple[Call, ...]]:
    """(first calls, later calls in time order) among ``levels`` at ``severity``."""
    first: list[Call] = []
    for i, level in enumerate(levels):
        if level.get("after") or not isinstance(level.get("to"), list):
            continue
        if (level.get("severities") and _applies(level, severity)) or (i == 0 and not level.get("severities")):
            first.append(Call(tuple(level["to"]), level))
    timed = sorted(
        (level for level in levels if level.get("after") and _applies(level, severity) and level.get("to")),
        key=_elapsed,
    )
    return tuple(first), tuple(Call(tuple(level["to"]), level) for level in timed)


def for_service(index: Index, service: str, severity: str | None) -> Answer:
    """Who to call at ``severity`` on ``service``: its escalation policy's levels, else its owner."""
    entry = index["services"].get(service)
    if entry is None:
        return Answer((), ())
    policy_id = entry.data.get("escalation_policy")
    policy = index["escalation_policies"].get(policy_id) if policy_id else None
    first: tuple[Call, ...] = ()
    then: tuple[Call, ...] = ()
    if policy is not None:
        first, then = from_levels(policy.data.get("levels", []), severity)
    if not first and entry.data.get("owner"):
        first = (Call((str(entry.data["owner"]),)),)
    return Answer(first, then, policy_id if policy is not None else None)


def for_runbook(index: Index, runbook: Data) -> Answer:
    """Who to call for a runbook at its own severity: its own levels when it has them, else its policy's, else its
    service's answer."""
    severity = runbook.get("severity")
    escalation = runbook.get("escalation") or {}
    levels = escalation.get("levels")
    policy_id = escalation.get("policy")
    if not levels and policy_id in index["escalation_policies"]:
        levels = index["escalation_policies"][policy_id].data.get("levels", [])
    service = for_service(index, str(runbook.get("service")), severity)
    if levels:
        first, then = from_levels(levels, severity)
        if first or then:
            return Answer(
                first or service.first, then, policy_id if policy_id in index["escalation_policies"] else None
            )
    return service


def engaged_roles(index: Index, severity: str) -> list[str]:
    """Roles engaged at ``severity`` (a role's ``severities``), e.g. an incident commander at SEV1 and SEV2."""
    return [rid for rid, entry in index["roles"].items() if severity in (entry.data.get("severities") or [])]
