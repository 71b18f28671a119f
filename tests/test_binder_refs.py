"""The binder's page numbers read back from the printed PDF with poppler: every "(p. N)" reference and every
contents entry names the page where its target actually starts. Also: no hidden marker text, no backlink pages,
no unreadably small text, diagrams drawn once and kept, binders per service and team.

Needs a Chromium and poppler-utils: locally these tests skip without them; under CI=true they must run.
"""

from __future__ import annotations

import html
import io
import re
import subprocess
from pathlib import Path

import pytest

from runbinder import binder as binder_module
from runbinder.binder import PAGE_ANCHOR, BinderOptions, binder_sections, make_binder
from runbinder.cli import main
from runbinder.validate import load_project

from .conftest import ROOT
from .test_binder import _pages, _require_tools, _text

_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')


def _words(pdf: Path) -> list[list[tuple[float, float, float, float, str]]]:
    """Every word of every page with its box (points, origin top left), read by pdftotext -bbox."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [
        [(float(a), float(b), float(c), float(d), html.unescape(w)) for a, b, c, d, w in _WORD.findall(page)]
        for page in out.split("<page ")[1:]
    ]


def _slots(pdf: Path) -> list[tuple[int, tuple[float, float, float, float], str]]:
    """(page, rectangle, target) of every page-number slot: the links to a ``pg--`` anchor."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    found = []
    for number, page in enumerate(reader.pages, 1):
        height = float(page.mediabox.height)
        for annotation in page.get("/Annots", None) or []:
            link = annotation.get_object()
            name = str(link.get("/Dest", "")).lstrip("/")
            if name.startswith(PAGE_ANCHOR):
                x0, y0, x1, y1 = (float(v) for v in link["/Rect"])
                found.append((number, (x0, height - y1, x1, height - y0), name[len(PAGE_ANCHOR) :]))
    return found


def _destinations(pdf: Path) -> dict[str, int]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf.read_bytes()))
    return {
        str(name).lstrip("/"): reader.get_destination_page_number(dest) + 1
        for name, dest in reader.named_destinations.items()
    }


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], Path]:
    _require_tools()
    tmp = tmp_path_factory.mktemp("binder-refs")
    project = load_project(ROOT / "runbooks", None, ROOT)
    cache = tmp / "cache"
    output, _, numbers = make_binder(project.index, tmp / "binder.pdf", BinderOptions(cache_dir=cache))
    return output, numbers, cache


def test_every_page_reference_is_the_page_where_its_target_starts(printed: tuple[Path, dict[str, int], Path]) -> None:
    pdf, _, _ = printed
    words = _words(pdf)
    destinations = _destinations(pdf)
    slots = _slots(pdf)
    assert len(slots) > 100
    wrong = []
    for page, (x0, top, x1, bottom), target in slots:
        inside = [
            w for w in words[page - 1] if w[0] >= x0 - 1 and w[2] <= x1 + 8 and w[1] >= top - 2 and w[3] <= bottom + 2
        ]
        digits = re.findall(r"\d+", " ".join(w[4] for w in inside))
        # The slot's number is read back from the text layer; the target's page is its own named destination.
        expected = destinations[target]
        if digits != [str(expected)]:
            wrong.append((page, target, digits, expected))
    assert wrong == []


def test_contact_references_lead_to_the_contact(printed: tuple[Path, dict[str, int], Path]) -> None:
    """Issue 13: every contact reference said "(p. 14)" while the contacts were on pp. 15-18."""
    pdf, numbers, _ = printed
    text = _text(pdf, numbers["escalation"], numbers["contacts"] - 1)
    # A name is words with single spaces between them: pdftotext sets table columns apart by several, and which
    # cells end up side by side on a line depends on the fonts installed.
    references = re.findall(r"([A-Z][\w/&().-]*(?: [\w/&().-]+)*) \(p\.\s*(\d+)\)", text)
    pages = {int(n) for _, n in references}
    assert len(pages) > 2  # the contacts are on several pages, and the references say which
    contacts_end = numbers["roles"]
    for name, number in references:
        if numbers["contacts"] <= int(number) < contacts_end:
            last_word = name.split()[-1].strip("()")
            assert last_word in _text(pdf, int(number)).replace("\n", " "), (name, number)


