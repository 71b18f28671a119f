"""Prometheus alerting rules from rule files and Kubernetes ``PrometheusRule`` manifests, with positions.

A rule file is ``groups: [{name, rules: [...]}]``; a manifest holds ``kind: PrometheusRule`` documents with the
same groups under ``spec.groups``, often several per file beside other kinds (which are skipped). Rule files are
other people's files as much as ours, so they get the runbook loader's guards (size, binary, encoding, depth
measured before libyaml composes, alias bombs, duplicate keys, tags) on every document of the stream, and every
shape a rule file can get wrong is a located Diagnostic, never an exception.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnostic

# The loader's guards are reused as they are. Its public entry point (load_bytes) reads exactly one document
# and a runbook's shape; rule files legitimately hold several documents, so the stream is walked here.
from .loader import (
    _ANCHOR,
    _CONSTRUCTION_ERRORS,
    MAX_DEPTH,
    YAML_SUFFIXES,
    _check_shape,
    _diag,
    _Loader,
    _measure_depth,
    _offset_to_position,
    _possibly_deep,
    _reader_error,
    _value_errors,
    _yaml_error,
    digest,
    iter_yaml_files,
    locate_node,
)

MAX_RULE_BYTES = 16 * 1024 * 1024
"""Rule files larger than this are refused. Generated rule bundles are bigger than runbooks (kube-prometheus'
eight manifests hold 139 rules in 150 KB), but no real one comes near 16 MiB."""

PathT = tuple[str | int, ...]


@dataclass(frozen=True)
class Rule:
    """One alerting rule, its values as Prometheus reads them (scalars as text), and where it is."""

    file: str
    """The file as the user named it (for messages)."""
    document: int
    """Which YAML document of the file holds it (0 for a plain rule file)."""
    where: PathT
    """The path of the rule's mapping inside its document (``spec, groups, 0, rules, 3``)."""
    group: str
    name: str
    expr: str
    for_: str
    labels: dict[str, str]
    annotations: dict[str, str]
    line: int
    col: int
    """The position of the alert's name."""
    url_line: int
    url_col: int
    """The position of the runbook_url annotation, or where one belongs (its annotations, or the name)."""

    @property
    def severity(self) -> str | None:
        """The rule's severity label, if it sets one."""
        return self.labels.get("severity")

    def known_labels(self) -> dict[str, str | None]:
        """The labels every alert of this rule carries, for matching: its static labels and alertname. A templated
        value (``{{ $labels.severity }}``) is known to be set, not to what (None)."""
        known: dict[str, str | None] = {k: (None if "{{" in v else v) for k, v in self.labels.items()}
        known["alertname"] = self.name
        return known


@dataclass
class RuleFile:
    """One loaded rule file: its alerting rules and the problems found in it."""

    path: Path
    display: str
    text: str = ""
    raw: bytes = b""
    rules: list[Rule] = field(default_factory=list)
    recording: int = 0
    """How many recording rules it holds (read, not checked)."""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def yaml_ok(self) -> bool:
        """True when the file parsed cleanly as YAML (shape problems in a rule aside): safe to rewrite."""
        return bool(self.text) and not any(d.rule.startswith(("yaml.", "file.")) for d in self.diagnostics)


def expand(patterns: Sequence[str], base: Path) -> tuple[list[Path], list[str]]:
    """The rule files named by ``patterns`` (files, directories, globs with ``**``), relative to ``base``, each once
    and in a stable order; and the patterns that named nothing."""
    found: list[Path] = []
    empty: list[str] = []
    for pattern in patterns:
        target = Path(pattern) if os.path.isabs(pattern) else base / pattern
        if glob.has_magic(pattern):
            if os.path.isabs(pattern):
                hits = [Path(hit) for hit in glob.glob(pattern, recursive=True)]
            else:  # relative to base without pasting base into the pattern: a folder named "[x]" is no glob
                hits = [base / hit for hit in glob.glob(pattern, root_dir=base, recursive=True)]
            files = sorted(p for p in hits if p.is_file() and p.name.endswith(YAML_SUFFIXES))
        elif target.is_dir():
            files = list(iter_yaml_files(target))
        else:
            files = [target] if target.is_file() else []
        if not files:
            empty.append(pattern)
        found.extend(files)
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(os.path.realpath(path), path)
    return list(unique.values()), empty


