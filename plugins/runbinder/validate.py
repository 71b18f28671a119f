"""Schema validation and cross-reference checks over a whole runbook project.

A project is the directory holding ``catalog.yaml`` and everything under it:
catalog files (``catalog.yaml``, ``*.catalog.yaml``) whose lists are merged, and
runbook files (every other ``*.yaml``). Validating single files, as pre-commit
does, still resolves their references against the whole project.
"""

from __future__ import annotations

import difflib
import functools
import gc
import hashlib
import os
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from . import rules_match, sidework
from .diagnostics import Diagnostic, Level
from .loader import Document, is_catalog, is_yaml, iter_yaml_files, load_file
from .placeholders import assigned_names, bare_uses, command_uses, template_uses
from .prose import encoding_diagnostics, markdown_diagnostics
from .review import parse_day
from .schemas import is_valid, load_schemas, validator
from .sitemap import RESERVED_IDS, project_files, runbook_page, service_page
from .structure import find_step, step_names, walk_steps
from .structure import iter_commands as structure_commands

PathT = tuple[str | int, ...]

# Catalog sections holding identified entries, and the word used for them in messages.
SECTIONS = {
    "severities": "severity level",
    "roles": "role",
    "contacts": "contact",
    "escalation_policies": "escalation policy",
    "services": "service",
    "tools": "tool",
    "templates": "template",
    "checklists": "checklist",
}


class UsageError(Exception):
    """Bad command-line input (exit 2), as opposed to bad runbook content (exit 1)."""


@dataclass
class Entry:
    """Where an identified thing is defined."""

    doc: Document
    path: PathT
    data: dict[str, Any]


@dataclass
class Index:
    """Every identified thing in the project, by section and id."""

    tables: dict[str, dict[str, Entry]] = field(default_factory=lambda: {s: {} for s in SECTIONS})
    runbooks: dict[str, Entry] = field(default_factory=dict)
    runbook_ids: dict[str, list[tuple[Document | Path, PathT]]] = field(default_factory=dict)
    site_variables: dict[str, Entry] = field(default_factory=dict)
    site: Entry | None = None
    files: dict[str, Path] = field(default_factory=dict)  # shared pages and images by site path (sitemap)
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """What renderers derive from the whole index once (the backlinks), shared by the site's and the print's."""

    def __getitem__(self, section: str) -> dict[str, Entry]:
        return self.tables[section]


@dataclass
class Project:
    """A loaded project: its root, its documents and the index built from them."""

    root: Path | None
    documents: list[Document]
    index: Index
    diagnostics: list[Diagnostic]


def find_root(path: Path, cache: dict[Path, Path | None] | None = None) -> Path | None:
    """The nearest directory at or above ``path`` that holds catalog.yaml (or catalog.yml).

    ``cache`` (one per run) spares a thousand files in a hundred folders from asking about the same parents."""
    start = path if path.is_dir() else path.parent
    cache = {} if cache is None else cache
    visited = []
    root: Path | None = None
    for candidate in (start, *start.parents):
        if candidate in cache:
            root = cache[candidate]
            break
        visited.append(candidate)
        if (candidate / "catalog.yaml").is_file() or (candidate / "catalog.yml").is_file():
            root = candidate
            break
    for candidate in visited:
        cache[candidate] = root
    return root


def display_path(path: Path, cwd: Path) -> str:
    """The path as the user would type it: relative to the working directory when below it."""
    absolute = os.path.abspath(path)  # no filesystem access: this runs once per file
    base = _absolute_dir(str(cwd))
    return absolute[len(base) + 1 :] if absolute.startswith(base + os.sep) else str(path)


@functools.lru_cache(maxsize=8)
def _absolute_dir(directory: str) -> str:
    return os.path.realpath(directory)


def expand(paths: Sequence[Path]) -> list[Path]:
    """The YAML files named or contained in ``paths``, in order, each once."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(iter_yaml_files(path))
        elif path.is_file():
            if not is_yaml(path):
                raise UsageError(f"{path}: not a YAML file (expected .yaml or .yml)")
            files.append(path)
        else:
            raise UsageError(f"{path}: no such file or directory")
    if len(paths) == 1:
        return files  # one directory walk (or one file) names each file once
    seen: set[Path] = set()
    unique = []
    for file in files:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(file)
    return unique


_TOP_ID = re.compile(rb"^id:[ \t]*[\"']?([a-z0-9][a-z0-9-]*)[\"']?[ \t]*(?:#.*)?$", re.MULTILINE)


def _peek_id(path: Path) -> str | None:
    """A runbook's top-level id read with a regex: enough to resolve references to files not being checked."""
    try:
        with path.open("rb") as handle:
            match = _TOP_ID.search(handle.read(1 << 20))
    except OSError:
        return None
    return match.group(1).decode() if match else None