def test_contents_numbers_are_the_sections_first_pages(printed: tuple[Path, dict[str, int], Path]) -> None:
    pdf, numbers, _ = printed
    parts = binder_sections(load_project(ROOT / "runbooks", None, ROOT).index)
    toc = _text(pdf, 2, numbers["severity"] - 1)
    lines = [line for line in toc.splitlines() if not re.search(r"page \d+ of \d+", line)]
    listed = [int(n) for n in re.findall(r"(\d+)\s*$", "\n".join(lines), re.M)]
    assert listed == [numbers[s.key] for s in parts]


def test_page_numbers_are_an_update_appended_to_the_print(
    printed: tuple[Path, dict[str, int], Path], tmp_path: Path
) -> None:
    """The numbers are an incremental update: Chromium's print byte for byte, then the pages that gained numbers
    and a trailer that points back to the print's. Poppler reads the whole without a complaint; the print alone
    is the same pages with blank slots."""
    pdf, numbers, _ = printed
    data = pdf.read_bytes()
    ends = [m.end() for m in re.finditer(rb"startxref\s+([0-9]+)\s+%%EOF\r?\n?", data)]
    assert len(ends) == 2
    assert ends[-1] == len(data)
    first = re.search(rb"startxref\s+([0-9]+)\s+%%EOF", data[: ends[0]])
    assert first is not None
    assert re.search(rb"/Prev %d\b" % int(first.group(1)), data[ends[0] :])
    alone = tmp_path / "print.pdf"
    alone.write_bytes(data[: ends[0]])
    for path in (pdf, alone):
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
        assert info.stderr == ""
        assert f"Pages:           {_pages(pdf)}" in info.stdout
    toc_page = _text(pdf, 2, 2)
    assert str(numbers["severity"]) in toc_page.split()
    assert str(numbers["severity"]) not in _text(alone, 2, 2).split()


def test_no_hidden_markers_and_no_backlink_pages(printed: tuple[Path, dict[str, int], Path]) -> None:
    pdf, _, _ = printed
    text = _text(pdf)
    assert "RBMARK" not in text
    assert "Referenced by" not in text
    for number in range(1, _pages(pdf) + 1):
        body = [line for line in _text(pdf, number).splitlines()[1:] if line.strip() and "page " not in line]
        assert body, f"page {number} holds nothing but its running header and footer"


def test_each_runbook_page_says_when_it_was_reviewed(printed: tuple[Path, dict[str, int], Path]) -> None:
    """Issue 13: "last reviewed" appears in the binder's running header, as a warning once overdue."""
    pdf, numbers, _ = printed
    index = load_project(ROOT / "runbooks", None, ROOT).index
    parts = binder_sections(index)
    runbooks = [s for s in parts if s.key.startswith("runbook-")]
    assert runbooks
    assert all(s.reviewed for s in runbooks)
    for s in runbooks:
        header = " ".join(_text(pdf, numbers[s.key]).splitlines()[:2])
        assert s.reviewed in re.sub(r"\s+", " ", header), (s.key, s.reviewed, header)
    severity_header = _text(pdf, numbers["severity"]).splitlines()[0]
    assert "eview" not in severity_header  # only runbooks carry a review date


def test_the_review_note_turns_into_a_warning_when_overdue() -> None:
    from datetime import date

    from runbinder.binder import _reviewed

    assert _reviewed({"last_reviewed": date(2026, 1, 5)}, date(2026, 7, 5), date(2026, 6, 1)) == "Reviewed 2026-01-05"
    overdue = _reviewed({"last_reviewed": date(2026, 1, 5)}, date(2026, 7, 5), date(2026, 8, 1))
    assert overdue == "Review overdue: last reviewed 2026-01-05"
    assert _reviewed({}, None, date(2026, 8, 1)) == "Never reviewed"


def test_no_text_is_shrunk_below_reading_size(printed: tuple[Path, dict[str, int], Path]) -> None:
    pdf, _, _ = printed
    small = [(n, w[4]) for n, page in enumerate(_words(pdf), 1) for w in page if w[3] - w[1] < 5.5]
    assert small == []  # a 4 pt diagram label measures about 4.6 pt


