"""Mermaid flowcharts from data, with every label escaped so no text can break or inject into a diagram.

Every label is quoted and written through ``safe.mermaid_label`` (every character outside [A-Za-z0-9 ] as a
mermaid entity code), so quotes, brackets, '<', '#', '|', ';', emoji and reserved words such as 'end' are
always plain text. Node ids are generated (n0, n1, ...), never taken from the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..safe import mermaid_label

SHAPES = {
    "start": ('(["', '"])'),
    "end": ('(["', '"])'),
    "action": ('["', '"]'),
    "decision": ('{"', '"}'),
}


def label(text: str) -> str:
    """A mermaid label body (the door is ``safe.mermaid_label``)."""
    return mermaid_label(text)


@dataclass(frozen=True)
class Node:
    """A box in a flowchart."""

    key: str
    text: str
    shape: str = "action"


@dataclass(frozen=True)
class Edge:
    """An arrow between two node keys, optionally labelled."""

    source: str
    target: str
    text: str | None = None


# Diagrams are drawn at their natural size, never shrunk to fit the column (a chart squeezed to a phone's width has
# unreadable text): a wide one scrolls inside its own box (runbinder.css), and print scales within limits.
NATURAL_SIZE = "---\nconfig:\n  flowchart:\n    useMaxWidth: false\n---"


def flowchart(nodes: Sequence[Node], edges: Sequence[Edge], direction: str = "TD") -> str:
    """Mermaid source for a flowchart; edges to unknown keys are skipped (validation reports them)."""
    ids = {node.key: f"n{i}" for i, node in enumerate(nodes)}
    lines = [NATURAL_SIZE, f"flowchart {direction}"]
    for node in nodes:
        left, right = SHAPES.get(node.shape, SHAPES["action"])
        lines.append(f"    {ids[node.key]}{left}{label(node.text)}{right}")
    for edge in edges:
        if edge.source not in ids or edge.target not in ids:
            continue
        arrow = f'-->|"{label(edge.text)}"|' if edge.text else "-->"
        lines.append(f"    {ids[edge.source]} {arrow} {ids[edge.target]}")
    return "\n".join(lines)
