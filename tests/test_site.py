"""The real `mkdocs build --strict` of the bundled runbooks, offline and safe; broken input keeps the last site."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import yaml

from .conftest import ROOT, copy_site_project, mkdocs_build

EXTERNAL_LOAD = re.compile(r"""<(?:script|img|iframe|link|source)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I)


def _runbook_ids() -> list[str]:
    ids = []
    for path in sorted((ROOT / "runbooks").rglob("*.yaml")):
        if path.name == "catalog.yaml" or path.name.endswith(".catalog.yaml"):
            continue
        ids.append(yaml.safe_load(path.read_text(encoding="utf-8"))["id"])
    return ids


def test_every_runbook_and_site_page_is_built(built_site: Path) -> None:
    for ident in _runbook_ids():
        assert (built_site / "runbooks" / f"{ident}.html").is_file(), ident
    for page in [
        "index",
        "severity",
        "escalation",
        "contacts",
        "roles",
        "alerts",
        "tags",
        "templates",
        "tools",
        "checklists",
        "services/index",
        "runbooks/index",
        "reference/schema",
        "about",
    ]:
        assert (built_site / f"{page}.html").is_file(), page


def test_site_loads_nothing_from_the_network(built_site: Path) -> None:
    offenders = []
    for page in built_site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        offenders += [f"{page.name}: {m.group(0)}" for m in EXTERNAL_LOAD.finditer(html)]
        assert "fonts.googleapis.com" not in html
    assert offenders == []
    assert (built_site / "assets" / "runbinder" / "mermaid.min.js").stat().st_size > 1_000_000
    assert (built_site / "search" / "search_index.js").is_file()  # offline search index


def test_mermaid_source_is_escaped_in_html(built_site: Path) -> None:
    html = (built_site / "severity.html").read_text(encoding="utf-8")
    block = re.search(r'<pre class="mermaid" data-search-exclude><code>(.*?)</code></pre>', html, re.S)
    assert block is not None
    assert block.group(1).split("---\n")[-1].startswith("flowchart LR")
    assert "<" not in block.group(1).replace("&lt;", "")


def test_search_finds_words_not_diagram_source(built_site: Path) -> None:
    index = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    text = " ".join(doc["text"] for doc in index["docs"])
    assert "SEV1" in text  # the severity page is indexed...
    assert "Incident" in text
    assert "flowchart TD" not in text  # no source
    assert "flowchart LR" not in text
    assert "useMaxWidth" not in text
    assert not re.search(r"\bn\d+\[", text)


def test_search_leads_to_runbooks_not_to_the_lists_that_name_them(built_site: Path) -> None:
    """The runbooks index and the tags page only repeat runbooks' titles and summaries: they are not indexed, so
    a search for a runbook's words lands on the runbook (and the alerts page, where alerts have their address)."""
    index = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))
    pages = {doc["location"].split("#")[0] for doc in index["docs"]}
    assert "runbooks/" not in pages
    assert "runbooks/index.html" not in pages
    assert "tags.html" not in pages
    assert "alerts.html" in pages
    assert "severity.html" in pages
    title = "Brute Force Attack"
    found = {doc["location"].split("#")[0] for doc in index["docs"] if title in doc["title"] or title in doc["text"]}
    assert found
    assert any(page.startswith("runbooks/authos-api-brute-force-attack") for page in found)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_broken_runbook_keeps_the_last_good_site(tmp_path: Path) -> None:
    project = copy_site_project(tmp_path / "project")
    assert mkdocs_build(project).returncode == 0
    before = _digest(project / "site")
    broken = project / "runbooks" / "broken.yaml"
    broken.write_text("id: broken\ntitle: Broken\nkind: process\nservice: no-such-service\n", encoding="utf-8")
    result = mkdocs_build(project)
    assert result.returncode != 0
    assert "runbooks/broken.yaml:1:1: error: 'owner' is a required property (schema.required)" in result.stderr
    assert "Traceback" not in result.stderr
    assert _digest(project / "site") == before


def test_hand_written_index_replaces_the_generated_home(tmp_path: Path) -> None:
    project = copy_site_project(tmp_path / "project")
    (project / "docs" / "index.md").write_text("# Our own home page\n", encoding="utf-8")
    result = mkdocs_build(project, "--strict")
    assert result.returncode == 0, result.stderr
    assert "Our own home page" in (project / "site" / "index.html").read_text(encoding="utf-8")