def validate_paths(paths: Sequence[Path], cwd: Path | None = None) -> tuple[list[Diagnostic], int]:
    """Validate the given files and directories; returns the diagnostics and the number of files checked."""
    cwd = cwd or Path.cwd()
    selected = expand(paths)
    diagnostics: list[Diagnostic] = []
    by_root: dict[Path | None, list[Path]] = {}
    roots: dict[Path, Path | None] = {}
    for file in selected:
        root = find_root(file, roots)
        by_root.setdefault(root.resolve() if root else None, []).append(file)
    for root, files in by_root.items():
        whole = root is not None and len(paths) == 1 and paths[0].is_dir() and paths[0].resolve() == root
        project = load_project(root, None if whole else files, cwd, beside=True)
        diagnostics.extend(project.diagnostics)
    return diagnostics, len(selected)


def load_project(
    root: Path | None,
    selected: Sequence[Path] | None,
    cwd: Path,
    cache: dict[Path, Document] | None = None,
    beside: bool = False,
    memo: dict[tuple[str, str, str], list[Diagnostic]] | None = None,
) -> Project:
    """Load and check a project. With ``selected``, report only those files' problems
    (and catalog files that fail to load, since they block every reference check). With ``cache``, files whose
    bytes did not change since the last call with the same cache are neither parsed nor schema-validated again;
    the cross-reference checks always run over the whole project, but with ``memo`` (kept by a long-lived caller:
    `mkdocs serve`) a runbook's own are taken from the last call when neither its file, the catalogs nor the set of
    runbook ids changed. ``beside``: a forked child (sidework) loads and schema-checks half of the files meanwhile,
    when one can be started."""
    # Loading builds hundreds of thousands of small, acyclic objects (YAML data cannot hold cycles: recursive
    # aliases are refused); reference counting frees them, and pausing the cycle collector meanwhile saves
    # it from re-walking the growing heap (a third of the time at 1,000 runbooks).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load_project(root, selected, cwd, cache, beside, memo)
    finally:
        if collecting:
            gc.enable()


def _load_project(
    root: Path | None,
    selected: Sequence[Path] | None,
    cwd: Path,
    cache: dict[Path, Document] | None,
    beside: bool,
    memo: dict[tuple[str, str, str], list[Diagnostic]] | None = None,
) -> Project:
    # Selected files by real path and by absolute path. Files found by walking the (resolved) root are compared
    # by absolute path alone: no filesystem call per file, which a one-file pre-commit run in a project of
    # thousands of runbooks would otherwise pay for every one of them.
    chosen = None
    if selected is not None:
        chosen = {os.path.realpath(p) for p in selected} | {os.path.abspath(p) for p in selected}
    documents: list[Document] = []
    peeked: list[tuple[str, Path]] = []
    files = list(iter_yaml_files(root)) if root is not None else list(selected or [])
    if chosen is not None:
        known = {os.path.abspath(f) for f in files}
        extra = [p for p in selected or [] if os.path.abspath(p) not in known and os.path.realpath(p) not in known]
        files.extend(extra)
    if chosen is None:
        documents = _loaded(files, cwd, cache, beside)
    else:
        for file in files:
            if os.path.abspath(file) in chosen or is_catalog(file):
                documents.append(load_file(file, display_path(file, cwd), cache))
            elif (ident := _peek_id(file)) is not None:
                peeked.append((ident, file))
            else:  # unusual layout: fall back to a real load
                documents.append(load_file(file, display_path(file, cwd)))
    diagnostics: list[Diagnostic] = []
    for doc in documents:
        diagnostics.extend(doc.diagnostics)
        if doc.data is not None:
            if doc.schema_diagnostics is None:
                _judge(doc)
            diagnostics.extend(doc.schema_diagnostics or ())
    index = Index(files=project_files(root) if root is not None else {})
    checker = _Checker(index)
    if root is None:
        for doc in documents:
            diagnostics.append(
                Diagnostic(
                    doc.display,
                    0,
                    0,
                    "error",
                    "no catalog.yaml in this directory or any parent: references cannot be resolved",
                    "catalog.missing",
                )
            )
    checker.build(documents, peeked)
    if root is not None:  # without a catalog every reference would fail: report that once instead
        diagnostics.extend(checker.check(documents, memo if chosen is None else None))
    if chosen is not None:
        shown = {display_path(p, cwd) for p in selected or []}
        broken_catalogs = {d.display for d in documents if is_catalog(d.path) and d.data is None}
        diagnostics = [d for d in diagnostics if d.path in shown or d.path in broken_catalogs]
    return Project(root=root, documents=documents, index=index, diagnostics=_dedupe(diagnostics))


_BESIDE_FROM = 100  # files: below this, starting a child costs about what it saves


