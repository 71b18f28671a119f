"""The shape of a runbook's procedure: phases, steps, sub-steps and alternatives, walked in one place.

Validation (ids), checks (one test item per command), renderers (numbering) and the importer all need the same
walk and the same names for what they find, so a step's name in a test id is its anchor on the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PathT = tuple[str | int, ...]


def slug(text: str) -> str:
    """The identifier derived from a title: lower case, runs of other characters become one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].strip("-") or "item"


def name_of(item: dict[str, Any]) -> str:
    """A phase's or step's id, or its title's slug."""
    ident = item.get("id")
    return ident if isinstance(ident, str) and ident else slug(str(item.get("title", "")))


@dataclass(frozen=True)
class StepAt:
    """A step where it stands: its path in the document, its name (``phase/step/sub-step``) and number (2.1.3)."""

    path: PathT
    step: dict[str, Any]
    name: str
    number: str


def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


def walk_steps(data: dict[str, Any]) -> Iterator[StepAt]:
    """Every step of a runbook, depth first: steps, their sub-steps, and the steps inside alternatives."""
    for i, phase in _dicts(data.get("phases")):
        yield from _steps(phase.get("steps"), ("phases", i, "steps"), name_of(phase), str(i + 1))


def _steps(value: Any, path: PathT, parent: str, number: str) -> Iterator[StepAt]:
    for j, step in _dicts(value):
        here: PathT = (*path, j)
        name = f"{parent}/{name_of(step)}"
        own = f"{number}.{j + 1}"
        yield StepAt(here, step, name, own)
        yield from _steps(step.get("steps"), (*here, "steps"), name, own)
        for k, alternative in _dicts(step.get("alternatives")):
            way = f"{name}/option-{k + 1}"
            yield from _steps(alternative.get("steps"), (*here, "alternatives", k, "steps"), way, f"{own}.{k + 1}")


def holders(step_at: StepAt) -> Iterator[tuple[PathT, dict[str, Any], str]]:
    """The step itself and each of its alternatives: everything that can hold commands and links directly."""
    yield step_at.path, step_at.step, step_at.name
    for k, alternative in _dicts(step_at.step.get("alternatives")):
        yield (*step_at.path, "alternatives", k), alternative, f"{step_at.name}/option-{k + 1}"


def iter_commands(data: dict[str, Any]) -> Iterator[tuple[PathT, dict[str, Any], str]]:
    """Every command of a runbook with its path and the name of the step (or alternative) it belongs to."""
    for step_at in walk_steps(data):
        for path, holder, name in holders(step_at):
            for k, command in _dicts(holder.get("commands")):
                yield (*path, "commands", k), command, name


def find_step(data: dict[str, Any], name: str) -> tuple[PathT, str] | None:
    """The path and number of the phase (``phase``) or step (``phase/step/sub-step``) called ``name``, as flow nodes
    name them; None when there is none."""
    if "/" not in name:
        for i, phase in _dicts(data.get("phases")):
            if name_of(phase) == name:
                return ("phases", i), str(i + 1)
        return None
    for step_at in walk_steps(data):
        if step_at.name == name:
            return step_at.path, step_at.number
    return None


def step_names(data: dict[str, Any]) -> list[str]:
    """Every name ``find_step`` knows, for suggestions."""
    return [name_of(phase) for _, phase in _dicts(data.get("phases"))] + [s.name for s in walk_steps(data)]