def load_rule_file(path: Path, display: str) -> RuleFile:
    """Load one rule file. Never raises for bad content: problems land in ``diagnostics``."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_RULE_BYTES + 1)
    except OSError as exc:
        found = RuleFile(path, display)
        found.diagnostics.append(_diag(display, 0, 0, f"cannot read file: {exc.strerror or exc}", "file.read"))
        return found
    return load_rule_bytes(raw, path, display)


def load_rule_bytes(raw: bytes, path: Path, display: str) -> RuleFile:
    """Load a rule file's bytes: every document of the stream, each through the loader's guards."""
    found = RuleFile(path, display, raw=raw)
    problems = found.diagnostics
    if len(raw) > MAX_RULE_BYTES:
        limit = MAX_RULE_BYTES // (1024 * 1024)
        problems.append(_diag(display, 0, 0, f"file is larger than {limit} MiB; refusing to parse it", "file.size"))
        return found
    if b"\0" in raw:
        problems.append(_diag(display, 0, 0, "file looks binary (it contains NUL bytes)", "file.binary"))
        return found
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _offset_to_position(raw, exc.start)
        message = f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
        problems.append(_diag(display, line, col, message, "file.encoding"))
        return found
    if _possibly_deep(text):
        deep = _measure_depth(text)
        if deep is not None:
            problems.append(_diag(display, *deep, f"nesting is deeper than {MAX_DEPTH} levels", "yaml.depth"))
            return found
    documents = _documents(text, display, problems)
    if documents is None:
        return found
    found.text = text
    for number, (node, data) in enumerate(documents):
        _read_document(found, number, node, data)
    return found


def _documents(text: str, display: str, problems: list[Diagnostic]) -> list[tuple[yaml.Node, Any]] | None:
    """Every document of the stream as (node tree, data); None (with the problem reported) when the stream cannot
    be read. One bad document spoils the file: a rewrite must never work from a partial reading."""
    loader = _Loader(text)
    loader.duplicates = []
    out: list[tuple[yaml.Node, Any]] = []
    has_anchor = _ANCHOR.search(text) is not None
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there was one
                break
            shape = _check_shape(node) if has_anchor else None
            if shape is not None:
                message, rule, mark = shape
                problems.append(_diag(display, mark.line + 1, mark.column + 1, message, rule))
                return None
            try:
                data = loader.construct_document(node)
            except _CONSTRUCTION_ERRORS:
                problems.extend(_value_errors(display, node, text))
                return None
            out.append((node, data))
    except yaml.MarkedYAMLError as exc:
        problem = _yaml_error(display, exc, text)
        if problem.rule == "yaml.tag":  # the loader's wording speaks of runbooks
            message = problem.message.replace("runbooks are plain data", "rule files are read as plain data")
            problem = Diagnostic(problem.path, problem.line, problem.col, problem.level, message, problem.rule)
        problems.append(problem)
        return None
    except yaml.reader.ReaderError as exc:
        problems.append(_reader_error(display, exc, text))
        return None
    except yaml.YAMLError as exc:
        problems.append(_diag(display, 1, 1, f"invalid YAML: {' '.join(str(exc).split())}", "yaml.syntax"))
        return None
    finally:
        loader.dispose()
    for key, key_node in loader.duplicates:
        mark = key_node.start_mark
        problems.append(
            _diag(
                display,
                mark.line + 1,
                mark.column + 1,
                f"duplicate key {key!r}: YAML keeps only the last value, so an earlier one would be lost",
                "yaml.duplicate-key",
            )
        )
    return out


class _Shape:
    """Reports shape problems of one document at their nodes."""

    def __init__(self, found: RuleFile, node: yaml.Node) -> None:
        self.found = found
        self.node = node

    def report(self, path: PathT, message: str, *, key: bool = False) -> None:
        line, col = locate_node(self.node, path, key=key)
        self.found.diagnostics.append(
            Diagnostic(self.found.display, line, col, "error", message, "rules.shape"),
        )

    def items(self, value: Any, path: PathT, what: str) -> list[tuple[int, dict[str, Any]]]:
        """The mappings of a list (a missing or null list is empty); anything else is reported."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.report(path, f"{what} must be a list, found {_kind(value)}")
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                out.append((i, item))
            else:
                self.report((*path, i), f"each entry of {what} must be a mapping, found {_kind(item)}")
        return out

    def text_map(self, value: Any, path: PathT, what: str) -> dict[str, str]:
        """A mapping of label or annotation names to text (scalars are read as text, as Prometheus does)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.report(path, f"{what} must be a mapping, found {_kind(value)}")
            return {}
        out: dict[str, str] = {}
        for key, item in value.items():
            text = _scalar(item)
            if not isinstance(key, str):
                self.report((*path,), f"{what} names must be text, found {_kind(key)}")
            elif text is None:
                self.report((*path, key), f"{what} {key!r} must be text, found {_kind(item)}")
            else:
                out[key] = text
        return out


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return f"text {str(value)[:40]!r}"


def _scalar(value: Any) -> str | None:
    """A scalar as the text Prometheus reads (its YAML decoder turns numbers and booleans into strings)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    if value is None:
        return ""
    return None


