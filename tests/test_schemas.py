"""The JSON Schemas themselves: valid 2020-12, documented property by property, closed, and shipped in the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runbinder.schemas import load_schemas

SCHEMAS = load_schemas()


def _resolve(ref: str, current: str) -> dict[str, Any]:
    file, _, pointer = ref.partition("#")
    node: Any = SCHEMAS[file or current]
    for part in pointer.strip("/").split("/") if pointer else []:
        node = node[part]
    return node  # type: ignore[no-any-return]


def _walk(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_valid_2020_12_with_id(name: str) -> None:
    schema = SCHEMAS[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == name


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_property_has_title_and_description(name: str) -> None:
    missing = []
    for path, node in _walk(SCHEMAS[name], name):
        for prop, sub in node.get("properties", {}).items() if isinstance(node.get("properties"), dict) else []:
            target = _resolve(sub["$ref"], name) if "$ref" in sub and "title" not in sub else sub
            if not target.get("title") or not target.get("description"):
                missing.append(f"{path}/properties/{prop}")
    assert missing == []


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_object_is_closed(name: str) -> None:
    open_objects = [
        path
        for path, node in _walk(SCHEMAS[name], name)
        if "properties" in node
        and isinstance(node["properties"], dict)
        and node.get("additionalProperties") is not False
    ]
    assert open_objects == []


def test_every_ref_resolves() -> None:
    for name in SCHEMAS:
        for _, node in _walk(SCHEMAS[name], name):
            if isinstance(node.get("$ref"), str):
                assert _resolve(node["$ref"], name), node["$ref"]


def test_wheel_ships_the_schemas(tmp_path: Path, repo_root: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(repo_root),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("runbinder-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in SCHEMAS:
        assert f"runbinder/schemas/{schema}" in names
    assert "runbinder/cli.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "runbinder = runbinder.cli:main" in text
    assert "runbinder = runbinder.plugin:RunbinderPlugin" in text


@pytest.mark.parametrize(
    ("value", "accepted"),
    [("15m", True), ("99999w", True), ("100000d", False), ("99999999999w", False), ("1" * 5000 + "m", False)],
)
def test_durations_are_bounded_so_every_accepted_one_can_be_used(value: str, accepted: bool) -> None:
    from runbinder.review import interval, review_due
    from runbinder.schemas import is_valid, validator

    runbook = {
        "id": "x",
        "title": "T",
        "kind": "process",
        "service": "s",
        "owner": "o",
        "summary": "S.",
        "phases": [{"title": "P", "steps": [{"title": "S"}], "timebox": value}],
        "last_reviewed": "9999-12-01",
        "review_interval": value,
    }
    assert is_valid("runbook", runbook) is accepted
    assert validator("runbook").is_valid(runbook) is accepted
    if accepted:
        assert interval(value) is not None  # its number fits in a timedelta
        assert review_due(runbook, None) is not None  # past the end of the calendar too
