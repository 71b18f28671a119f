"""YAML files to Python data, with source positions and hostile input refused.

libyaml's C parser composes the node tree (which keeps a line and column on
every node); PyYAML's safe constructor turns it into plain data. On top of
that this module refuses what PyYAML lets through or crashes on: duplicate
keys (PyYAML silently keeps the last), alias bombs and recursive aliases,
nesting deep enough to crash the C composer, non-UTF-8 and binary files,
empty and oversized files, characters YAML forbids, values its standard tags
cannot read (``!!int abc``) and numbers too long to print. Every refusal is a
located Diagnostic, never an exception.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .diagnostics import Diagnostic

DocKind = Literal["catalog", "runbook"]

MAX_BYTES = 4 * 1024 * 1024
"""Files larger than this are refused: no runbook is 4 MiB, and parsing one would stall a commit."""

MAX_DEPTH = 64
"""Deeper nesting is refused: the schemas need about ten levels."""

MAX_EXPANDED_NODES = 200_000
"""Aliases may expand a document to at most this many nodes (a billion-laughs guard)."""

_DEEP_SUSPECT = 10_000
"""More possible nesting openers than this and the text is measured with the event parser, whatever its layout."""

MAX_INT_DIGITS = 4300
"""Longer whole numbers are refused: Python reads and prints at most this many decimal digits (``int('9' * 4301)``
fails), so a longer one, however it was written (hex has no such limit), could not be shown in any message."""

_INT_LIMIT = 10**MAX_INT_DIGITS
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
# What PyYAML's standard constructors raise for a value their tag cannot read: int('abc') ValueError,
# !!bool maybe KeyError, !!timestamp foo AttributeError (its regex did not match), dates out of range ...
_CONSTRUCTION_ERRORS = (ValueError, OverflowError, TypeError, KeyError, AttributeError, IndexError)
# An anchor is '&' directly followed by its name; '&' before a space ('A & B', 'x && y') is just text.
_ANCHOR = re.compile(r"&[^\s&,\[\]{}]")


class _Loader(yaml.CSafeLoader):
    """Safe loader that keeps dates as strings and records duplicate keys instead of dropping them."""

    duplicates: list[tuple[str, yaml.Node]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        # Raw scalar text is enough to spot a repeat (this runs for every mapping, so it stays cheap);
        # keys written differently but equal in value (1 and 0x1) are left to the schema.
        keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
        if len(keys) != len(set(keys)):
            seen: set[str] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value in seen:
                        self.duplicates.append((str(key_node.value), key_node))
                    seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """PyYAML's integer, refused past MAX_INT_DIGITS digits (only integers pay for the comparison)."""
        value: int = super().construct_yaml_int(node)
        if not -_INT_LIMIT < value < _INT_LIMIT:
            raise ValueError(f"a whole number longer than {MAX_INT_DIGITS:,} digits")
        return value


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)

# Dates stay strings: a runbook's last_reviewed is compared as text, and a
# datetime object would not survive JSON Schema's "type: string".
_Loader.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != _TIMESTAMP]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


