"""`mkdocs build` keeps its generated pages and its loaded files for the next build (render/kept.py): a build of an
unchanged project reads them back instead of making them, and gets the very same pages and project; any change to
what they are made from makes them again; and an entry this user did not write (planted, tampered with, signed
with another key) is never used."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config

from runbinder import binder, loader, safe, sidework
from runbinder.render import kept
from runbinder.render.site import SiteRenderer
from runbinder.validate import load_project

from .conftest import ROOT, copy_site_project

LINKER = "runbooks/authos-api/authos-api-brute-force-attack.yaml"
SHARED = "runbooks/pages/notes.md"
_MAGIC = b"runbinder-pages 1 "


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The bundled runbooks with a shared page that a runbook links to."""
    shutil.copytree(ROOT / "runbooks", tmp_path / "runbooks")
    (tmp_path / SHARED).parent.mkdir()
    (tmp_path / SHARED).write_text("# Notes\n\nWhat we learned.\n", encoding="utf-8")
    path = tmp_path / LINKER
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("summary: >-\n", "summary: >-\n  See [the notes](pages/notes.md).\n", 1), encoding="utf-8"
    )
    return tmp_path


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files parsed from YAML (not read back), in order."""
    names: list[str] = []
    real = loader.load_bytes

    def counting(raw: bytes, doc: Any) -> Any:
        names.append(doc.display)
        return real(raw, doc)

    monkeypatch.setattr(loader, "load_bytes", counting)
    return names


def _pages(
    root: Path, keep: Path | None, today: date = date(2026, 11, 22), directory_urls: bool = True
) -> list[tuple[str, str, str]]:
    project = load_project(root / "runbooks", None, root)
    assert not [d for d in project.diagnostics if d.level == "error"]
    pages = SiteRenderer(project.index, today=today, directory_urls=directory_urls).pages(keep=keep)
    return [(path, page.title, safe.FRAGMENTS.inline(page.document())) for path, page in pages.items()]


def _edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_unchanged_project_reads_its_pages_back(project: Path, made: list[str], monkeypatch: Any) -> None:
    first = _pages(project, project / "cache")
    assert made
    assert (project / "cache" / kept.FILE_NAME).is_file()
    made.clear()
    # A new process: other fragments, another nonce in every marker.
    monkeypatch.setattr(safe, "FRAGMENTS", safe.Fragments())
    second = _pages(project, project / "cache")
    assert made == []
    assert second == first
    assert "rbfrag" not in "".join(text for _, _, text in second)  # every marker found its fragment
    assert [p for p, _, _ in second if p.startswith("pages/")] == ["pages/notes.md"]  # shared pages made fresh


def _added(root: Path) -> dict[str, Any]:
    shutil.copy(root / LINKER, root / "runbooks/authos-api/copy.yaml")
    _edit(root, "runbooks/authos-api/copy.yaml", "id: authos-api-brute-force-attack", "id: authos-api-copy")
    return {}


def _edited(relative: str, old: str, new: str) -> Callable[[Path], dict[str, Any]]:
    def edit(root: Path) -> dict[str, Any]:
        _edit(root, relative, old, new)
        return {}

    return edit


EDITS: dict[str, Callable[[Path], dict[str, Any]]] = {
    # (the change, and the options of the next render)
    "a step of a runbook": _edited(LINKER, "Implement CAPTCHA after 3", "CAPTCHA after 3"),
    "a catalog entry": _edited("runbooks/catalog.yaml", "name: Critical", "name: Urgent"),
    "a shared page's text": _edited(SHARED, "# Notes", "# Lessons"),
    "a runbook added": _added,
    "the date": lambda root: {"today": date(2027, 6, 1)},
    "the link style": lambda root: {"directory_urls": False},
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_any_change_makes_the_pages_again(project: Path, made: list[str], edit: str) -> None:
    _pages(project, project / "cache")
    made.clear()
    options = EDITS[edit](project)
    again = _pages(project, project / "cache", **options)
    assert made, "the pages were read back although what they are made from changed"
    assert again == _pages(project, None, **options)
    made.clear()
    assert _pages(project, project / "cache", **options) == again  # kept in turn
    assert made == []


def _payload(cache: Path, name: str = kept.FILE_NAME) -> tuple[bytes, bytes]:
    head, _, payload = (cache / name).read_bytes().partition(b"\n")
    return head, payload


def test_an_entry_this_user_did_not_write_is_never_used(
    project: Path, made: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cache = project / "cache"
    first = _pages(project, cache)
    head, payload = _payload(cache)
    assert b"Implement CAPTCHA" in payload
    hostile = payload.replace(b"Implement CAPTCHA", b"<script>alert(1)</script>")

    # Edited in place, keeping the signature of the entry it replaced.
    (cache / kept.FILE_NAME).write_bytes(head + b"\n" + hostile)
    made.clear()
    assert _pages(project, cache) == first
    assert made
    # Signed, correctly, with another user's (or machine's) key.
    with monkeypatch.context() as other:
        other.setenv("XDG_CACHE_HOME", str(tmp_path / "other-user"))
        other_key = kept.signing_key()
    assert other_key is not None
    assert other_key != kept.signing_key()
    (cache / kept.FILE_NAME).write_bytes(_MAGIC + kept._sign(other_key, hostile) + b"\n" + hostile)
    made.clear()
    assert _pages(project, cache) == first
    assert made
    # The signature is the only thing that stands between such an entry and the pages (so the two above hold).
    (cache / kept.FILE_NAME).write_bytes(_MAGIC + kept._sign(kept.signing_key() or b"", hostile) + b"\n" + hostile)
    made.clear()
    assert "<script>alert(1)</script>" in "".join(text for _, _, text in _pages(project, cache))
    assert made == []
    # Truncated, empty, not ours at all.
    for broken in (head + b"\n" + payload[:-100], b"", b"{}", b"\xff\xfe" * 50):
        (cache / kept.FILE_NAME).write_bytes(broken)
        made.clear()
        assert _pages(project, cache) == first
        assert made
    made.clear()
    assert _pages(project, cache) == first  # and it was written again, whole
    assert made == []


def test_the_key_is_the_users_own_and_without_one_nothing_is_kept(
    project: Path, made: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = kept.signing_key()
    assert key is not None
    assert len(key) == 32
    assert kept.key_file().stat().st_mode & 0o077 == 0  # readable by the user only
    assert not kept.key_file().is_relative_to(project)
    assert kept.signing_key() == key  # made once, then read

    (tmp_path / "not-a-folder").write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    assert kept.signing_key() is None
    first = _pages(project, project / "cache")
    assert not (project / "cache" / kept.FILE_NAME).exists()
    made.clear()
    assert _pages(project, project / "cache") == first
    assert made


def _build(project: Path, caplog: pytest.LogCaptureFixture) -> list[str]:
    """An in-process `mkdocs build` of ``project`` into its site folder; its debug messages."""
    caplog.clear()
    config = load_config(str(project / "mkdocs.yml"))
    config.plugins.on_startup(command="build", dirty=False)
    with caplog.at_level(logging.DEBUG, logger="mkdocs"):
        build(config)
    return [r.getMessage() for r in caplog.records if r.name.startswith("mkdocs")]


def test_a_second_mkdocs_build_reads_back_pages_and_files_and_builds_the_same_site(
    tmp_path: Path,
    made: list[str],
    parsed: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1795305600")
    monkeypatch.setattr(sidework, "can_fork", lambda: False)  # all in this process, where the spies are
    project = copy_site_project(tmp_path / "project")
    printed: list[int] = []
    real_print = binder.print_page
    monkeypatch.setattr(binder, "print_page", lambda *args: printed.append(1) or real_print(*args))

    def files() -> dict[str, bytes]:
        site_dir = project / "site"
        return {p.relative_to(site_dir).as_posix(): p.read_bytes() for p in sorted(site_dir.rglob("*")) if p.is_file()}

    messages = _build(project, caplog)
    assert made
    assert printed == [1]
    assert not any("read back" in m for m in messages)
    first = files()
    made.clear()
    monkeypatch.setattr(safe, "FRAGMENTS", safe.Fragments())
    parsed.clear()
    messages = _build(project, caplog)
    assert made == []
    assert parsed == []  # and not one runbook was parsed
    assert printed == [1]  # nor print.html made again
    assert any("generated pages of the last build were read back" in m for m in messages)
    assert files() == first


# -- loaded files


def _load(root: Path, cache: dict[Path, Any] | None) -> tuple[list[Any], list[Any]]:
    project = load_project(root / "runbooks", None, root, cache)
    documents = [(d.display, d.digest, d.kind, d.data, d.diagnostics, d.schema_diagnostics) for d in project.documents]
    return documents, project.diagnostics


def test_files_kept_by_the_last_build_load_as_the_files_themselves(project: Path, parsed: list[str]) -> None:
    """Kept files stand for their data, schema verdict and positions: a project loaded with them is the project
    loaded from its files, cross-file problems included, located at the same line and column."""
    _edit(project, LINKER, "severity: sev2", "severity: sev9")  # a reference error: found across files
    (project / "runbooks/authos-api/broken.yaml").write_text("id: broken\ntitle: [unclosed\n", encoding="utf-8")
    cache = project / "cache"
    fresh = _load(project, None)
    first = load_project(project / "runbooks", None, project, {})
    kept.save_documents(cache, first.documents, {})
    known = kept.load_documents(cache)
    shown = {doc.display for doc in known.values()}
    assert "runbooks/authos-api/authos-api-brute-force-attack.yaml" in shown  # its problem is not its own
    assert "runbooks/authos-api/broken.yaml" not in shown  # files with a problem are loaded again
    assert len(known) > 30

    parsed.clear()
    again = _load(project, kept.load_documents(cache))
    assert again == fresh
    assert sorted(parsed) == sorted({d[0] for d in fresh[0]} - shown)
    assert any(d.rule == "xref.severity" and d.line > 1 for d in again[1])
    _edit(project, LINKER, "title: Brute Force Attack", "title: Brute force")  # changed bytes: parsed again
    parsed.clear()
    assert _load(project, kept.load_documents(cache)) == _load(project, None)
    assert "runbooks/authos-api/authos-api-brute-force-attack.yaml" in parsed


@pytest.mark.parametrize("data", [{1: "one"}, {"a": [float("nan")]}, {"a": float("inf")}, {"a": {"b": (1, 2)}}])
def test_only_data_json_holds_exactly_is_kept(tmp_path: Path, data: Any) -> None:
    """Data JSON would change (a key that is not a string, a number JSON cannot write) is never kept."""
    doc = loader.Document(tmp_path / "a.yaml", "a.yaml", "runbook", data=data, schema_diagnostics=[])
    plain = loader.Document(tmp_path / "b.yaml", "b.yaml", "runbook", data={"a": [1, 2.5, None]}, schema_diagnostics=[])
    kept.save_documents(tmp_path, [doc, plain], {})
    assert [d.display for d in kept.load_documents(tmp_path).values()] == ["b.yaml"]


def test_kept_files_this_user_did_not_write_are_never_used(project: Path, tmp_path: Path, monkeypatch: Any) -> None:
    cache = project / "cache"
    first = load_project(project / "runbooks", None, project, {})
    kept.save_documents(cache, first.documents, {})
    head, payload = _payload(cache, kept.DOCUMENTS)
    assert b"Brute Force Attack" in payload
    planted = payload.replace(b"Brute Force Attack", b"Nothing to see")
    with monkeypatch.context() as other:
        other.setenv("XDG_CACHE_HOME", str(tmp_path / "other-user"))
        other_key = kept.signing_key()
    assert other_key is not None
    for data in (head + b"\n" + planted, _MAGIC + kept._sign(other_key, planted) + b"\n" + planted, b"junk"):
        (cache / kept.DOCUMENTS).write_bytes(data)
        assert kept.load_documents(cache) == {}
    # The signature is what keeps such an entry out (so the three above hold).
    (cache / kept.DOCUMENTS).write_bytes(_MAGIC + kept._sign(kept.signing_key() or b"", planted) + b"\n" + planted)
    assert any(d.data.get("title") == "Nothing to see" for d in kept.load_documents(cache).values())


# -- print.html


def test_print_html_is_kept_under_everything_it_is_made_from(project: Path) -> None:
    from runbinder.binder import BinderOptions, PrintPage

    index = load_project(project / "runbooks", None, project).index
    renderer = PrintPage(index, BinderOptions(today=date(2026, 11, 22)), {}).renderer
    rendered = {"index.md": ("index.html", "<h1>Home</h1>"), "a.md": ("a.html", "<p>a</p>")}
    key = kept.print_key(renderer, "settings", rendered)
    assert kept.print_key(renderer, "settings", dict(reversed(rendered.items()))) == key
    for other in (
        kept.print_key(renderer, "other settings", rendered),
        kept.print_key(renderer, "settings", {**rendered, "a.md": ("a.html", "<p>b</p>")}),
        kept.print_key(renderer, "settings", {**rendered, "a.md": ("b/a.html", "<p>a</p>")}),
        kept.print_key(renderer, "settings", {"index.md": rendered["index.md"]}),
        kept.print_key(PrintPage(index, BinderOptions(today=date(2027, 1, 1)), {}).renderer, "settings", rendered),
    ):
        assert other != key

    cache = project / "cache"
    kept.save_print_page(cache, key, b"<html>print</html>")
    assert kept.load_print_page(cache, key) == b"<html>print</html>"
    other_key = kept.print_key(renderer, "other settings", rendered)
    assert kept.load_print_page(cache, other_key) is None
    head, payload = _payload(cache, kept.PRINT_PAGE)
    (cache / kept.PRINT_PAGE).write_bytes(head + b"\n" + payload.replace(b"print", b"<script>alert(1)</script>"))
    assert kept.load_print_page(cache, key) is None


def test_runbinder_check_reads_back_the_files_it_kept(
    project: Path, parsed: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`runbinder check` keeps the files that loaded cleanly beside its verdicts: a second check of an unchanged
    project parses none and reports the same; checking one file keeps the others kept; --no-cache parses all."""
    from runbinder.cli import main

    monkeypatch.chdir(project)
    _edit(project, LINKER, "destructive: true", "destructive: false")  # a finding to report each time

    def check(*args: str) -> tuple[int, str, list[str]]:
        parsed.clear()
        code = main(["check", *args, "--cache-dir", "cache", "--format", "json"])
        return code, capsys.readouterr().out, list(parsed)

    code, first, files = check("runbooks")
    assert code == 1
    assert "command.destructive" in first
    assert len(files) > 30
    assert check("runbooks") == (1, first, [])
    assert check(LINKER) == (1, check(LINKER)[1], [])
    _edit(project, LINKER, "title: Brute Force Attack", "title: Brute force")
    assert check(LINKER)[2] == [LINKER]
    assert check("runbooks")[2] == []  # the one-file check kept the others and its own new bytes
    code, again, files = check("runbooks", "--no-cache")
    assert len(files) > 30
    assert (code, again) == check("runbooks")[:2]