def _loaded(files: Sequence[Path], cwd: Path, cache: dict[Path, Document] | None, beside: bool) -> list[Document]:
    """Every file loaded, in order; ``beside``: the second half by a forked child, meanwhile."""
    unknown = len(files) if cache is None else sum(file not in cache for file in files)
    if not beside or unknown < _BESIDE_FROM or not sidework.can_fork():
        return [load_file(file, display_path(file, cwd), cache) for file in files]
    ours, theirs = files[: len(files) // 2], files[len(files) // 2 :]
    try:
        child = sidework.Child(functools.partial(_judged, theirs, cwd), "load")
    except OSError:  # no process or thread to be had (limits, memory): all of them here
        return [load_file(file, display_path(file, cwd), cache) for file in files]
    documents = [load_file(file, display_path(file, cwd), cache) for file in ours]
    for doc in documents:  # schema-checked here too while the child finishes, not after
        if doc.data is not None and doc.schema_diagnostics is None:
            _judge(doc)
    loaded = child.result()
    if loaded is None:  # the child failed: its files are loaded here
        loaded = _judged(theirs, cwd, None)
    if cache is not None:
        cache.update((doc.path, doc) for doc in loaded)
    return documents + loaded


def _judged(files: Sequence[Path], cwd: Path, inbox: Any) -> list[Document]:
    """Files loaded and schema-checked (in a child: its half, sent back to the process that loads the rest)."""
    documents = [load_file(file, display_path(file, cwd)) for file in files]
    for doc in documents:
        if doc.data is not None:
            _judge(doc)
    return documents


def _reference_context(documents: Sequence[Document], index: Index) -> str:
    """What a runbook's reference checks read besides its own file: every catalog file and the runbook ids."""
    digest = hashlib.blake2b(digest_size=16)
    for doc in documents:
        if doc.kind == "catalog":
            digest.update(f"{doc.display}\0{doc.digest}\n".encode("utf-8", errors="surrogatepass"))
    for ident, owners in sorted(index.runbook_ids.items()):
        digest.update(f"{ident}\0{len(owners)}\n".encode("utf-8", errors="surrogatepass"))
    return digest.hexdigest()


def _dedupe(items: Iterable[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(items))


# --------------------------------------------------------------------------- schema


def _judge(doc: Document) -> None:
    """Fill ``doc.schema_diagnostics`` (schema and value errors) and ``doc.invalid_paths`` (where they are)."""
    found = [*_schema_errors(doc), *_value_errors(doc)]
    # What the Markdown door will neutralise (markdown.unsafe) is reported with the document's own problems, but
    # does not make its data unsafe to read: the renderers and checks handle such text by construction.
    doc.schema_diagnostics = [d for _, d in found] + markdown_diagnostics(doc) + encoding_diagnostics(doc)
    doc.invalid_paths = list(dict.fromkeys(p for p, _ in found))


def schema_diagnostics(doc: Document) -> Iterator[Diagnostic]:
    """JSON Schema errors of one loaded document, each at the key or value it concerns.

    The compiled validator clears valid documents in microseconds; jsonschema, slower but with precise
    errors, only runs for the rest.
    """
    for _, diagnostic in _schema_errors(doc):
        yield diagnostic


def _schema_errors(doc: Document) -> Iterator[tuple[PathT, Diagnostic]]:
    if is_valid(doc.kind, doc.data):
        return
    for error in validator(doc.kind).iter_errors(doc.data):
        yield from _convert(error, doc)


def _convert(error: Any, doc: Document) -> Iterator[tuple[PathT, Diagnostic]]:
    """Diagnostics of one jsonschema error, each with the path of the data it condemns."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        yield from _convert(best_match(error.context), doc)
        return
    path: PathT = tuple(error.absolute_path)
    where = f"{json_path(path)}: " if path else ""
    rule = f"schema.{error.validator}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        for key in error.instance:
            if key in allowed:
                continue
            hint = _did_you_mean(str(key), allowed)
            line, col = doc.locate((*path, key), key=True)
            # The path names the unknown key itself: entries beside it (a catalog's other sections) stay safe to read.
            message = f"{where}unknown property {_short(key)}{hint}"
            yield (*path, key), Diagnostic(doc.display, line, col, "error", message, rule)
        return
    if error.validator == "required":
        line, col = doc.locate(path)
        yield path, Diagnostic(doc.display, line, col, "error", f"{where}{error.message}", rule)
        return
    message = error.message
    if error.validator == "enum":
        message = f"{_short(error.instance)} is not one of {', '.join(map(repr, error.validator_value))}"
        message += _did_you_mean(str(error.instance), [str(v) for v in error.validator_value])
    elif error.validator == "pattern":
        title = error.schema.get("title", "value").lower()
        message = f"{_short(error.instance)} is not a valid {title}: {error.schema.get('description', '')}".rstrip(": ")
    elif error.validator == "minLength" and error.instance == "":
        message = "must not be empty"
    elif error.validator == "minItems" and error.instance == []:
        message = "must not be an empty list"
    elif error.validator == "type":
        message = f"expected {_type_words(error.validator_value)}, found {_describe(error.instance)}"
    elif len(message) > _MAX_MESSAGE:  # jsonschema quotes the whole value, which may be a whole section
        message = message[: _MAX_MESSAGE - 3] + "..."
    line, col = doc.locate(path)
    yield path, Diagnostic(doc.display, line, col, "error", f"{where}{message}", rule)


_MAX_MESSAGE = 300
_MAX_SHOWN = 60


def _short(value: Any) -> str:
    """``repr(value)``, cut to a readable length: a message quotes a value, not a whole file."""
    shown = repr(value)
    if len(shown) <= _MAX_SHOWN:
        return shown
    return f"{shown[:_MAX_SHOWN]}... ({len(value) if isinstance(value, str) else len(shown):,} characters)"


def _type_words(expected: Any) -> str:
    names = {
        "string": "a string",
        "object": "a mapping",
        "array": "a list",
        "integer": "a whole number",
        "boolean": "true or false",
        "number": "a number",
        "null": "nothing",
    }
    if isinstance(expected, list):
        return " or ".join(names.get(str(t), str(t)) for t in expected)
    return names.get(str(expected), str(expected))


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} (quote it if you meant text)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {_short(value)} (quote it if you meant text)"
    return f"{type(value).__name__} {_short(value)}"


def json_path(path: Sequence[str | int]) -> str:
    """``phases[0].steps[1].title`` for a path, as readers of the YAML think of it."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    if len(word) > 100:  # no id is that long, and difflib's time grows with it
        return ""
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


# --------------------------------------------------------------------------- values


@functools.cache
def _date_form() -> re.Pattern[str]:
    # The schema's own pattern: a value not of this form is the schema's to report, once.
    return re.compile(load_schemas()["common.schema.json"]["$defs"]["date"]["pattern"])


def _value_errors(doc: Document) -> Iterator[tuple[PathT, Diagnostic]]:
    """Values of the right form that still mean nothing: a day the calendar lacks, a URL urllib cannot read.

    Review dates and link checks, pages and the binder read these fields; a document without these errors and
    without schema errors is safe to hand them. Only the few fields concerned are visited, not the whole tree.
    """
    data = doc.data
    if not isinstance(data, dict):
        return
    dates: list[tuple[PathT, Any]] = [(("last_reviewed",), data.get("last_reviewed"))]
    dates += [(("history", i, "date"), entry.get("date")) for i, entry in iter_items(data, "history")]
    form = _date_form()
    for path, value in dates:
        if isinstance(value, str) and form.match(value) and not _surely_real(value) and parse_day(value) is None:
            yield (
                path,
                _located(doc, path, f"{json_path(path)}: {value!r} is not a real date{_why(value)}", "value.date"),
            )
    for path, url in _urls(data):
        problem = _url_problem(url) if isinstance(url, str) else None
        if problem is not None:
            yield path, _located(doc, path, f"{json_path(path)}: malformed URL {_short(url)}: {problem}", "value.url")


def _surely_real(day: str) -> bool:
    # For a day of the schema's form: every month has a 28th, and only year 0 is outside the calendar.
    return not day.startswith("0000") and (len(day) == 7 or day[8:] <= "28")


def _located(doc: Document, path: PathT, message: str, rule: str) -> Diagnostic:
    line, col = doc.locate(path)
    return Diagnostic(doc.display, line, col, "error", message, rule)


def _why(day: str) -> str:
    """The calendar's reason, e.g. ' (day is out of range for month)'."""
    try:
        year, month, *rest = (int(part) for part in day.split("-"))
        date(year, month, rest[0] if rest else 1)
    except ValueError as exc:
        return f" ({exc})"
    return ""  # pragma: no cover - only called for days parse_day refused


def _urls(data: dict[str, Any]) -> list[tuple[PathT, Any]]:
    """Every field holding a link target: link urls (references, service and step links), contact web addresses.

    Plain loops rather than iter_items: this runs for every valid file, and generators doubled its time."""
    found: list[tuple[PathT, Any]] = []
    for i, link in _dicts(data.get("references")):
        found.append((("references", i, "url"), link.get("url")))
    for i, service in _dicts(data.get("services")):
        for j, link in _dicts(service.get("links")):
            found.append((("services", i, "links", j, "url"), link.get("url")))
    for i, phase in _dicts(data.get("phases")):
        for j, step in _dicts(phase.get("steps")):
            if "links" in step:
                for k, link in _dicts(step["links"]):
                    found.append((("phases", i, "steps", j, "links", k, "url"), link.get("url")))
    for i, contact in _dicts(data.get("contacts")):
        for j, method in _dicts(contact.get("methods")):
            if method.get("type") == "url":
                found.append((("contacts", i, "methods", j, "value"), method.get("value")))
    return found


def _dicts(value: Any) -> list[tuple[int, dict[str, Any]]]:
    """The mappings of a list with their indexes (nothing when ``value`` is not a list)."""
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)] if isinstance(value, list) else []


