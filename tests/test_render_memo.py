"""Under `mkdocs serve` a runbook's page is made again only when something it shows changed: every page the memo
gives back is the page a fresh render makes, whatever was edited."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from runbinder import safe
from runbinder.render.site import SiteRenderer
from runbinder.validate import load_project

from .conftest import ROOT

AUTHOS = "authos-api"
TARGET = "runbooks/authos-api/authos-api-general-troubleshooting.yaml"  # named in others' `related`
LINKER = "runbooks/authos-api/authos-api-brute-force-attack.yaml"  # relates to TARGET


def _pages(root: Path, memo: dict[str, Any] | None, today: date = date(2026, 11, 22)) -> dict[str, str]:
    project = load_project(root / "runbooks", None, root)
    pages = SiteRenderer(project.index, today=today, directory_urls=True).pages(memo)
    return {path: safe.FRAGMENTS.inline(page.document()) for path, page in pages.items()}


def _edit(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


EDITS: dict[str, tuple[Callable[[Path], None], int | str]] = {
    # (the edit, how many runbook pages are made again: a number, "some" (more than one, not all) or "all")
    "nothing": (lambda root: None, 0),
    "a step of one runbook": (
        lambda root: _edit(root, LINKER, "Implement CAPTCHA after 3 failed attempts", "CAPTCHA after 3 failures"),
        1,
    ),
    "the title of a related runbook": (
        lambda root: _edit(root, TARGET, "title: General Troubleshooting Tips", "title: First Checks"),
        "some",
    ),
    "a related link removed": (
        lambda root: _edit(root, LINKER, "related:\n  - authos-api-general-troubleshooting\n", ""),
        "some",
    ),
    "a catalog entry": (lambda root: _edit(root, "runbooks/catalog.yaml", "name: Critical", "name: Urgent"), "all"),
    "a runbook deleted": (lambda root: (root / TARGET).unlink(), "all"),  # the pages links may name changed
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_remembered_pages_are_the_pages_a_fresh_render_makes(edit: str, tmp_path: Path, made: list[str]) -> None:
    shutil.copytree(ROOT / "runbooks", tmp_path / "runbooks")
    memo: dict[str, Any] = {}
    first = _pages(tmp_path, memo)
    assert len(memo) > 30
    made.clear()
    change, expected = EDITS[edit]
    change(tmp_path)
    remembered = _pages(tmp_path, memo)
    runbooks_made = len(made)
    fresh = _pages(tmp_path, None)
    assert remembered == fresh
    if expected == "all":
        assert runbooks_made == len(memo)
    elif expected == "some":
        assert 2 <= runbooks_made < len(memo)
    else:
        assert runbooks_made == expected
    if edit != "nothing":
        assert remembered != first


def test_the_date_is_part_of_what_a_page_depends_on(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "runbooks", tmp_path / "runbooks")
    memo: dict[str, Any] = {}
    _pages(tmp_path, memo, today=date(2026, 11, 22))
    later = _pages(tmp_path, memo, today=date(2031, 1, 1))  # every review is overdue by then
    assert later == _pages(tmp_path, None, today=date(2031, 1, 1))


REFERENCE_EDITS: dict[str, Callable[[Path], None]] = {
    "nothing": lambda root: None,
    "a title": lambda root: _edit(root, TARGET, "title: General Troubleshooting Tips", "title: First Checks"),
    "a broken reference added": lambda root: _edit(root, LINKER, "severity: sev2", "severity: sev9"),
    "a related runbook's id changed": lambda root: _edit(
        root, TARGET, "id: authos-api-general-troubleshooting", "id: authos-api-first-checks"
    ),
    "a related runbook deleted": lambda root: (root / TARGET).unlink(),
    "a catalog entry removed": lambda root: _edit(
        root, "runbooks/catalog.yaml", "  - id: sev2\n", "  - id: sev2-old\n"
    ),
    "a duplicate id": lambda root: shutil.copy(root / LINKER, root / "runbooks/authos-api/copy.yaml"),
}


@pytest.mark.parametrize("edit", list(REFERENCE_EDITS))
def test_remembered_reference_findings_are_those_of_a_fresh_check(edit: str, tmp_path: Path) -> None:
    """Under `mkdocs serve` a runbook's reference findings are taken from the last check while its file, the
    catalogs and the runbook ids are unchanged: whatever was edited, the project's findings are those of a fresh
    load, in the same order."""
    shutil.copytree(ROOT / "runbooks", tmp_path / "runbooks")
    memo: dict[tuple[str, str, str], list[Any]] = {}
    first = load_project(tmp_path / "runbooks", None, tmp_path, {}, memo=memo)
    assert len(memo) > 30
    REFERENCE_EDITS[edit](tmp_path)
    remembered = load_project(tmp_path / "runbooks", None, tmp_path, {}, memo=memo)
    fresh = load_project(tmp_path / "runbooks", None, tmp_path)
    assert remembered.diagnostics == fresh.diagnostics
    if edit not in ("nothing", "a title", "a duplicate id"):
        assert any(d.rule.startswith("xref.") for d in fresh.diagnostics)
        assert remembered.diagnostics != first.diagnostics
    if edit == "a duplicate id":
        assert any(d.rule == "id.duplicate" for d in fresh.diagnostics)


def test_links_to_a_shared_page_follow_edits_when_unchanged_files_are_reused(tmp_path: Path) -> None:
    """Under `mkdocs serve` a file whose bytes did not change keeps its loaded data, and the shared pages its
    Markdown links to are remembered by that data: a link added or removed by an edit still shows as a backlink
    (or stops showing) on the shared page, as a fresh render shows it."""
    shutil.copytree(ROOT / "runbooks", tmp_path / "runbooks")
    (tmp_path / "runbooks" / "pages").mkdir()
    (tmp_path / "runbooks" / "pages" / "access.md").write_text("# Access\n\nHow to get access.\n", encoding="utf-8")
    documents: dict[Path, Any] = {}  # as the plugin keeps them between rebuilds

    def linked_from(cache: dict[Path, Any] | None) -> list[str]:
        project = load_project(tmp_path / "runbooks", None, tmp_path, cache)
        renderer = SiteRenderer(project.index, today=date(2026, 11, 22), directory_urls=True)
        return [ref.page for ref in renderer.backlinks.get(("page", "pages/access.md"), [])]

    assert linked_from(documents) == []
    summary, link = "summary: >-\n", "  First read [the access page](pages/access.md).\n"
    _edit(tmp_path, LINKER, summary, summary + link)
    assert linked_from(documents) == ["runbooks/authos-api-brute-force-attack.md"] == linked_from(None)
    _edit(tmp_path, LINKER, link, "")
    assert linked_from(documents) == [] == linked_from(None)
