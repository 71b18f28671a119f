"""``runbinder import``: existing Markdown runbooks to a runbinder project, nothing dropped.

Reads Markdown files and folders, decides per file which layout it follows (the prometheus-operator and
OpenShift alert runbook collections, or general Markdown), and writes one runbook YAML per runbook, the Markdown
pages runbooks link to as shared pages (``pages/``), their images (``images/``), and a catalog when the project
has none. Links between imported files are rewritten to the project's own paths; every runbook records where it
came from (path and SHA-256) and what a person should review.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from ..atomic import write_atomically
from . import layout
from .fields import Rewrite, field_markdown
from .source import Document, Section, parse
from .source import comments as source_comments

FORMATS = ("auto", "prometheus-operator", "openshift", "markdown")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"})
INDEX_NAMES = frozenset({"_index.md", "index.md", "readme.md"})
TODO_OWNER = "todo-owner"
MAX_SOURCE_BYTES = 4 * 1024 * 1024
# Hugo's link shortcodes ({{< ref "./Other.md" >}}) name a page: they are read as that page's path.
_HUGO_REF = re.compile(r"\{\{[<%]\s*(?:rel)?ref\s+\"([^\"\n]+)\"\s*[>%]\}\}")


class ImportError_(Exception):
    """The import cannot start (exit 2): missing paths, files that would be overwritten."""


@dataclass
class ImportOptions:
    """How to import."""

    format: str = "auto"
    service: str | None = None
    owner: str | None = None
    force: bool = False
    today: date = field(default_factory=date.today)


@dataclass
class Report:
    """What an import wrote, what it read each file as, and what it could not place."""

    written: list[Path] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    unplaced: list[tuple[str, str]] = field(default_factory=list)
    runbooks: int = 0
    pages: int = 0
    images: int = 0
    todo_variables: int = 0
    rewrites: dict[str, dict[str, str]] = field(default_factory=dict)  # source file -> {target as written: new}


@dataclass
class _Runbook:
    source: Path
    ident: str
    service: str
    data: dict[str, Any]


def collect(paths: Iterable[Path]) -> tuple[list[Path], Path]:
    """The Markdown files under ``paths`` (sorted, hidden files skipped) and the folder they share."""
    files, base, _ = _collect(paths)
    return files, base


def _collect(paths: Iterable[Path]) -> tuple[list[Path], Path, dict[Path, Path]]:
    """Files, their common folder, and for each file the folder it was given under (for its service)."""
    roots: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for found in sorted(path.rglob("*.md")):
                if not any(part.startswith(".") for part in found.relative_to(path).parts):
                    roots.setdefault(found.resolve(), root)
        elif path.is_file():
            roots.setdefault(path.resolve(), path.resolve().parent)
        else:
            raise ImportError_(f"{path}: no such file or directory")
    if not roots:
        raise ImportError_("no Markdown files found")
    base = Path(os.path.commonpath([str(p.parent) for p in roots]))
    return sorted(roots), base, roots


def detect(doc: Document, path: Path) -> str:
    """The layout of one file: an alert runbook collection's (Hugo front matter: prometheus-operator; none:
    OpenShift), or general Markdown. An alert runbook has a Meaning, Impact, Diagnosis or Mitigation section,
    or is titled with its alert's name (the file name)."""
    headings = {layout.key(s.title) for s in _sections(doc.root)}
    known = headings & ({"meaning", "impact"} | set(layout.PHASES))
    named = _h1(doc).replace(" ", "") == path.stem
    if known or named:
        return "prometheus-operator" if doc.front_matter else "openshift"
    return "markdown"


def _sections(root: Section) -> list[Section]:
    top = root.children[0] if len(root.children) == 1 and root.children[0].level == 1 else root
    return top.children