@dataclass
class Document:
    """One loaded file: its data (None when it could not be loaded) and the node tree for positions."""

    path: Path
    display: str
    kind: DocKind
    data: Any = None
    node: yaml.Node | None = None
    text: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    digest: str = ""
    schema_diagnostics: list[Diagnostic] | None = None  # filled once by validation; kept with a cached document
    invalid_paths: list[tuple[Any, ...]] = field(default_factory=list)  # where those diagnostics point in data

    def tree(self) -> yaml.Node | None:
        """The node tree with line/column marks, composed on first use.

        Only files with a problem need positions; keeping every tree alive would make Python's garbage
        collector walk them all on every collection (it doubled the time to load 1,000 runbooks).
        """
        if self.node is None and self.text and self.data is not None:
            self.node = yaml.compose(self.text, Loader=yaml.CSafeLoader)
        return self.node

    @property
    def ok(self) -> bool:
        """True when the file loaded into data (it may still fail validation)."""
        return self.data is not None and not any(d.level == "error" for d in self.diagnostics)

    def locate(self, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
        """1-based line and column of the value at ``path`` (or of its key, with ``key=True``).

        Walks the node tree as far as the path exists, so a missing property is
        reported at the mapping that should hold it.
        """
        node = self.tree()
        if node is None:
            return (1, 1)
        return locate_node(node, path, key=key)

    def locate_in_scalar(self, path: Sequence[str | int], offset: int) -> tuple[int, int]:
        """Position of character ``offset`` inside the string at ``path``.

        Exact for literal block scalars (``|``), where each source line is the block's indentation followed by one
        line of the value, and for one-line plain or quoted scalars written without escapes; the scalar's start for
        every other style.
        """
        node = self.tree()
        for part in path:
            if node is None:
                break
            node, _ = _child(node, part)
        if not isinstance(node, yaml.ScalarNode):
            return self.locate(path)
        start, end = node.start_mark, node.end_mark
        if node.style in (None, "", "'", '"') and start.line == end.line:
            source = self.text.splitlines()[start.line] if start.line < len(self.text.splitlines()) else ""
            written = source[start.column : end.column]
            quote = 1 if node.style else 0
            if written[quote : len(written) - quote] == node.value and 0 <= offset <= len(node.value):
                return (start.line + 1, start.column + quote + offset + 1)
        if node.style != "|":
            return (start.line + 1, start.column + 1)
        value: str = node.value
        source_lines = self.text.splitlines()
        line_in_value = value.count("\n", 0, offset)
        line_start = value.rfind("\n", 0, offset) + 1
        col_in_line = offset - line_start
        line_index = node.start_mark.line + 1 + line_in_value
        indent = 0
        if line_index < len(source_lines):
            # The block's indentation is what the source line has before the value's line; the value's own leading
            # spaces (a nested JSON key, say) are part of the value, already counted in col_in_line.
            line_end = value.find("\n", line_start)
            own = value[line_start : line_end if line_end >= 0 else len(value)]
            source_line = source_lines[line_index]
            indent = (
                len(source_line) - len(own)
                if own and source_line.endswith(own)
                else len(source_line) - len(source_line.lstrip(" "))
            )
        return (line_index + 1, indent + col_in_line + 1)


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                return value_node, key_node
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], None
    return None, None


def is_catalog(path: Path) -> bool:
    """Catalog files are named catalog.yaml or *.catalog.yaml (also .yml); every other YAML file is a runbook."""
    name = path.name
    return name in ("catalog.yaml", "catalog.yml") or name.endswith((".catalog.yaml", ".catalog.yml"))


YAML_SUFFIXES = (".yaml", ".yml")


def is_yaml(path: Path) -> bool:
    """True for .yaml and .yml files."""
    return path.suffix in YAML_SUFFIXES


def iter_yaml_files(root: Path) -> Iterator[Path]:
    """Every YAML file under ``root`` in a stable order, skipping hidden files and directories.

    Symbolic links to files are followed, to directories not (a link loop cannot hang a run)."""
    found: list[Path] = []
    pending = [str(root)]
    while pending:
        with os.scandir(pending.pop()) as entries:  # scandir knows each entry's type: no stat per file
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.name.endswith(YAML_SUFFIXES) and entry.is_file():
                    found.append(Path(entry.path))
    yield from sorted(found)


def load_file(path: Path, display: str | None = None, cache: dict[Path, Document] | None = None) -> Document:
    """Load one YAML file. Never raises for bad content; problems land in ``diagnostics``.

    With ``cache`` (kept by a long-lived process such as ``mkdocs serve``), a file whose bytes are unchanged
    since it was last loaded under the same name is not parsed again."""
    shown = display if display is not None else str(path)
    doc = Document(path=path, display=shown, kind="catalog" if is_catalog(path) else "runbook")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        doc.diagnostics.append(_diag(shown, 0, 0, f"cannot read file: {exc.strerror or exc}", "file.read"))
        return doc
    if cache is None:
        return load_bytes(raw, doc)
    known = cache.get(path)
    if known is not None and known.display == shown and known.digest == digest(raw):
        if not known.text and known.data is not None:  # kept by an earlier process: positions come from the text
            known.text = raw.decode("utf-8-sig")
        return known
    cache[path] = load_bytes(raw, doc)
    return doc