def test_docs_page_clashing_with_a_generated_page_is_an_error(tmp_path: Path) -> None:
    project = copy_site_project(tmp_path / "project")
    (project / "docs" / "severity.md").write_text("# Mine\n", encoding="utf-8")
    result = mkdocs_build(project)
    assert result.returncode != 0
    assert "docs/severity.md would be replaced by a generated page" in result.stderr


def test_every_href_src_and_fragment_of_the_site_resolves(built_site: Path) -> None:
    from runbinder.checks.links import check_site

    assert check_site(built_site) == []


def test_site_check_reports_broken_links_and_anchors(built_site: Path, tmp_path: Path) -> None:
    import shutil

    from runbinder.checks.links import check_site

    site = tmp_path / "site"
    shutil.copytree(built_site, site)
    page = site / "alerts.html"
    html = page.read_text(encoding="utf-8")
    html = html.replace("<article", '<a href="severity.html#no-such-level">x</a><a href="gone.html">y</a><article', 1)
    page.write_text(html, encoding="utf-8")
    found = check_site(site, "site")
    assert [(d.path, d.rule, d.message) for d in found] == [
        (
            "site/alerts.html",
            "site.anchor",
            "href='severity.html#no-such-level': no element with id 'no-such-level' in severity.html",
        ),
        ("site/alerts.html", "site.link", "href='gone.html': gone.html does not exist"),
    ]
    assert all(d.line > 1 for d in found)


def test_build_runs_the_checks(tmp_path: Path) -> None:
    project = copy_site_project(tmp_path / "project")
    page = project / "runbooks" / "authos-api" / "authos-api-disk-space-critical.yaml"
    page.write_text(
        page.read_text(encoding="utf-8").replace("destructive: true", "destructive: false", 1), encoding="utf-8"
    )
    result = mkdocs_build(project, "--strict")
    assert result.returncode != 0
    assert "but is not marked `destructive: true` (command.destructive)" in result.stderr
    assert "runbooks/authos-api/authos-api-disk-space-critical.yaml:" in result.stderr


def test_print_page_is_in_the_site_and_nav(built_site: Path) -> None:
    page = (built_site / "print.html").read_text(encoding="utf-8")
    assert 'src="assets/runbinder/mermaid.min.js"' in page
    assert "http://" not in page.split("<body")[0]
    assert 'href="print.html"' in (built_site / "index.html").read_text(encoding="utf-8")


def test_stale_runbooks_get_a_banner_and_fail_strict_only_when_asked(tmp_path: Path) -> None:
    project = copy_site_project(tmp_path / "project")
    page = project / "runbooks" / "authos-api" / "authos-api-disk-space-critical.yaml"
    page.write_text(re.sub(r'last_reviewed: "?[0-9-]+"?', 'last_reviewed: "2020-01-01"', page.read_text()))
    result = mkdocs_build(project, "--strict")
    assert result.returncode == 0, result.stderr
    html = (project / "site" / "runbooks" / "authos-api-disk-space-critical.html").read_text(encoding="utf-8")
    assert "Overdue for review" in html
    config = project / "mkdocs.yml"
    config.write_text(
        config.read_text().replace("runbooks_dir: runbooks", "runbooks_dir: runbooks\n      stale: warning")
    )
    result = mkdocs_build(project, "--strict")
    assert result.returncode != 0
    assert "(review.overdue)" in result.stderr


NAV_LINK = re.compile(r'<a href="([^"]+)" class="md-nav__link')


def _nav_project(tmp_path: Path, **options: object) -> Path:
    from runbinder.bench.generate import generate

    generate(12, tmp_path / "runbooks")
    (tmp_path / "docs").mkdir()
    settings = {"checks": "off", "print_page": False, "check_site": False, **options}
    config = {
        "site_name": "Nav",
        "use_directory_urls": False,
        "theme": {"name": "material", "font": False},
        "plugins": ["search", {"runbinder": settings}],
        "validation": {"omitted_files": "warn", "unrecognized_links": "warn", "anchors": "warn"},
    }
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp_path


