"""Set ``runbook_url`` annotations in rule files in place, keeping everything else as it was written.

ruamel.yaml's round trip keeps comments, key order, quoting and block scalars; its indentation is set from the
file's own. Then two guards: the new text must differ from the old only in ``runbook_url`` lines (a new
``annotations:`` line allowed where a rule had none), and, read back through the rule loader, every rule must be
the same but for the runbook_url asked for. A file either guard refuses is left alone, with a located reason.
Files are replaced atomically, and only if their bytes did not change since they were read.
"""

from __future__ import annotations

import difflib
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import atomic
from .rules import PathT, RuleFile, load_rule_bytes


@dataclass(frozen=True)
class UrlEdit:
    """Set the runbook_url of the rule at ``where`` in YAML document ``document`` to ``url``."""

    document: int
    where: PathT
    url: str


class RewriteError(Exception):
    """A file that cannot be rewritten without changing something else; the message says why."""


def rewrite(found: RuleFile, edits: Sequence[UrlEdit]) -> str:
    """The file's new text with every edit made. Raises RewriteError when that would change anything else."""
    if not found.yaml_ok:
        raise RewriteError("the file has YAML errors: fix them first")
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    text = found.text
    newline = "\r\n" if "\r\n" in text else "\n"
    source = text.replace("\r\n", "\n")
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 1 << 30  # never fold a long line that was written on one
    mapping, sequence, offset = _indentation(source)
    rt.indent(mapping=mapping, sequence=sequence, offset=offset)
    # ruamel drops comments above a first "---": they are set aside here and put back.
    head = re.match(r"(?:[ \t]*(?:#[^\n]*)?\n)*(?=---)", source)
    prefix = head.group(0) if head else ""
    source = source[len(prefix) :]
    rt.explicit_start = head is not None
    try:
        documents = list(rt.load_all(source))
    except (YAMLError, RecursionError) as exc:  # the rule loader accepted it; a difference between parsers
        raise RewriteError(f"the round-trip parser cannot read it: {' '.join(str(exc).split())[:200]}") from None
    for edit in edits:
        if edit.document >= len(documents):
            raise RewriteError("the file changed since it was read")
        rule = _walk(documents[edit.document], edit.where)
        if not isinstance(rule, CommentedMap):
            raise RewriteError("the file changed since it was read")
        annotations = rule.get("annotations")
        if annotations is not None and not isinstance(annotations, CommentedMap):
            raise RewriteError(f"the annotations of alert {rule.get('alert')!r} are not a mapping")
        old = annotations.get("runbook_url") if annotations is not None else None
        value: Any = edit.url
        if isinstance(old, (DoubleQuotedScalarString, SingleQuotedScalarString)):
            value = type(old)(edit.url)  # keep the quoting the author chose
        if annotations is not None and "runbook_url" in annotations:
            annotations["runbook_url"] = value
            continue
        # A new last line: the blank lines and comments that followed the old last line must follow the new one.
        owner = annotations if annotations is not None else rule
        trailing = _take_trailing(owner)
        if annotations is None:
            annotations = CommentedMap()
            rule["annotations"] = annotations
        annotations["runbook_url"] = value
        if trailing is not None:
            annotations.ca.items["runbook_url"] = [None, None, trailing, None]
    out = io.StringIO()
    try:
        rt.dump_all(documents, out)
    except (YAMLError, RecursionError) as exc:  # pragma: no cover - ruamel dumps what it loaded
        raise RewriteError(f"the round-trip writer failed: {exc}") from None
    new = out.getvalue()
    source, new = prefix + source, prefix + new
    if re.search(r"(?:^|\n)\.\.\.[ \t]*\n?$", source) and not re.search(r"(?:^|\n)\.\.\.[ \t]*\n?$", new):
        new += "...\n"  # ruamel drops a closing document end marker
    if not source.endswith("\n") and new.endswith("\n"):
        new = new[:-1]
    _only_urls_changed(source, new)
    new = new.replace("\n", newline) if newline != "\n" else new
    _same_rules(found, new, edits)
    return new