def _url_problem(url: str) -> str | None:
    """Why urllib cannot read ``url`` (an unclosed IPv6 bracket, a port that is no port), or None."""
    try:
        _ = urllib.parse.urlsplit(url).port  # the port is only parsed when asked for
    except ValueError as exc:
        return str(exc)
    return None


# --------------------------------------------------------------------------- safe data


def is_safe(doc: Document) -> bool:
    """True when ``doc`` loaded and passed the schema and the value checks: every field reads as the schema says.

    Reference errors do not make data unsafe (an unknown service is still a string), nor do markdown.unsafe
    findings (the doors neutralise such text by construction): only the schema and value errors, which
    ``invalid_paths`` locates, do."""
    return doc.ok and doc.schema_diagnostics is not None and not doc.invalid_paths


def safe_view(project: Project) -> Project:
    """The project as checks may read it: only safe documents, and index entries whose own data passed.

    An entry of a catalog with errors elsewhere keeps its data (a broken service does not hide the tools); an
    entry with errors inside keeps its id, so references and pages still resolve, and an empty mapping as data.
    """
    if all(is_safe(doc) for doc in project.documents):
        return project

    def clean(entry: Entry) -> Entry:
        return entry if _entry_is_safe(entry) else replace(entry, data={})

    old = project.index
    index = Index(
        tables={section: {k: clean(e) for k, e in table.items()} for section, table in old.tables.items()},
        runbooks={k: clean(e) for k, e in old.runbooks.items()},
        runbook_ids=old.runbook_ids,
        site_variables={k: clean(e) for k, e in old.site_variables.items()},
        site=clean(old.site) if old.site is not None else None,
    )
    documents = [doc for doc in project.documents if is_safe(doc)]
    return Project(root=project.root, documents=documents, index=index, diagnostics=project.diagnostics)