def digest(raw: bytes) -> str:
    """A short content hash: tells a changed file (or generated page) from an unchanged one."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def load_bytes(raw: bytes, doc: Document) -> Document:
    """Load already-read bytes into ``doc`` (shared by files and the MkDocs plugin's cache)."""
    shown = doc.display
    doc.digest = digest(raw)
    if len(raw) > MAX_BYTES:
        doc.diagnostics.append(
            _diag(
                shown,
                0,
                0,
                f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB; refusing to parse it",
                "file.size",
            )
        )
        return doc
    if b"\0" in raw:
        doc.diagnostics.append(_diag(shown, 0, 0, "file looks binary (it contains NUL bytes)", "file.binary"))
        return doc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _offset_to_position(raw, exc.start)
        doc.diagnostics.append(
            _diag(shown, line, col, f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})", "file.encoding")
        )
        return doc
    # runbinder's own guard decides before libyaml composes anything (its recursive composer crashes near
    # 100,000 levels, and newer releases refuse flow nesting past 1,000 with a syntax error of their own).
    if _possibly_deep(text):
        deep = _measure_depth(text)
        if deep is not None:
            line, col = deep
            doc.diagnostics.append(_diag(shown, line, col, f"nesting is deeper than {MAX_DEPTH} levels", "yaml.depth"))
            return doc
    doc.text = text
    loader = _Loader(text)
    loader.duplicates = []
    try:
        node = loader.get_single_node()
        if node is None:
            doc.diagnostics.append(_diag(shown, 1, 1, "file is empty; expected a YAML mapping", "file.empty"))
            return doc
        # Only a document with an anchor can hold aliases; skip the walk for the rest.
        problem = _check_shape(node) if _ANCHOR.search(text) else None
        if problem is not None:
            message, rule, mark = problem
            doc.diagnostics.append(_diag(shown, mark.line + 1, mark.column + 1, message, rule))
            return doc
        try:
            data = loader.construct_document(node)
        except _CONSTRUCTION_ERRORS:
            # A standard tag could not read its value. Construction stops at the first one without saying where,
            # so (on this error path only) every scalar is tried alone to name each bad value at its node.
            doc.diagnostics.extend(_value_errors(shown, node, text))
            return doc
    except yaml.MarkedYAMLError as exc:
        doc.diagnostics.append(_yaml_error(shown, exc, text))
        return doc
    except yaml.reader.ReaderError as exc:
        doc.diagnostics.append(_reader_error(shown, exc, text))
        return doc
    except yaml.YAMLError as exc:  # no other unmarked error is known; still a located line, never a traceback
        doc.diagnostics.append(_diag(shown, 1, 1, f"invalid YAML: {' '.join(str(exc).split())}", "yaml.syntax"))
        return doc
    finally:
        loader.dispose()
    for key, key_node in loader.duplicates:
        mark = key_node.start_mark
        doc.diagnostics.append(
            _diag(
                shown,
                mark.line + 1,
                mark.column + 1,
                f"duplicate key {key!r}: YAML keeps only the last value, so an earlier one would be lost",
                "yaml.duplicate-key",
            )
        )
    if not isinstance(data, dict):
        mark = node.start_mark
        found = "a list" if isinstance(data, list) else f"a {type(data).__name__} value"
        doc.diagnostics.append(
            _diag(
                shown,
                mark.line + 1,
                mark.column + 1,
                f"expected a mapping at the top level, found {found}",
                "yaml.top-level",
            )
        )
        return doc
    doc.data = data  # the node tree is dropped here and composed again only if a position is needed
    return doc


def _value_errors(path: str, root: yaml.Node, text: str) -> list[Diagnostic]:
    """Every scalar below ``root`` its tag cannot read, each at its node, in document order."""
    found: list[Diagnostic] = []
    probe = _Loader("")
    probe.duplicates = []
    try:
        pending: list[yaml.Node] = [root]
        seen: set[int] = set()
        while pending:
            node = pending.pop()
            if id(node) in seen:  # an alias: its anchor was tried already
                continue
            seen.add(id(node))
            if isinstance(node, yaml.MappingNode):
                pending.extend(reversed([part for pair in node.value for part in pair]))
            elif isinstance(node, yaml.SequenceNode):
                pending.extend(reversed(node.value))
            elif isinstance(node, yaml.ScalarNode):
                problem = _unreadable(path, probe, node, text)
                if problem is not None:
                    found.append(problem)
    finally:
        probe.dispose()
    if not found:  # not a scalar's fault (no such case is known): still one located line, at the document
        mark = root.start_mark
        found.append(_diag(path, mark.line + 1, mark.column + 1, "a value cannot be read", "yaml.value"))
    return found