def test_large_sites_get_an_overview_navigation(tmp_path: Path) -> None:
    """Material writes the whole nav into every page: above nav_full_limit runbooks it lists overview pages only,
    and leaving runbooks out of it on purpose is no warning (the build is --strict with omitted_files: warn)."""
    full = mkdocs_build(_nav_project(tmp_path / "full", nav_full_limit=12), "--strict")
    assert full.returncode == 0, full.stderr
    overview = mkdocs_build(_nav_project(tmp_path / "overview", nav_full_limit=11), "--strict")
    assert overview.returncode == 0, overview.stderr
    assert "12 runbooks: the navigation lists the overview pages only" in overview.stderr

    def nav(project: Path) -> set[str]:
        return set(NAV_LINK.findall((project / "site" / "alerts.html").read_text(encoding="utf-8")))

    full_nav, overview_nav = nav(tmp_path / "full"), nav(tmp_path / "overview")
    assert sum(1 for href in full_nav if href.startswith("runbooks/") and href != "runbooks/index.html") == 12
    assert {h for h in overview_nav if h.startswith(("runbooks/", "services/"))} == {
        "runbooks/index.html",
        "services/index.html",
    }
    assert len(overview_nav) == len(full_nav) - 12 - 2  # the runbooks and the two service overviews
    # The pages are still built and linked from the indexes.
    runbooks = sorted((tmp_path / "overview" / "site" / "runbooks").glob("*.html"))
    assert len(runbooks) == 13
    index = (tmp_path / "overview" / "site" / "runbooks" / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{p.name}"' in index for p in runbooks if p.name != "index.html")


def test_no_page_has_an_id_twice(built_site: Path) -> None:
    from html.parser import HTMLParser

    class Ids(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.ids: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.ids += [value for name, value in attrs if name == "id" and value]

    repeated = {}
    for page in sorted(built_site.rglob("*.html")):
        parser = Ids()
        parser.feed(page.read_text(encoding="utf-8"))
        twice = sorted({i for i in parser.ids if parser.ids.count(i) > 1})
        if twice:
            repeated[page.relative_to(built_site).as_posix()] = twice
    assert repeated == {}


def test_flowchart_boxes_link_to_their_steps(built_site: Path) -> None:
    html = (built_site / "runbooks" / "oauth2-server-incident-response.html").read_text(encoding="utf-8")
    section = html.split("Steps in this flow", 1)[1].split("</ul>", 1)[0]
    targets = re.findall(r'href="#([^"]+)"', section)
    assert len(targets) == 17  # every box the runbook names a step for
    ids = set(re.findall(r'id="([^"]+)"', html))
    assert set(targets) <= ids  # each link lands on its step's heading
    assert "Validate Alert: " in re.sub(r"<[^>]+>", "", section)


def _site_files(site: Path) -> dict[str, bytes]:
    return {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in sorted(site.rglob("*"))
        if p.is_file() and p.suffix in (".html", ".js", ".json", ".css", ".xml")
    }


def test_a_build_from_the_caches_is_the_build_without_them(tmp_path: Path) -> None:
    """The second build takes findings, highlighted commands and the site check's reading from .runbinder-cache:
    it writes the very same site, and what an edit breaks is still found."""
    project = copy_site_project(tmp_path / "project")
    cold = mkdocs_build(project, "--strict")
    assert cold.returncode == 0, cold.stderr
    first = _site_files(project / "site")
    cache = project / ".runbinder-cache"
    assert {p.name for p in cache.iterdir()} >= {"verdicts.json", "findings.json", "highlight.json", "site.json"}

    warm = mkdocs_build(project, "--strict")
    assert warm.returncode == 0, warm.stderr
    assert _site_files(project / "site") == first

    runbook = project / "runbooks" / "authos-api" / "authos-api-database-connection-failures.yaml"
    text = runbook.read_text(encoding="utf-8")
    edited = text.replace("curl https://authos.test/api/health/database", "curl 'https://authos.test/api/health/db", 1)
    assert edited != text
    runbook.write_text(edited, encoding="utf-8")
    broken = mkdocs_build(project, "--strict")
    assert broken.returncode != 0
    assert "(command.syntax)" in broken.stderr
    assert "authos-api-database-connection-failures.yaml" in broken.stderr
