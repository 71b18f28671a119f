"""The compiled validator may only ever say "valid" when jsonschema agrees: it decides who gets explained."""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runbinder.loader import Document, load_file
from runbinder.schemas import fast_validator, is_valid, validator

from .conftest import CASES, ROOT

pytest.importorskip("jsonschema_rs")


def _documents() -> list[Document]:
    paths = [*sorted((ROOT / "runbooks").rglob("*.yaml")), *sorted(CASES.rglob("*.yaml"))]
    docs = [load_file(p) for p in paths]
    return [d for d in docs if isinstance(d.data, dict)]


def _reference(kind: str, data: Any) -> bool:
    return not any(True for _ in validator(kind).iter_errors(data))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _mutate(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = copy.deepcopy(data)
    path = rng.choice([p for p in _paths(out) if p])
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    choice = rng.randrange(6)
    if choice == 0 and isinstance(parent, dict):
        del parent[key]  # a required key may go missing
    elif choice == 1 and isinstance(parent, dict):
        parent[f"{key}x"] = parent[key]  # an unknown key
    elif choice == 2:
        parent[key] = 42  # wrong type
    elif choice == 3:
        parent[key] = ""  # empty string
    elif choice == 4:
        parent[key] = []  # empty list
    else:
        parent[key] = "Not_An-Id!"  # breaks patterns and enums
    return out


def test_compiled_validator_is_available() -> None:
    assert fast_validator("runbook") is not None
    assert fast_validator("catalog") is not None


@pytest.mark.parametrize("doc", _documents(), ids=lambda d: str(Path(d.path).relative_to(ROOT)))
def test_verdicts_agree_on_every_document(doc: Document) -> None:
    assert is_valid(doc.kind, doc.data) == _reference(doc.kind, doc.data)


def test_verdicts_agree_on_mutated_documents() -> None:
    rng = random.Random(20261122)
    docs = _documents()
    checked = rejected = 0
    for _ in range(600):
        doc = rng.choice(docs)
        mutated = _mutate(doc.data, rng)
        reference = _reference(doc.kind, mutated)
        assert is_valid(doc.kind, mutated) == reference, (doc.path, mutated)
        checked += 1
        rejected += not reference
    assert checked == 600
    assert rejected > 300  # the mutations mostly break documents, so both sides of the verdict are exercised