def _unreadable(path: str, probe: _Loader, node: yaml.ScalarNode, text: str) -> Diagnostic | None:
    """Why ``node``'s tag cannot read its value, or None when it can."""
    try:
        probe.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:  # e.g. a custom tag next to the bad value: reported as it always is
        return _yaml_error(path, exc, text)
    except (*_CONSTRUCTION_ERRORS, yaml.YAMLError) as exc:
        tag = str(node.tag)
        short = "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag
        value = str(node.value)
        if short == "!!int" and isinstance(exc, ValueError) and "digits" in str(exc):  # Python's limit or ours
            unsigned = value.lstrip("+-")
            size = f"{len(unsigned):,} digits" if unsigned.isdigit() else f"{len(value):,} characters"
            message = f"a whole number of {size} is too long (at most {MAX_INT_DIGITS:,} digits)"
        else:
            shown = repr(value) if len(value) <= 40 else f"{value[:30]!r}... ({len(value):,} characters)"
            message = f"{shown} is not a valid {short} value"
        mark = node.start_mark
        return _diag(
            path, mark.line + 1, mark.column + 1, f"{message}; correct it, or quote it if you meant text", "yaml.value"
        )
    return None


def _reader_error(path: str, exc: yaml.reader.ReaderError, text: str) -> Diagnostic:
    """A character YAML forbids, at its real line and column (libyaml reports a byte offset into UTF-8)."""
    before = text.encode("utf-8")[: max(exc.position, 0)].decode("utf-8", errors="ignore")
    lines = _LINE_BREAK.split(before)
    code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or b"\0")
    kind = "control character" if code < 0x20 or 0x7F <= code <= 0x9F else "character"
    return _diag(
        path,
        len(lines),
        len(lines[-1]) + 1,
        f"{kind} U+{code:04X} is not allowed in YAML: remove it, or write it as an escape (\\u{code:04x}) "
        "inside a double-quoted string",
        "yaml.character",
    )


# How YAML (and so libyaml's line numbers) breaks lines.
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x85\u2028\u2029]")


def _diag(path: str, line: int, col: int, message: str, rule: str) -> Diagnostic:
    return Diagnostic(path=path, line=line, col=col, level="error", message=message, rule=rule)