def _entry_is_safe(entry: Entry) -> bool:
    doc = entry.doc
    if not doc.ok or doc.schema_diagnostics is None:
        return False
    size = len(entry.path)
    # Unsafe when an error lies inside the entry or on the way to it (a wrong type higher up).
    return not any(bad[:size] == entry.path or entry.path[: len(bad)] == bad for bad in doc.invalid_paths)


# --------------------------------------------------------------------------- cross-references


def slug(text: str) -> str:
    """The identifier derived from a title: lower case, runs of other characters become one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:64].strip("-") or "item"


def _get(data: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(data, dict) and isinstance(key, str):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def iter_items(data: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


def _strings(data: Any, key: str) -> Iterator[tuple[int, str]]:
    value = data.get(key) if isinstance(data, dict) else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield i, item


class _Checker:
    """Builds the index, then checks every reference against it."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.diagnostics: list[Diagnostic] = []

    # -- reporting

    def report(
        self, doc: Document, path: PathT, message: str, rule: str, level: Level = "error", key: bool = False
    ) -> None:
        line, col = doc.locate(path, key=key)
        self.diagnostics.append(Diagnostic(doc.display, line, col, level, message, rule))

    def _where(self, entry: Entry) -> str:
        line, col = entry.doc.locate((*entry.path, "id"))
        return f"{entry.doc.display}:{line}:{col}"

    # -- index

    def build(self, documents: Sequence[Document], peeked: Sequence[tuple[str, Path]]) -> None:
        index = self.index
        for doc in documents:
            data = doc.data
            if not isinstance(data, dict):
                continue
            if doc.kind == "catalog":
                if isinstance(data.get("site"), dict):
                    if index.site is not None:
                        self.report(
                            doc,
                            ("site",),
                            "the site settings are already given in "
                            f"{index.site.doc.display}; give them in one catalog file only",
                            "id.duplicate",
                            key=True,
                        )
                    else:
                        index.site = Entry(doc, ("site",), data["site"])
                for section, noun in SECTIONS.items():
                    for i, item in iter_items(data, section):
                        self._add(index[section], noun, doc, (section, i), item)
                for i, item in iter_items(data, "variables"):
                    name = item.get("name")
                    if isinstance(name, str):
                        if name in index.site_variables:
                            other = index.site_variables[name]
                            self.report(
                                doc,
                                ("variables", i, "name"),
                                f"site variable {name!r} is already declared at {self._where(other)}",
                                "id.duplicate",
                            )
                        else:
                            index.site_variables[name] = Entry(doc, ("variables", i), item)
            else:
                ident = data.get("id")
                if isinstance(ident, str):
                    if ident in RESERVED_IDS:
                        self.report(
                            doc,
                            ("id",),
                            f"runbook id {ident!r} is reserved: {runbook_page(ident)} is the generated list of all "
                            "runbooks; choose another id",
                            "id.reserved",
                        )
                    index.runbook_ids.setdefault(ident, []).append((doc, ()))
                    if ident in index.runbooks:
                        other = index.runbooks[ident]
                        self.report(
                            doc,
                            ("id",),
                            f"duplicate runbook id {ident!r}: also used by {other.doc.display}",
                            "id.duplicate",
                        )
                    else:
                        index.runbooks[ident] = Entry(doc, (), data)
        for ident, path in peeked:
            existing = index.runbooks.get(ident)
            if existing is not None:
                self.report(
                    existing.doc,
                    ("id",),
                    f"duplicate runbook id {ident!r}: also used by {path}",
                    "id.duplicate",
                )
            index.runbook_ids.setdefault(ident, []).append((path, ()))

    def _add(self, table: dict[str, Entry], noun: str, doc: Document, path: PathT, item: dict[str, Any]) -> None:
        ident = item.get("id")
        if not isinstance(ident, str):
            return
        if ident in RESERVED_IDS and path[0] == "services":
            self.report(
                doc,
                (*path, "id"),
                f"service id {ident!r} is reserved: {service_page(ident)} is the generated list of all services; "
                "choose another id",
                "id.reserved",
            )
        if ident in table:
            self.report(
                doc,
                (*path, "id"),
                f"duplicate {noun} id {ident!r}: already defined at {self._where(table[ident])}",
                "id.duplicate",
            )
            return
        table[ident] = Entry(doc, path, item)

    # -- reference helpers

    def ref(
        self, doc: Document, path: PathT, value: Any, section: str, rule: str, what: str | None = None
    ) -> Entry | None:
        """Resolve one id in ``section``; report it (with a suggestion) when it does not exist."""
        if not isinstance(value, str):
            return None
        table = self.index[section] if section != "runbooks" else self.index.runbooks
        found = table.get(value)
        if found is None and section == "runbooks" and value in self.index.runbook_ids:
            return Entry(doc, path, {})  # defined in a file not loaded in full
        if found is None:
            noun = what or (SECTIONS.get(section, "runbook"))
            candidates = list(table) if section != "runbooks" else list(self.index.runbook_ids)
            self.report(doc, path, f"{noun} {value!r} does not exist{_did_you_mean(value, candidates)}", rule)
        return found

    def team(self, doc: Document, path: PathT, value: Any) -> None:
        entry = self.ref(doc, path, value, "contacts", "xref.owner", "owner")
        if entry is not None and entry.data.get("type") != "team":
            self.report(
                doc,
                path,
                f"owner {value!r} is a {entry.data.get('type')}, not a team: only teams own services and runbooks",
                "xref.owner",
            )

    def recipients(self, doc: Document, path: PathT, values: Any) -> None:
        if not isinstance(values, list):
            return
        contacts, roles = self.index["contacts"], self.index["roles"]
        for i, value in enumerate(values):
            if not isinstance(value, str) or value in contacts or value in roles:
                continue
            hint = _did_you_mean(value, [*contacts, *roles])
            self.report(doc, (*path, i), f"contact or role {value!r} does not exist{hint}", "xref.contact")

    def levels(self, doc: Document, path: PathT, levels: Any) -> None:
        if not isinstance(levels, list):
            return
        for i, level in enumerate(levels):
            if isinstance(level, dict):
                self.recipients(doc, (*path, i, "to"), level.get("to"))
                self.ref(doc, (*path, i, "via"), level.get("via"), "tools", "xref.tool")
                self.refs(doc, (*path, i, "severities"), level.get("severities"), "severities", "xref.severity")

    def refs(self, doc: Document, path: PathT, values: Any, section: str, rule: str) -> None:
        if isinstance(values, list):
            for i, value in enumerate(values):
                self.ref(doc, (*path, i), value, section, rule)

    # -- checks

    def check(
        self, documents: Sequence[Document], memo: dict[tuple[str, str, str], list[Diagnostic]] | None = None
    ) -> list[Diagnostic]:
        """Every reference of every document. With ``memo`` (see ``load_project``): each runbook's own findings
        depend on its file, the catalogs (every table, the site's variables) and the runbook ids, nothing else."""
        context = _reference_context(documents, self.index) if memo is not None else ""
        used: dict[tuple[str, str, str], list[Diagnostic]] = {}
        for doc in documents:
            if isinstance(doc.data, dict):
                if doc.kind == "catalog":
                    self.check_catalog(doc, doc.data)
                    continue
                key = (doc.display, doc.digest, context)
                found = memo.get(key) if memo is not None else None
                if found is None:
                    start = len(self.diagnostics)
                    self.check_runbook(doc, doc.data)
                    found = self.diagnostics[start:]
                else:
                    self.diagnostics.extend(found)
                used[key] = found
        if memo is not None:
            memo.clear()
            memo.update(used)
        self.check_alerts(documents)
        return self.diagnostics

    def check_catalog(self, doc: Document, data: dict[str, Any]) -> None:
        for i, service in iter_items(data, "services"):
            path: PathT = ("services", i)
            self.team(doc, (*path, "owner"), service.get("owner"))
            self.ref(
                doc,
                (*path, "escalation_policy"),
                service.get("escalation_policy"),
                "escalation_policies",
                "xref.policy",
            )
            dependencies = service.get("dependencies")
            self.refs(doc, (*path, "dependencies"), dependencies, "services", "xref.service")
            if isinstance(dependencies, list) and isinstance(service.get("id"), str) and service["id"] in dependencies:
                self.report(doc, (*path, "dependencies"), "a service cannot depend on itself", "xref.service")
            for j, level in iter_items(service, "severity_scale"):
                self.ref(
                    doc,
                    (*path, "severity_scale", j, "level"),
                    level.get("level"),
                    "severities",
                    "xref.severity",
                )
        for i, role in iter_items(data, "roles"):
            self.refs(doc, ("roles", i, "severities"), role.get("severities"), "severities", "xref.severity")
            self.refs(doc, ("roles", i, "filled_by"), role.get("filled_by"), "contacts", "xref.contact")
        for i, contact in iter_items(data, "contacts"):
            self.refs(doc, ("contacts", i, "members"), contact.get("members"), "contacts", "xref.contact")
        for i, policy in iter_items(data, "escalation_policies"):
            self.ref(doc, ("escalation_policies", i, "service"), policy.get("service"), "services", "xref.service")
            self.levels(doc, ("escalation_policies", i, "levels"), policy.get("levels"))
        for i, tool in iter_items(data, "tools"):
            self.refs(doc, ("tools", i, "services"), tool.get("services"), "services", "xref.service")
        for i, template in iter_items(data, "templates"):
            path = ("templates", i)
            self.ref(doc, (*path, "service"), template.get("service"), "services", "xref.service")
            self.check_template(doc, path, template)

    def check_template(self, doc: Document, path: PathT, template: dict[str, Any]) -> None:
        declared = {name for _, v in iter_items(template, "variables") if isinstance(name := v.get("name"), str)}
        used: set[str] = set()
        for field_name in ("subject", "body"):
            text = template.get(field_name)
            if not isinstance(text, str):
                continue
            for use in template_uses(text):
                used.add(use.name)
                if use.name not in declared:
                    line, col = doc.locate_in_scalar((*path, field_name), use.offset)
                    self.diagnostics.append(
                        Diagnostic(
                            doc.display,
                            line,
                            col,
                            "error",
                            f"placeholder {{{use.name}}} is not declared in this template's variables",
                            "xref.variable",
                        )
                    )
        for j, variable in iter_items(template, "variables"):
            name = variable.get("name")
            if isinstance(name, str) and name not in used:
                self.report(
                    doc,
                    (*path, "variables", j, "name"),
                    f"variable {name!r} is declared but the template never uses it",
                    "xref.variable-unused",
                    level="warning",
                )

    def check_runbook(self, doc: Document, data: dict[str, Any]) -> None:
        self.ref(doc, ("service",), data.get("service"), "services", "xref.service")
        self.team(doc, ("owner",), data.get("owner"))
        self.ref(doc, ("severity",), data.get("severity"), "severities", "xref.severity")
        escalation = data.get("escalation")
        if isinstance(escalation, dict):
            self.ref(doc, ("escalation", "policy"), escalation.get("policy"), "escalation_policies", "xref.policy")
            self.levels(doc, ("escalation", "levels"), escalation.get("levels"))
            if "policy" not in escalation and "levels" not in escalation:
                self.report(doc, ("escalation",), "escalation needs a policy or levels", "xref.policy")
        for i, related in _strings(data, "related"):
            if related == data.get("id"):
                self.report(doc, ("related", i), "a runbook cannot be related to itself", "xref.runbook")
            else:
                self.ref(doc, ("related", i), related, "runbooks", "xref.runbook")
        self.refs(doc, ("include_checklists",), data.get("include_checklists"), "checklists", "xref.checklist")
        self.check_structure(doc, data)
        self.check_flow(doc, data.get("flow"), data)
        self.check_variables(doc, data)

    def check_structure(self, doc: Document, data: dict[str, Any]) -> None:
        """Phase and step identifiers (given or derived from titles) must be unique among their siblings: they name
        test items and page anchors. Sub-steps and the steps of alternatives are checked the same way."""
        phases: dict[str, int] = {}
        for i, phase in iter_items(data, "phases"):
            pid = _name(phase)
            if pid in phases:
                self.report(
                    doc,
                    ("phases", i, "id" if "id" in phase else "title"),
                    f"phase {pid!r} appears twice (also phases[{phases[pid]}]); give one an id",
                    "id.duplicate",
                )
            phases[pid] = i
        siblings: dict[PathT, dict[str, int]] = {}
        for step_at in walk_steps(data):
            step, path = step_at.step, step_at.path
            seen = siblings.setdefault(path[:-1], {})
            sid = _name(step)
            index = path[-1]
            if sid in seen:
                where = "this phase" if len(path) == 4 else "these steps"
                self.report(
                    doc,
                    (*path, "id" if "id" in step else "title"),
                    f"step {sid!r} appears twice in {where} (also steps[{seen[sid]}]); give one an id",
                    "id.duplicate",
                )
            if isinstance(index, int):
                seen.setdefault(sid, index)
            self.ref(doc, (*path, "runbook"), step.get("runbook"), "runbooks", "xref.runbook")

    def check_flow(self, doc: Document, flow: Any, data: dict[str, Any]) -> None:
        if not isinstance(flow, dict):
            return
        nodes: dict[str, int] = {}
        for i, node in iter_items(flow, "nodes"):
            ident = node.get("id")
            if isinstance(ident, str):
                if ident in nodes:
                    self.report(
                        doc,
                        ("flow", "nodes", i, "id"),
                        f"flow node {ident!r} is defined twice",
                        "id.duplicate",
                    )
                nodes.setdefault(ident, i)
        reached: set[str] = set()
        for i, node in iter_items(flow, "nodes"):
            targets: list[tuple[PathT, Any]] = [(("flow", "nodes", i, "next"), node.get("next"))]
            targets += [
                (("flow", "nodes", i, "branches", j, "to"), b.get("to")) for j, b in iter_items(node, "branches")
            ]
            for path, target in targets:
                if not isinstance(target, str):
                    continue
                reached.add(target)
                if target not in nodes:
                    self.report(
                        doc,
                        path,
                        f"flow node {target!r} does not exist{_did_you_mean(target, nodes)}",
                        "xref.flow",
                    )
            step = node.get("step")
            if isinstance(step, str) and find_step(data, step) is None:
                self.report(
                    doc,
                    ("flow", "nodes", i, "step"),
                    f"step {step!r} is not a phase or step of this runbook{_did_you_mean(step, step_names(data))}",
                    "xref.flow",
                )
            kind = node.get("type", "action")
            if "next" in node and "branches" in node:
                self.report(doc, ("flow", "nodes", i), "a node has either next or branches, not both", "xref.flow")
            if kind == "decision" and "branches" not in node:
                self.report(doc, ("flow", "nodes", i), "a decision needs branches", "xref.flow")
            if kind == "end" and ("next" in node or "branches" in node):
                self.report(doc, ("flow", "nodes", i), "an end node leads nowhere: remove next/branches", "xref.flow")
        first = next(iter(nodes), None)
        for ident, i in nodes.items():
            if ident != first and ident not in reached:
                self.report(
                    doc,
                    ("flow", "nodes", i, "id"),
                    f"flow node {ident!r} cannot be reached from the start",
                    "xref.flow",
                    level="warning",
                )

    def check_variables(self, doc: Document, data: dict[str, Any]) -> None:
        declared: dict[str, tuple[int, dict[str, Any]]] = {}
        for i, variable in iter_items(data, "variables"):
            name = variable.get("name")
            if isinstance(name, str):
                if name in declared:
                    self.report(doc, ("variables", i, "name"), f"variable {name!r} is declared twice", "id.duplicate")
                declared[name] = (i, variable)
                description = variable.get("description")
                if isinstance(description, str) and description.startswith("TODO"):
                    # Left by `runbinder import` (or an author): a responder must know what to fill in.
                    self.report(
                        doc,
                        ("variables", i, "description"),
                        f"variable {name!r} is not described yet: say what value to put here and where to find it",
                        "variable.todo",
                        level="warning",
                    )
        site = self.index.site_variables
        bare = [n for n, (_, v) in declared.items() if v.get("bare")]
        bare += [n for n, e in site.items() if e.data.get("bare") and n not in declared]
        used: set[str] = set()
        given: set[str] = set()  # shell variables earlier commands set (export NAMESPACE=...): not placeholders
        for path, command in iter_commands(data):
            language = str(command.get("language", "bash"))
            code = command.get("code")
            if isinstance(code, str):
                # A variable an earlier command sets needs no declaration, but a declared one it sets is still used.
                every = list(command_uses(code, language, bare))
                used.update(use.name for use in every)
                # Earlier assignments only matter to shell variables: scan again only when there are both.
                uses = list(command_uses(code, language, bare, given)) if given and "$" in code else every
                given |= assigned_names(code, language)
                for use in uses:
                    used.add(use.name)
                    if use.name in declared or use.name in site:
                        continue
                    line, col = doc.locate_in_scalar((*path, "code"), use.offset)
                    hint = _did_you_mean(use.name, [*declared, *site])
                    self.diagnostics.append(
                        Diagnostic(
                            doc.display,
                            line,
                            col,
                            "error",
                            f"placeholder {_as_written(code, use.offset, use.name)} is not declared in variables{hint}",
                            "xref.variable",
                        )
                    )
            typed = command.get("input")
            if isinstance(typed, str):
                used.update(use.name for use in bare_uses(typed, bare))
        for name, (i, _) in declared.items():
            if name not in used:
                self.report(
                    doc,
                    ("variables", i, "name"),
                    f"variable {name!r} is declared but no command uses it",
                    "xref.variable-unused",
                    level="warning",
                )

    def check_alerts(self, documents: Sequence[Document]) -> None:
        """Matchers that cannot be used, and an alert two runbooks handle unless their matchers tell them apart."""
        seen: dict[str, list[tuple[Document, tuple[rules_match.Matcher, ...]]]] = {}
        for doc in documents:
            if doc.kind != "runbook" or not isinstance(doc.data, dict):
                continue
            for i, alert in iter_items(doc.data, "alerts"):
                name = alert.get("name")
                if not isinstance(name, str):
                    continue
                matchers, problems = rules_match.of_alert(alert)
                for problem in problems:
                    if not problem.syntax:  # a matcher the schema's pattern refuses is reported by the schema
                        path = ("alerts", i, *problem.path)
                        self.report(doc, path, f"{json_path(path)}: {problem.message}", "value.matcher")
                if problems:
                    continue
                earlier = seen.setdefault(name, [])
                other = next((d for d, m in earlier if d is not doc and not rules_match.disjoint(m, matchers)), None)
                earlier.append((doc, matchers))
                if other is not None:
                    self.report(
                        doc,
                        ("alerts", i, "name"),
                        f"alert {name!r} is also handled by "
                        f"{other.display}; a responder will not know which runbook to open",
                        "xref.alert",
                        level="warning",
                    )


def _name(item: dict[str, Any]) -> str:
    """A phase's or step's identifier: its id, or one derived from its title (whatever their types)."""
    given = item.get("id")
    if isinstance(given, str) and given:
        return given
    return slug(str(item.get("title", "")))


def _as_written(code: str, offset: int, name: str) -> str:
    """The placeholder with its markers, as the author typed it ($X, ${X}, {x}, <X> or X)."""
    for marked in (f"${{{name}}}", f"${name}", f"{{{name}}}", f"<{name}>"):
        if code.startswith(marked, offset):
            return marked
    return name


def iter_commands(data: dict[str, Any]) -> Iterator[tuple[PathT, dict[str, Any]]]:
    """Every command of a runbook with its path: in steps, sub-steps and alternatives (structure.iter_commands)."""
    for path, command, _name_of_step in structure_commands(data):
        yield path, command
