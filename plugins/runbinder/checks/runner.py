"""Collect every check item of a project and run them: the core behind `runbinder check`, pytest and MkDocs."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.metadata
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..diagnostics import Diagnostic, Level
from ..loader import Document
from ..sitemap import page_paths
from ..validate import Project, safe_view
from . import Item, PathT, select
from .cache import VerdictCache, code_digest, diagnostic_row, diagnostics_from_rows
from .commands import CommandChecker, command_items, find_shellcheck, template_items
from .freshness import check_freshness, freshness_items
from .links import OnlineOptions, check_link, check_online, link_items, markdown_link_items


@dataclass
class CheckOptions:
    """What `runbinder check` runs and how strictly."""

    online: bool = False
    online_options: OnlineOptions = field(default_factory=OnlineOptions)
    stale: Level = "warning"
    shellcheck_level: str = "warning"
    select: Sequence[str] = ()
    ignore: Sequence[str] = ()
    today: date = field(default_factory=date.today)
    docs_dir: Path | None = None
    cache_dir: Path | None = None
    """Where tool verdicts are kept between runs (``verdicts.json``, beside the links cache); None: not kept."""


def site_pages(project: Project, docs_dir: Path | None) -> set[str]:
    """What a relative link may name: the generated pages, the project's shared pages and images, and the files of
    docs_dir (hand-written pages and their images)."""
    pages = page_paths(project.index) | set(project.index.files)
    if docs_dir is not None and docs_dir.is_dir():
        pages |= {p.relative_to(docs_dir).as_posix() for p in docs_dir.rglob("*") if p.is_file()}
    return pages


_KINDS = {
    "command": ("command", "commands"),
    "template": ("template", "templates"),
    "link": ("link", "links"),
    "review": ("review date", "review dates"),
}


def _reads(item: Item) -> list[PathT]:
    """Where in its document an item's check reads: its own part, or for a review the two fields it uses."""
    if item.kind == "review":
        return [("last_reviewed",), ("review_interval",)]
    return [item.path]


def select_items(project: Project) -> tuple[list[Item], list[Diagnostic]]:
    """The items of every loaded document that checks may read, and a located ``check.skipped`` warning for each
    schema-invalid part that held items back (how many, of what kind).

    An item is held back when a schema or value error lies inside what it reads or on the way to it (the rule
    ``safe_view`` applies to catalog entries); errors elsewhere in the file, reference errors included, do not."""
    every = [
        *command_items(project),
        *template_items(project),
        *link_items(project),
        *markdown_link_items(project),
        *freshness_items(project),
    ]
    kept: list[Item] = []
    held: dict[tuple[int, PathT], list[Item]] = {}
    for item in every:
        doc = item.doc
        if not doc.ok or doc.schema_diagnostics is None:
            continue  # not loaded or never judged: the loader's own error says why
        bad = next(
            (
                invalid
                for invalid in doc.invalid_paths
                for read in _reads(item)
                if read[: len(invalid)] == invalid or invalid[: len(read)] == read
            ),
            None,
        )
        if bad is None:
            kept.append(item)
        else:
            held.setdefault((id(doc), tuple(bad)), []).append(item)
    notes = []
    for (_, path), items in held.items():
        doc = items[0].doc
        counts: dict[str, int] = {}
        for item in items:
            counts[item.kind] = counts.get(item.kind, 0) + 1
        what = ", ".join(
            f"{n} {_KINDS.get(kind, (kind, kind + 's'))[0 if n == 1 else 1]}" for kind, n in counts.items()
        )
        line, col = doc.locate(path)
        notes.append(
            Diagnostic(
                doc.display,
                line,
                col,
                "warning",
                f"not checked: {what} in this part, until it passes the schema",
                "check.skipped",
            )
        )
    return kept, notes