def _offset_to_position(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    line = before.count(b"\n") + 1
    start = before.rfind(b"\n") + 1
    # Column in characters of the decodable prefix of the line, 1-based.
    col = len(before[start:].decode("utf-8", errors="replace")) + 1
    return line, col


def _possibly_deep(text: str) -> bool:
    """A cheap test that can only err on the safe side: False means the text cannot nest past MAX_DEPTH.

    Block nesting needs either more indentation or another ``- ``/``? `` on the line (each level at least one
    column further right, and a sequence under a key two), flow nesting an unclosed bracket. Aliases are
    measured after composing (``_check_shape``); thousands of openers are measured whatever their layout.
    """
    if text.count("[") + text.count("{") + text.count("- ") > _DEEP_SUSPECT:
        return True
    if _DEEP_LINE.search(text):
        return True
    depth = deepest = 0
    for bracket in _BRACKETS.findall(text):  # quotes are ignored: an overestimate, never an underestimate
        depth = depth + 1 if bracket in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest > MAX_DEPTH // 2


_DEEP_LINE = re.compile(rf"^[ \t?-]{{{MAX_DEPTH // 2}}}", re.MULTILINE)
_BRACKETS = re.compile(r"[\[\]{}]")


def _measure_depth(text: str) -> tuple[int, int] | None:
    """Position where nesting passes MAX_DEPTH, or None, from the event stream (no recursion, no tree).

    libyaml's event parser is fast but its own limits differ between releases (libyaml 0.2.6, in PyYAML 6.0.4,
    stops flow nesting past 1,000 levels with a scanner error): when it fails, PyYAML's pure-Python parser,
    which has no nesting limit, decides. So the answer never depends on the installed PyYAML.
    """
    try:
        return _depth_from_events(yaml.parse(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError:
        pass
    try:
        return _depth_from_events(yaml.parse(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return None  # a syntax error before any deep nesting: the composer reports it with better context


def _depth_from_events(events: Iterator[yaml.Event]) -> tuple[int, int] | None:
    depth = 0
    for event in events:
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            mark = event.start_mark
            if depth > MAX_DEPTH and mark is not None:
                return (mark.line + 1, mark.column + 1)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _check_shape(root: yaml.Node) -> tuple[str, str, yaml.Mark] | None:
    """Refuse recursive aliases, alias expansion bombs and deep nesting before constructing data.

    Counts the nodes the document would have with aliases expanded, memoised per
    shared node so the count itself stays linear in the size of the file.
    """
    expanded: dict[int, int] = {}
    on_path: set[int] = set()

    def visit(node: yaml.Node, depth: int) -> int:
        ident = id(node)
        if ident in expanded:
            return expanded[ident]
        if ident in on_path:
            raise _ShapeError("recursive alias: a node contains itself", "yaml.alias", node.start_mark)
        if depth > MAX_DEPTH:
            raise _ShapeError(f"nesting is deeper than {MAX_DEPTH} levels", "yaml.depth", node.start_mark)
        total = 1
        if isinstance(node, yaml.CollectionNode):
            on_path.add(ident)
            children: list[yaml.Node]
            if isinstance(node, yaml.MappingNode):
                children = [part for pair in node.value for part in pair]
            else:
                children = list(node.value)
            for child in children:
                total += visit(child, depth + 1)
                if total > MAX_EXPANDED_NODES:
                    raise _ShapeError(
                        f"aliases expand this document to more than {MAX_EXPANDED_NODES:,} nodes (an alias bomb?)",
                        "yaml.alias",
                        child.start_mark,
                    )
            on_path.discard(ident)
        expanded[ident] = total
        return total

    try:
        visit(root, 1)
    except _ShapeError as exc:
        return exc.args[0], exc.args[1], exc.args[2]
    return None


class _ShapeError(Exception):
    pass


def _yaml_error(path: str, exc: yaml.MarkedYAMLError, text: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = exc.problem or "invalid YAML"
    rule = "yaml.syntax"
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem:
        rule = "yaml.tag"
        tag = problem.split("tag", 1)[1].strip().strip("'")
        if tag.startswith("tag:yaml.org,2002:"):
            tag = "!!" + tag.removeprefix("tag:yaml.org,2002:")
        problem = f"tag {tag} is not allowed: runbooks are plain data (no custom or Python tags)"
    elif "'\\t'" in problem or "\t" in problem or _is_tab(text, mark):
        rule = "yaml.tab"
        problem = "tab character: YAML indentation must use spaces"
    elif problem.startswith("but found another document"):
        problem = "the file holds more than one YAML document: put each runbook in a file of its own (no '---')"
    elif exc.context:
        problem = f"{problem} ({exc.context})"
    for start, hint in _HINTS:
        if problem.startswith(start):
            problem = f"{problem}; {hint}"
            break
    return _diag(path, line, col, problem, rule)


# libyaml's wording for the mistakes people make most, and what to do about each.
_HINTS = (
    ("mapping values are not allowed", "is there a ': ' inside an unquoted value? Quote it or use a | block"),
    ("found character '`'", "a value cannot start with a backquote: quote it"),
    ("found character '@'", "a value cannot start with '@': quote it"),
    ("found undefined alias", "an alias (*name) needs an anchor (&name) earlier in the file"),
)


def _is_tab(text: str, mark: yaml.Mark | None) -> bool:
    return mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t"


def locate_node(node: yaml.Node, path: Sequence[str | int], *, key: bool = False) -> tuple[int, int]:
    """1-based line and column of the value at ``path`` under ``node`` (or of its key, with ``key=True``), or of
    the deepest part of the path that exists."""
    target: yaml.Node = node
    key_node: yaml.Node | None = None
    for part in path:
        child, child_key = _child(target, part)
        if child is None:
            break
        target, key_node = child, child_key
    else:
        if key and key_node is not None:
            target = key_node
    mark = target.start_mark
    return (mark.line + 1, mark.column + 1)
