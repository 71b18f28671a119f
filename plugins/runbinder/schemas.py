"""The packaged JSON Schemas and one prebuilt validator per document kind."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_FILES = {"catalog": "catalog.schema.json", "runbook": "runbook.schema.json"}


def schema_dir() -> Path:
    """Where the schemas are: inside the installed wheel, or the repository's schemas/ in a checkout."""
    packaged = Path(__file__).parent / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@cache
def load_schemas() -> dict[str, dict[str, Any]]:
    """Every schema by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(schema_dir().glob("*.schema.json"))
    }


# The schemas' $ids are relative (so editors resolve them beside the file); compiled validators get this base.
_BASE = "https://schemas.runbinder.invalid/"


@cache
def fast_validator(kind: str) -> Any:
    """A compiled (Rust) Draft 2020-12 validator, or None when jsonschema-rs is not installed.

    It only answers "valid or not": runbinder's located, explained messages come from ``validator``, which
    runs only for documents this one rejects. Both read the same schemas, and a test holds their verdicts
    equal over every bundled and test document and over mutated ones.
    """
    try:
        import jsonschema_rs
    except ImportError:  # optional speed-up; validation stays complete without it
        return None
    schemas = load_schemas()
    registry = jsonschema_rs.Registry([(_BASE + name, schema) for name, schema in schemas.items()])
    name = SCHEMA_FILES[kind]
    return jsonschema_rs.Draft202012Validator(schemas[name], registry=registry, base_uri=_BASE + name)


def is_valid(kind: str, data: Any) -> bool | None:
    """The compiled validator's verdict; None when there is none (or it cannot take this data)."""
    compiled = fast_validator(kind)
    if compiled is None:
        return None
    try:
        return bool(compiled.is_valid(data))
    except (ValueError, TypeError):  # e.g. a mapping with non-string keys: let jsonschema explain it
        return None


@cache
def validator(kind: str) -> Any:
    """A Draft 2020-12 validator for ``kind`` ('catalog' or 'runbook'), built once per process.

    The schemas reference each other by relative ``$id`` (so editors resolve them
    next to the file); here they are served from a local registry: no network.
    """
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = load_schemas()
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    return Draft202012Validator(schemas[SCHEMA_FILES[kind]], registry=registry)


MARKDOWN_REF = "common.schema.json#/$defs/markdown"
MAX_NESTING = 6
"""How deep a recursive definition (a step's sub-steps) is followed when finding Markdown fields."""
Tree = dict[str, Any]
"""Where Markdown fields sit in a document: property names (and ``*`` for list items) down to ``True`` leaves."""


@cache
def markdown_tree(kind: str) -> Tree:
    """The places in a ``kind`` document whose value is a Markdown field, read from the schemas."""
    schemas = load_schemas()
    name = SCHEMA_FILES[kind]
    return _tree(schemas[name], name, schemas, ()) or {}


def _resolve(schema: dict[str, Any], file: str, schemas: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], str, str]:
    ref = str(schema["$ref"])
    ref_file, _, pointer = ref.partition("#")
    ref_file = ref_file or file
    target: Any = schemas[ref_file]
    for part in [p for p in pointer.split("/") if p]:
        target = target[part]
    return target, ref_file, f"{ref_file}#{pointer}"


def _tree(schema: dict[str, Any], file: str, schemas: dict[str, dict[str, Any]], seen: tuple[str, ...]) -> Any:
    if "$ref" in schema:
        target, ref_file, full = _resolve(schema, file, schemas)
        if full == MARKDOWN_REF:
            return True
        if seen.count(full) >= MAX_NESTING:  # a recursive definition (steps within steps): followed this deep
            return None
        return _tree(target, ref_file, schemas, (*seen, full))
    out: Tree = {}
    for key, sub in schema.get("properties", {}).items():
        found = _tree(sub, file, schemas, seen)
        if found:
            out[key] = found
    if isinstance(schema.get("items"), dict):
        found = _tree(schema["items"], file, schemas, seen)
        if found:
            out["*"] = found
    for combinator in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(combinator, []):
            found = _tree(sub, file, schemas, seen)
            if isinstance(found, dict):
                out.update(found)
            elif found:
                return True
    return out or None


def markdown_fields(data: Any, tree: Tree) -> list[tuple[tuple[str | int, ...], str]]:
    """Every Markdown field of ``data`` (a loaded document) with its path."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    stack: list[tuple[Any, Any, tuple[str | int, ...]]] = [(data, tree, ())]
    while stack:
        value, node, path = stack.pop()
        if node is True:
            if isinstance(value, str):
                found.append((path, value))
        elif isinstance(node, dict):
            if isinstance(value, dict):
                for key, child in node.items():
                    if key != "*" and key in value:
                        stack.append((value[key], child, (*path, key)))
            elif isinstance(value, list) and "*" in node:
                stack.extend((item, node["*"], (*path, i)) for i, item in enumerate(value))
    return found
