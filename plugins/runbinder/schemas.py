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