class Runner:
    """Runs items one at a time so every face can report progress and name results by item."""

    def __init__(self, project: Project, options: CheckOptions, documents: Sequence[Document] | None = None) -> None:
        """``documents``: check only the items of these documents of ``project`` (``run_remembered``)."""
        # Checks read fields as the schema describes them: they see only documents (and catalog entries) that
        # passed the schema and value checks. Validation reports the rest.
        loaded = project
        project = safe_view(project)
        self.project = project
        self.options = options
        # Every item of every loaded document is checked, whatever else is wrong in its file (a reference error, a
        # bad value elsewhere), except those whose own data failed the schema: their fields may not read as the
        # schema says. Each part left out is reported where it is (check.skipped), so no rule passes silently.
        if documents is not None:
            loaded = dataclasses.replace(loaded, documents=list(documents))
        self.items, self.skipped = select_items(loaded)
        self.skipped = select(self.skipped, options.select, options.ignore)
        self.cache = VerdictCache(options.cache_dir) if options.cache_dir is not None else None
        # Findings are keyed by the date (review dates are judged against it) among the rest: kept for a day.
        self.findings = (
            VerdictCache(options.cache_dir, name="findings.json", max_age_days=1)
            if options.cache_dir is not None and not options.online
            else None
        )
        self.commands = CommandChecker(project, options.shellcheck_level, self.cache)
        self._pages: set[str] | None = None
        self._online: dict[str, list[Diagnostic]] = {}
        self.warnings: list[Diagnostic] = []
        """About the run rather than one item: an online links cache that could not be read or written."""

    def prepare(self, items: Sequence[Item] | None = None) -> None:
        """Batch work: ShellCheck over all commands (or ``items``), and the online link checks."""
        self.commands.prepare(self.items if items is None else items)
        if self.cache is not None:
            self.cache.save()  # a convenience: a cache that cannot be written only costs the next run time
        if self._pages is None:
            self._pages = site_pages(self.project, self.options.docs_dir)
        if self.options.online:
            report = check_online([i for i in self.items if i.kind == "link"], self.options.online_options)
            self._online = report.findings
            self.warnings = select(report.warnings, self.options.select, self.options.ignore)
            # Faces show the diagnostics of the files they were given plus the project's own; the cache's
            # warning belongs to no runbook, so it is the project's own.
            self.project.diagnostics.extend(d for d in self.warnings if d not in self.project.diagnostics)

    def run(self, item: Item) -> list[Diagnostic]:
        """Diagnostics of one item, after --select/--ignore."""
        if item.kind in ("command", "template"):
            found = self.commands.run(item)
        elif item.kind == "link":
            found = check_link(item, self._pages or set())
            online = self._online.get(item.nodeid, [])
            if any(d.rule == "link.malformed" for d in found):  # both checks saw the same bad URL: say it once
                online = [d for d in online if d.rule != "link.malformed"]
            found += online
        else:
            found = check_freshness(item, self.project, self.options.today, self.options.stale)
        return select(found, self.options.select, self.options.ignore)

    def run_all(self, progress: Callable[[int, int], None] | None = None) -> list[Diagnostic]:
        """Every item's diagnostics. An item whose file and whose context (the catalogs, the site's pages, the
        options) are unchanged is not checked again: its findings come from the verdict cache on disk, which also
        keys them by runbinder's own code and the versions of the tools and parsers that judged them. Online runs
        judge every item again."""
        stored = self.findings is not None
        keys: dict[int, tuple[str, str, str]] = {}
        found: dict[int, list[Diagnostic]] = {}
        if stored and not self.options.online:
            self._pages = site_pages(self.project, self.options.docs_dir)
            context = self._context()
            version = self._findings_version()
            for n, item in enumerate(self.items):
                keys[n] = key = (context, item.doc.digest, item.nodeid)
                known = self._stored(version, key)
                if known is not None:
                    found[n] = known
        missing = [item for n, item in enumerate(self.items) if n not in found]
        if missing or self.options.online or not self.items:
            self.prepare(missing)
        out: list[Diagnostic] = [*self.skipped, *self.warnings]
        for n, item in enumerate(self.items):
            if n not in found:
                found[n] = self.run(item)
                if stored and n in keys and not any(map(_momentary, found[n])):
                    self._store(version, keys[n], found[n])
            out += found[n]
            if progress is not None:
                progress(n + 1, len(self.items))
        if self.findings is not None:
            self.findings.save()
        if self.cache is not None:
            self.cache.save()  # tool versions asked for the findings' keys (nothing is written when none was)
        return out

    def _findings_version(self) -> str:
        """What findings depend on besides the item and its context: runbinder's code, and the tools and parsers
        that judge commands (a new bash, ShellCheck or parser release is a new key)."""
        assert self.cache is not None
        shellcheck = find_shellcheck()
        tools = [
            self.cache.version(shutil.which("bash") or "/bin/bash") or "no bash",
            (self.cache.version(shellcheck) if shellcheck else None) or "no shellcheck",
        ]
        return "\n".join([code_digest(), *tools, *_library_versions()])

    def _stored(self, version: str, key: tuple[str, str, str]) -> list[Diagnostic] | None:
        assert self.findings is not None
        return diagnostics_from_rows(self.findings.get(self._key(version, key)))

    def _store(self, version: str, key: tuple[str, str, str], found: list[Diagnostic]) -> None:
        assert self.findings is not None
        self.findings.put(self._key(version, key), [diagnostic_row(d) for d in found])

    @staticmethod
    def _key(version: str, key: tuple[str, str, str]) -> str:
        return VerdictCache.key("findings", version, key[0], f"{key[1]}\0{key[2]}")

    def _context(self) -> str:
        return check_context(self.project, self._pages or set(), self.options)