def _read_document(found: RuleFile, number: int, node: yaml.Node, data: Any) -> None:
    """The alerting rules of one document: a rule file, a PrometheusRule manifest, or another kind (skipped)."""
    shape = _Shape(found, node)
    if data is None:
        return  # an empty document (a stray ---)
    if not isinstance(data, dict):
        shape.report((), f"expected a mapping at the top level, found {_kind(data)}")
        return
    base: PathT
    if "kind" in data:
        if data["kind"] != "PrometheusRule":
            return  # a manifest bundle may hold Deployments and ConfigMaps beside the rules
        spec = data.get("spec")
        if not isinstance(spec, dict):
            shape.report(("spec",) if "spec" in data else (), "a PrometheusRule needs a spec mapping with groups")
            return
        base, groups = ("spec", "groups"), spec.get("groups")
    elif "groups" in data:
        base, groups = ("groups",), data["groups"]
    else:
        shape.report(
            (),
            "neither a Prometheus rule file (groups:) nor a Kubernetes PrometheusRule manifest (kind: PrometheusRule)",
        )
        return
    for g, group in shape.items(groups, base, "groups"):
        group_name = group.get("name")
        if not isinstance(group_name, str) or not group_name:
            shape.report((*base, g), "a rule group needs a name")
            group_name = ""
        rules_path: PathT = (*base, g, "rules")
        for r, rule in shape.items(group.get("rules"), rules_path, "rules"):
            _read_rule(found, shape, number, (*rules_path, r), group_name, rule)


def _read_rule(found: RuleFile, shape: _Shape, number: int, where: PathT, group: str, rule: dict[str, Any]) -> None:
    if "record" in rule and "alert" not in rule:
        found.recording += 1
        return
    if "alert" not in rule:
        shape.report(where, "a rule needs alert: (an alerting rule) or record: (a recording rule)")
        return
    if "record" in rule:
        shape.report((*where, "record"), "a rule is either an alerting rule (alert:) or a recording rule (record:)")
        return
    name = rule["alert"]
    if not isinstance(name, str) or not name.strip():
        shape.report((*where, "alert"), f"the alert's name must be text, found {_kind(name)}")
        return
    expr = _scalar(rule.get("expr"))
    if "expr" not in rule or not expr:
        shape.report((*where, "alert"), f"alert {name!r} has no expr: the expression that fires it")
        return
    duration = _scalar(rule.get("for"))
    if duration is None:
        shape.report((*where, "for"), f"for must be a duration such as 5m, found {_kind(rule.get('for'))}")
        duration = ""
    labels = shape.text_map(rule.get("labels"), (*where, "labels"), "label")
    annotations = shape.text_map(rule.get("annotations"), (*where, "annotations"), "annotation")
    line, col = locate_node(shape.node, (*where, "alert"))
    if "runbook_url" in annotations:
        url_line, url_col = locate_node(shape.node, (*where, "annotations", "runbook_url"))
    elif isinstance(rule.get("annotations"), dict):
        url_line, url_col = locate_node(shape.node, (*where, "annotations"), key=True)
    else:
        url_line, url_col = line, col
    found.rules.append(
        Rule(
            file=found.display,
            document=number,
            where=where,
            group=group,
            name=name,
            expr=expr,
            for_=duration,
            labels=labels,
            annotations=annotations,
            line=line,
            col=col,
            url_line=url_line,
            url_col=url_col,
        )
    )


def content_digest(found: RuleFile) -> str:
    """The digest of the bytes the file was loaded from (a rewrite refuses a file that changed since)."""
    return digest(found.raw)