def test_diagrams_are_drawn_once_and_kept(
    printed: tuple[Path, dict[str, int], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, cache = printed
    kept = sorted((cache / "diagrams").glob("*.svg"))
    assert len(kept) > 5
    pages: list[str] = []
    original = binder_module._print

    def spy(html_text: str, *args: object) -> tuple[bytes, dict[str, str]]:
        pages.append(html_text)
        return original(html_text, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(binder_module, "_print", spy)
    project = load_project(ROOT / "runbooks", None, ROOT)
    make_binder(project.index, tmp_path / "again.pdf", BinderOptions(cache_dir=cache))
    assert len(pages) == 1  # one print
    assert '<pre class="rb-diagram-source">' not in pages[0]  # every diagram came from the cache
    assert pages[0].count("<svg") >= len(kept)


def test_a_service_binder_and_a_team_binder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _require_tools()
    monkeypatch.chdir(tmp_path)
    assert main(["binder", str(ROOT / "runbooks"), "--service", "authos-api", "-o", "authos.pdf"]) == 0
    text = _text(tmp_path / "authos.pdf")
    assert "Database Connection Failures" in text
    assert "Escalation: who to call" in text  # the quick reference is always there
    assert "OAuth2 Authorization Server" not in _text(tmp_path / "authos.pdf", 2, 2)
    assert main(["binder", str(ROOT / "runbooks"), "--team", "identity-team", "-o", "team.pdf"]) == 0
    parts = binder_sections(load_project(ROOT / "runbooks", None, ROOT).index, teams=["identity-team"])
    assert any(s.key.startswith("runbook-") for s in parts)
    assert all(not s.key.startswith("service-authos") for s in parts)
    assert main(["binder", str(ROOT / "runbooks"), "--service", "authos", "-o", "x.pdf"]) == 2
    assert not (tmp_path / "x.pdf").exists()


def test_the_site_links_to_its_binder_pdf(tmp_path: Path) -> None:
    """Issue 13: with binder_pdf set, the navigation and print.html lead to the PDF, and the site link check (which
    reads every link of the site, print.html's included) finds nothing broken."""
    _require_tools()
    from .conftest import CASES, build_project, mkdocs_build

    build_project(CASES / "valid" / "full", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Binder test\nuse_directory_urls: false\ntheme: {name: material, font: false}\n"
        "plugins:\n  - search\n  - runbinder:\n      binder_pdf: binder.pdf\n",
        encoding="utf-8",
    )
    result = mkdocs_build(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(site." not in result.stderr
    site = tmp_path / "site"
    assert 'href="binder.pdf"' in (site / "index.html").read_text(encoding="utf-8")
    printable = (site / "print.html").read_text(encoding="utf-8")
    assert 'href="binder.pdf"' in printable
    assert 'href="index.html"' in printable
    assert (site / "binder.pdf").read_bytes().startswith(b"%PDF")
    assert oct((site / "print.html").stat().st_mode & 0o777) == "0o644"


def test_a_tall_flow_keeps_readable_text_and_whole_labels(tmp_path: Path) -> None:
    """Issue 13: a tall decision flow was shrunk to about 4 pt after a two-thirds-blank page. It is printed at a
    readable size in bands cut between its boxes, so every label stays whole on one page."""
    _require_tools()
    import sys

    import yaml

    runbooks = tmp_path / "runbooks"
    subprocess.run([sys.executable, "-m", "runbinder.bench.generate", "3", str(runbooks)], check=True)
    path = sorted(p for p in runbooks.rglob("*.yaml") if not p.name.endswith("catalog.yaml"))[0]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    nodes = [{"id": "s0", "label": "Alert fires", "type": "start", "next": "n1"}]
    nodes += [
        {"id": f"n{i}", "label": f"Check number {i} of the long procedure", "next": f"n{i + 1}"} for i in range(1, 40)
    ]
    nodes.append({"id": "n40", "label": "Done", "type": "end"})
    data["flow"] = {"title": "Long triage", "nodes": nodes}
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    output, _, _ = make_binder(load_project(runbooks, None, tmp_path).index, tmp_path / "tall.pdf", BinderOptions())
    pages_with_labels = []
    for number, page in enumerate(_words(output), 1):
        labels = [w for w in page if w[4] == "Check"]
        if labels:
            pages_with_labels.append(number)
            assert min(w[3] - w[1] for w in labels) >= 8  # mermaid's 16 px text at 60% or more: not 4 pt
    assert len(pages_with_labels) >= 3  # too tall for one page at a readable size: it took several
    text = re.sub(r"\s+", " ", _text(output))
    for i in range(1, 40):
        assert f"Check number {i} of the long procedure" in text  # no label cut between two pages