def check_context(project: Project, pages: set[str], options: CheckOptions) -> str:
    """What an item's findings depend on besides its own file: every catalog (tools, variables, contacts), the pages
    links may name (``pages``: site_pages), and the options."""
    digest = hashlib.sha256()
    for doc in sorted(project.documents, key=lambda d: d.display):
        if doc.kind != "runbook":
            digest.update(f"{doc.display}\0{doc.digest}\n".encode())
    digest.update("\n".join(sorted(pages)).encode())
    digest.update(repr(options).encode())
    return digest.hexdigest()


def run_remembered(
    project: Project, options: CheckOptions, memo: dict[tuple[str, str, str], list[Diagnostic]]
) -> list[Diagnostic]:
    """Every finding, for a long-lived caller (`mkdocs serve`) that keeps ``memo``: only the items of files that
    changed since the last call (or whose context did: the catalogs, the pages links may name, the options) are
    selected and checked; each other file's findings are those of the last call. Online runs check everything."""
    if options.online:
        return Runner(project, options).run_all()
    view = safe_view(project)
    context = check_context(view, site_pages(view, options.docs_dir), options)
    keys = {doc.display: (context, doc.display, doc.digest) for doc in project.documents}
    changed = [doc for doc in project.documents if keys[doc.display] not in memo]
    found = Runner(project, options, documents=changed).run_all() if changed else []
    by_file: dict[str, list[Diagnostic]] = {doc.display: [] for doc in changed}
    out = []
    for diagnostic in found:
        if diagnostic.path in by_file:
            by_file[diagnostic.path].append(diagnostic)
        else:  # about the run, not a file: never remembered
            out.append(diagnostic)
    kept = {key: by_file[display] if display in by_file else memo[key] for display, key in keys.items()}
    memo.clear()
    memo.update(kept)
    for findings in kept.values():
        out += findings
    return out


def _momentary(diagnostic: Diagnostic) -> bool:
    """A finding about the machine at that moment (a tool that ran out of time or was killed), not about the text:
    never kept, as the verdict cache keeps no such verdict."""
    return diagnostic.rule in ("shellcheck.timeout", "shellcheck.failed") or diagnostic.message.startswith(
        ("bash -n did not finish", "bash -n was killed")
    )


@functools.cache
def _library_versions() -> tuple[str, ...]:
    found = []
    for name in _JUDGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} missing")
    return tuple(found)


# The libraries whose reading decides a command's findings.
_JUDGES = ("bashlex", "pglast", "sqlglot", "promql-parser", "markdown-it-py", "nh3", "markdown", "jsonschema-rs")