def runbook_id(name: str) -> str:
    """An id from an alert name or a title: CamelCase split, lower case, hyphens (KubePodCrashLooping becomes
    kube-pod-crash-looping)."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    ident = re.sub(r"[^a-z0-9]+", "-", spaced.lower()).strip("-")[:64].strip("-")
    return ident or "runbook"


def _site_path(relative: Path) -> str:
    """A path inside the site made of safe characters only."""
    return "/".join(re.sub(r"[^A-Za-z0-9._-]+", "-", part) for part in relative.parts)


class _Project:
    def __init__(self, files: list[Path], base: Path, options: ImportOptions, roots: dict[Path, Path]) -> None:
        self.files = files
        self.base = base
        self.roots = roots
        self.options = options
        self.report = Report()
        self.parsed: dict[Path, Document] = {}
        self.runbooks: dict[Path, list[_Runbook]] = {}
        self.page_paths: dict[Path, str] = {}  # shared page source -> pages/...md
        self.image_paths: dict[Path, str] = {}  # image source -> images/...
        self.services: dict[str, str] = {}  # id -> name
        self.hugo_refs: dict[Path, int] = {}  # files whose Hugo ref shortcodes were read as link targets
        self.programs: set[str] = set()  # every program the imported commands run

    def read(self, path: Path) -> Document | None:
        if path not in self.parsed:
            raw = path.read_bytes()
            if len(raw) > MAX_SOURCE_BYTES:
                self.report.unplaced.append((str(path), "larger than 4 MiB"))
                return None
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                self.report.unplaced.append((str(path), "not UTF-8 text"))
                return None
            text, hugo = _HUGO_REF.subn(lambda m: m.group(1), text)
            self.parsed[path] = parse(text)
            if hugo:
                self.hugo_refs[path] = hugo
        return self.parsed[path]

    def shown(self, path: Path) -> str:
        try:
            return os.path.relpath(path)
        except ValueError:
            return str(path)

    def service_for(self, path: Path) -> str:
        if self.options.service:
            ident = self.options.service
        else:
            # The first folder below the one given (content/runbooks/<node>/X.md, alerts/<operator>/X.md).
            root = self.roots.get(path, self.base)
            relative = path.parent.relative_to(root) if path.parent != root else Path()
            parts = [p for p in relative.parts if p not in ("alerts", "content", "runbooks", "helpers")]
            ident = runbook_id(parts[0]) if parts else runbook_id(root.name) or "imported"
        self.services.setdefault(ident, ident.replace("-", " ").capitalize())
        return ident

    def plan(self) -> None:
        """Decide what every file is: runbooks (and their ids) or a shared page."""
        taken: set[str] = set()
        for path in self.files:
            doc = self.read(path)
            if doc is None:
                continue
            chosen = self.options.format if self.options.format != "auto" else detect(doc, path)
            is_page = path.name.lower() in INDEX_NAMES or (
                self.options.format == "auto" and chosen == "markdown" and "helpers" in path.parts
            )
            if is_page:
                self.page_paths[path] = "pages/" + _site_path(path.relative_to(self.base))
                continue
            self.report.formats[self.shown(path)] = chosen
            service = self.service_for(path)
            if chosen in ("prometheus-operator", "openshift"):
                ident = self._unique(runbook_id(path.stem), service, taken)
                self.runbooks[path] = [_Runbook(path, ident, service, {"_layout": chosen})]
            else:
                titles = [s.title for s in _sections(doc.root)] or [_h1(doc) or path.stem]
                self.runbooks[path] = [
                    _Runbook(path, self._unique(runbook_id(t), service, taken), service, {"_layout": chosen})
                    for t in titles
                ]

    @staticmethod
    def _unique(ident: str, service: str, taken: set[str]) -> str:
        candidate = ident
        if candidate in taken or candidate == "index":
            candidate = f"{ident}-{service}"[:64].strip("-")
        n = 2
        while candidate in taken:
            candidate = f"{ident}-{n}"
            n += 1
        taken.add(candidate)
        return candidate

    def rewriter(self, source: Path) -> Rewrite:
        record = self.report.rewrites.setdefault(self.shown(source), {})

        def rewrite(target: str) -> str:
            new = self._rewrite(source, target)
            if new != target:
                record[target] = new
            return new

        return rewrite

    def _rewrite(self, source: Path, target: str) -> str:
        parts = urllib.parse.urlsplit(target)
        if parts.scheme or target.startswith(("#", "//")) or not parts.path:
            return target
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        resolved = (source.parent / urllib.parse.unquote(parts.path)).resolve()
        if self.runbooks.get(resolved):
            return f"runbooks/{self.runbooks[resolved][0].ident}.md{fragment}"
        if resolved.suffix.lower() == ".md" and resolved.is_file() and resolved.is_relative_to(self.base):
            if resolved not in self.page_paths:
                self.page_paths[resolved] = "pages/" + _site_path(resolved.relative_to(self.base))
            return self.page_paths[resolved] + fragment
        if resolved.suffix.lower() in IMAGE_SUFFIXES and resolved.is_file() and resolved.is_relative_to(self.base):
            if resolved not in self.image_paths:
                self.image_paths[resolved] = "images/" + _site_path(resolved.relative_to(self.base))
            return self.image_paths[resolved]
        return target

    def build(self) -> None:
        for path, runbooks in self.runbooks.items():
            doc = self.parsed[path]
            chosen = runbooks[0].data.pop("_layout")
            if chosen in ("prometheus-operator", "openshift"):
                ctx = layout.Context(rewrite=self.rewriter(path))
                parts = layout.alert_parts(doc.root, ctx)
                title = str(doc.front_matter.get("title") or _h1(doc) or path.stem)
                runbooks[0].data = self._runbook(runbooks[0], title, parts, ctx, path, chosen, doc, alert=path.stem)
            else:
                contexts = functools.partial(layout.Context, rewrite=self.rewriter(path))
                document_title = _h1(doc) or path.stem
                for runbook, (title, parts, ctx) in zip(
                    runbooks, layout.general_runbooks(doc.root, contexts), strict=True
                ):
                    runbook.data = self._runbook(runbook, title, parts, ctx, path, chosen, doc, alert=None)
                    runbook.data["source"] = f"{document_title}: {title}" if title != document_title else title

    def _runbook(
        self,
        runbook: _Runbook,
        title: str,
        parts: dict[str, Any],
        ctx: layout.Context,
        path: Path,
        chosen: str,
        doc: Document,
        alert: str | None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": runbook.ident,
            "title": title,
            "kind": "alert-response" if alert else "troubleshooting",
            "service": runbook.service,
            "owner": self.options.owner or TODO_OWNER,
        }
        if alert:
            data["alerts"] = [{"name": alert}]
        data["summary"] = parts["summary"]
        for key_name in ("impact", "sections", "phases"):  # schema order
            if key_name in parts:
                data[key_name] = parts[key_name]
        from ..render.runbook import anchor_plan

        anchors = layout.rewrite_anchors(data, anchor_plan(data)[0])
        self.report.rewrites.setdefault(self.shown(path), {}).update(anchors)
        found = layout.variables(ctx)
        if found:
            data["variables"] = found
            self.report.todo_variables += len(found)
        weight = doc.front_matter.get("weight")
        if isinstance(weight, int) and not isinstance(weight, bool) and 0 <= weight < 1_000_000:
            data["order"] = weight
        self.programs |= ctx.programs
        review = list(dict.fromkeys(ctx.review))
        for comment in source_comments(doc.root):
            review.append(f"a comment in the source: {comment}")
        if ctx.destructive:
            review.append(f"{ctx.destructive} command(s) change state and are marked destructive: check each one")
        if path in self.hugo_refs:
            review.append(f"{self.hugo_refs[path]} Hugo ref shortcode(s) were read as plain link targets")
        if not self.options.owner:
            review.append("the owner is a TODO team: set owner, and the service's owner in the catalog")
        if found:
            review.append(f"{len(found)} placeholder(s) have TODO descriptions")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        data["provenance"] = {
            "path": self.shown(path),
            "digest": f"sha256:{digest}",
            "format": chosen,
            "imported": self.options.today.isoformat(),
            **({"review": review} if review else {}),
        }
        return data

    def shared_pages(self) -> dict[str, str]:
        """Every shared page's Markdown; pages linked from pages are found (and added) along the way."""
        out: dict[str, str] = {}
        done: set[Path] = set()
        while True:
            pending = [p for p in self.page_paths if p not in done]
            if not pending:
                return out
            for path in pending:
                done.add(path)
                doc = self.read(path)
                if doc is None:
                    continue
                rewrite = self.rewriter(path)
                title = str(doc.front_matter.get("title") or _h1(doc) or path.stem)
                body = _page_markdown(doc.root, rewrite)
                front = {"title": title, "source": self.shown(path),
                         "digest": "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()}  # fmt: skip
                out[self.page_paths[path]] = (
                    "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n\n" + body + "\n"
                )


def _h1(doc: Document) -> str:
    first = doc.root.children[0] if doc.root.children else None
    return first.title if first is not None and first.level == 1 else ""


def _page_markdown(root: Section, rewrite: Rewrite) -> str:
    """A shared page's body: its first-level heading is its title, the rest keeps its headings."""
    parts = [field_markdown(root.blocks, rewrite)]
    sections = root.children
    if len(sections) == 1 and sections[0].level == 1:
        parts.append(field_markdown(sections[0].blocks, rewrite))
        sections = sections[0].children
    for section in sections:
        parts.append(_section_markdown(section, rewrite))
    return "\n\n".join(p for p in parts if p.strip())


def _section_markdown(section: Section, rewrite: Rewrite) -> str:
    parts = [f"{'#' * max(2, section.level)} {section.title}", field_markdown(section.blocks, rewrite)]
    parts += [_section_markdown(child, rewrite) for child in section.children]
    return "\n\n".join(p for p in parts if p.strip())


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def dump(data: Any) -> str:
    """YAML as people write it: keys in order, multi-line text as ``|`` blocks."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, indent=2)


def import_paths(paths: list[Path], output: Path, options: ImportOptions) -> Report:
    """Import ``paths`` into the project at ``output``. Refuses (ImportError_) before writing anything if a file
    it would write exists and ``force`` is not set."""
    if options.format not in FORMATS:
        raise ImportError_(f"unknown format {options.format!r}")
    files, base, roots = _collect(paths)
    project = _Project(files, base, options, roots)
    project.plan()
    project.build()
    pages = project.shared_pages()
    writes: dict[Path, bytes] = {}
    for runbooks in project.runbooks.values():
        for runbook in runbooks:
            header = "# Imported by runbinder import: review what provenance.review lists, then remove this line.\n"
            writes[output / runbook.service / f"{runbook.ident}.yaml"] = (header + dump(runbook.data)).encode()
            project.report.runbooks += 1
    for site_path, text in pages.items():
        writes[output / site_path] = text.encode()
    project.report.pages = len(pages)
    copies = {output / site_path: source for source, site_path in project.image_paths.items()}
    project.report.images = len(copies)
    catalog = output / "catalog.yaml"
    catalog_data = _catalog(project, options)
    if catalog.exists():
        catalog = output / "imported.catalog.yaml"
        catalog_data.pop("site", None)
    writes[catalog] = ("# Created by runbinder import: fill in the TODOs.\n" + dump(catalog_data)).encode()
    existing = [p for p in [*writes, *copies] if os.path.lexists(p)]
    if existing and not options.force:
        shown = ", ".join(str(p) for p in existing[:5]) + (
            f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        )
        raise ImportError_(f"would overwrite {shown}; nothing written (use --force to overwrite)")
    for path, data in writes.items():
        _write(path, data)
        project.report.written.append(path)
    for path, source in copies.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        project.report.written.append(path)
    return project.report


def _catalog(project: _Project, options: ImportOptions) -> dict[str, Any]:
    owner = options.owner or TODO_OWNER
    data: dict[str, Any] = {
        "site": {"name": "Runbooks", "description": f"Imported with runbinder import on {options.today.isoformat()}."},
        "contacts": [],
        "services": [],
    }
    if not options.owner:
        data["contacts"].append(
            {
                "id": TODO_OWNER,
                "type": "team",
                "name": "TODO: owning team",
                "description": "Created by runbinder import: replace with the team that owns these runbooks.",
            }
        )
    else:
        data["contacts"].append({"id": owner, "type": "team", "name": owner.replace("-", " ").capitalize()})
    tools: dict[str, dict[str, Any]] = {}
    for program in sorted(project.programs):  # programs spelled differently (Ceph, ceph) share one tool
        tool = tools.setdefault(
            runbook_id(program),
            {
                "id": runbook_id(program),
                "name": program,
                "purpose": f"TODO: what responders use {program} for (created by runbinder import).",
                "executables": [],
            },
        )
        tool["executables"].append(program)
    if tools:
        data["tools"] = list(tools.values())
    for ident, name in sorted(project.services.items()):
        data["services"].append(
            {
                "id": ident,
                "name": name,
                "owner": owner,
                "description": f"TODO: what {name} is (created by runbinder import).",
            }
        )
    return data


def _write(path: Path, data: bytes) -> None:
    write_atomically(path, data, sync=False)