def _take_trailing(node: Any) -> Any:
    """Detach what ruamel keeps after the last line of ``node`` (blank lines, comment lines) and return it as a
    comment token for a new last line; the old last line keeps its own end-of-line comment."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.tokens import CommentToken

    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node):
        last = list(node.keys())[-1] if isinstance(node, CommentedMap) else len(node) - 1
        child = node[last]
        if isinstance(child, (CommentedMap, CommentedSeq)) and len(child) and not child.fa.flow_style():
            node = child
            continue
        item = node.ca.items.get(last)
        if not item or len(item) < 3 or item[2] is None:
            return None
        token = item[2]
        own, newline, after = str(token.value).partition("\n")
        if not after:
            return None
        token.value = own + newline
        return CommentToken("\n" + after, token.start_mark, token.end_mark)
    return None


def _walk(node: Any, path: PathT) -> Any:
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _indentation(text: str) -> tuple[int, int, int]:
    """ruamel's (mapping, sequence, offset) for this file: how far a nested mapping is indented under its key,
    and where a block sequence's dash and content stand relative to the key holding it."""
    mapping: int | None = None
    dash: int | None = None
    content: int | None = None
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError:  # pragma: no cover - the rule loader read it already
        nodes = []
    pending: list[Any] = [n for n in nodes if n is not None]
    while pending and (mapping is None or dash is None):
        node = pending.pop(0)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(value, yaml.CollectionNode) and not value.flow_style:
                    column = key.start_mark.column
                    below = value.start_mark.line > key.start_mark.line  # not `key: - item` on one line
                    if isinstance(value, yaml.MappingNode) and value.value and mapping is None and below:
                        mapping = value.value[0][0].start_mark.column - column
                    elif isinstance(value, yaml.SequenceNode) and value.value and dash is None and below:
                        dash = value.start_mark.column - column
                        content = value.value[0].start_mark.column - column
                pending.append(value)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
    mapping = mapping if mapping and mapping > 0 else 2
    if dash is None or content is None or content <= dash:
        return mapping, mapping, 0
    return mapping, content, dash


_URL_LINE = re.compile(r"^\s*(?:-\s+)?[\"']?runbook_url[\"']?\s*:")
_ANNOTATIONS_LINE = re.compile(r"^\s*(?:-\s+)?[\"']?annotations[\"']?\s*:\s*$")


def _only_urls_changed(old: str, new: str) -> None:
    """Refuse a rewrite that touches any line but a runbook_url (or adds more than an annotations key)."""
    before, after = old.split("\n"), new.split("\n")
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        removed, added = before[i1:i2], after[j1:j2]
        if all(_URL_LINE.match(line) for line in removed) and all(
            _URL_LINE.match(line) or _ANNOTATIONS_LINE.match(line) for line in added
        ):
            continue
        shown = (removed or added)[0].strip()[:80]
        raise RewriteError(
            f"setting runbook_url here would also change line {i1 + 1} ({shown!r}); set the runbook_url by hand"
        )


def _same_rules(found: RuleFile, new: str, edits: Sequence[UrlEdit]) -> None:
    """Read the new text back: the same rules, each with the runbook_url asked for and nothing else changed."""
    again = load_rule_bytes(new.encode("utf-8"), found.path, found.display)
    wanted = {(e.document, e.where): e.url for e in edits}
    if len(again.rules) != len(found.rules) or not again.yaml_ok:
        raise RewriteError("the rewritten file does not read back as the same rules")
    for before, after in zip(found.rules, again.rules, strict=True):
        url = wanted.get((before.document, before.where), before.annotations.get("runbook_url"))
        expected_annotations = dict(before.annotations)
        if url is not None:
            expected_annotations["runbook_url"] = url
        same = (before.name, before.expr, before.for_, before.labels, before.where) == (
            after.name,
            after.expr,
            after.for_,
            after.labels,
            after.where,
        )
        if not same or after.annotations != expected_annotations:
            raise RewriteError(
                f"alert {before.name!r} would change in more than its runbook_url (annotations shared through an "
                "anchor and alias?); set the runbook_url by hand"
            )


def unified_diff(found: RuleFile, new: str) -> str:
    """The change as a unified diff (``a/`` and ``b/`` paths, as git shows it)."""
    lines = difflib.unified_diff(
        found.text.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{found.display}",
        tofile=f"b/{found.display}",
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def write_atomically(found: RuleFile, new: str) -> None:
    """Replace the file with ``new`` in one step (a reader sees the old file or the new one, never half of one),
    keeping its permissions; refused when the file changed on disk since it was read."""
    target = Path(os.path.realpath(found.path))  # a linked rule file is edited where it lives
    data = new.encode("utf-8")
    if found.raw.startswith(b"\xef\xbb\xbf"):
        data = b"\xef\xbb\xbf" + data
    try:
        current = target.read_bytes()
    except OSError as exc:
        raise RewriteError(f"cannot read it again: {exc.strerror or exc}") from None
    if current != found.raw:
        raise RewriteError("the file changed on disk since it was read; run again")
    atomic.write_atomically(target, data, mode=target.stat().st_mode & 0o7777)
