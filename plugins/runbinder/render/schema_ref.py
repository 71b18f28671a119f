"""The schema reference page, generated from the JSON Schemas' titles and descriptions."""

from __future__ import annotations

from typing import Any

from .. import safe
from . import blocks as b

ORDER = ("runbook.schema.json", "catalog.schema.json", "common.schema.json")


def _anchor(file: str, name: str | None = None) -> str:
    stem = file.removesuffix(".schema.json")
    return f"{stem}-{name.replace('_', '-')}" if name else stem


def _type(schema: dict[str, Any], file: str) -> str:
    if "$ref" in schema:
        ref_file, _, pointer = str(schema["$ref"]).partition("#")
        name = pointer.rsplit("/", 1)[-1]
        return f"[{safe.md_text(name)}](#{_anchor(ref_file or file, name)})"
    if "enum" in schema:
        return "one of " + ", ".join(safe.md_code_span(v) for v in schema["enum"])
    kind = schema.get("type", "")
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"list of {_type(schema['items'], file)}"
    if kind == "object":
        return "mapping"
    return safe.md_text(kind)


def _properties(schema: dict[str, Any], file: str) -> str:
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        description = prop.get("description", "")
        rows.append(
            [safe.md_code_span(name), _type(prop, file), "yes" if name in required else "", safe.md_text(description)]
        )
    return b.table(["Property", "Type", "Required", "Description"], rows)


def schema_reference(schemas: dict[str, dict[str, Any]]) -> str:
    """Markdown for every schema: the document's properties, then each definition that has properties."""
    parts = [
        "# Schema reference",
        "Runbook files, catalog files and the pieces they share. Editors that read "
        "`# yaml-language-server: $schema=...` show the same descriptions as hover text.",
    ]
    for file in [f for f in ORDER if f in schemas] + sorted(set(schemas) - set(ORDER)):
        schema = schemas[file]
        parts.append(f"## {safe.md_text(schema.get('title', file))} {{#{_anchor(file)}}}")
        parts.append(f"`{file}`: {safe.md_text(schema.get('description', ''))}")
        if "properties" in schema:
            parts.append(_properties(schema, file))
        for name, definition in schema.get("$defs", {}).items():
            parts.append(f"### {safe.md_text(definition.get('title', name))} {{#{_anchor(file, name)}}}")
            parts.append(safe.md_text(definition.get("description", "")))
            if "properties" in definition:
                parts.append(_properties(definition, file))
            else:
                parts.append(f"Type: {_type(definition, file)}")
                if "pattern" in definition:
                    parts.append(f"Pattern: {safe.md_code_span(definition['pattern'])}")
    return "\n\n".join(p for p in parts if p) + "\n"
