"""The bundled site built by every generator runbinder supports, each once per session, and what each one can do.

- MkDocs 1.6 with the plugin (the reference), and ProperDocs with the same plugin and the same configuration.
- `runbinder render` into a docs folder, then plain MkDocs (no plugin) and Zensical build that folder.

Backstage TechDocs (mkdocs-techdocs-core) has its own module: it needs a virtualenv of its own.
Every cell of the README's compatibility table comes from an assertion here or there.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from runbinder import export
from runbinder.checks.links import check_site

from .conftest import ROOT, copy_site_project, serve_directory
from .test_browser import search

BIN = Path(sys.executable).parent
EPOCH = "1795305600"
ENV = {
    **os.environ,
    "NO_MKDOCS_2_WARNING": "1",  # Material's notice
    "DISABLE_MKDOCS_2_WARNING": "true",  # ProperDocs' notice
    "SOURCE_DATE_EPOCH": EPOCH,
    "NO_COLOR": "1",
}
EXTERNAL_LOAD = re.compile(r"""<(?:script|img|iframe|link|source)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I)
CSP_META = '<meta http-equiv="Content-Security-Policy"'

# Runs after the plugin's on_files: writes each generated page as `runbinder render` would write it, and the nav.
DUMP_HOOK = """
import json, os
from pathlib import Path
from mkdocs.plugins import event_priority
from runbinder.export import portable

@event_priority(-100)
def on_files(files, config):
    out = Path(os.environ["RUNBINDER_DUMP"])
    for file in files:
        if file.generated_by == "runbinder" and file.src_uri.endswith(".md"):
            target = out / file.src_uri
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(portable(file.content_string), encoding="utf-8")
    (out / "nav.json").write_text(json.dumps(config.nav), encoding="utf-8")
    return files
"""

RENDERED_CONFIG = """\
# The bundled site's settings, for generators that build `runbinder render`'s folder (no runbinder plugin).
INHERIT: docs/.runbinder/mkdocs.yml
site_name: Identity Platform Runbooks
site_description: Incident runbooks for the identity platform, generated from validated YAML.
docs_dir: docs
site_dir: {site_dir}
use_directory_urls: false
theme:
  name: material
  font: false
  features:
    - content.code.copy
    - navigation.sections
    - navigation.top
    - search.highlight
  palette:
    primary: blue grey
plugins:
  - search
  - offline
validation:
  omitted_files: warn
  absolute_links: warn
  unrecognized_links: warn
  anchors: warn
"""


@dataclass
class Build:
    """One generator's build of the bundled site."""

    generator: str
    project: Path
    site: Path
    seconds: float
    output: str


def run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    """A command as a user runs it, timed."""
    start = time.perf_counter()
    result = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env or ENV,
        stdin=subprocess.DEVNULL,
    )
    return result, time.perf_counter() - start


def with_dump_hook(project: Path, dump: Path) -> dict[str, str]:
    """Make the project's build dump the plugin's pages (see DUMP_HOOK); returns the environment for it."""
    (project / "dump_pages.py").write_text(DUMP_HOOK, encoding="utf-8")
    with (project / "mkdocs.yml").open("a", encoding="utf-8") as config:
        config.write("\nhooks:\n  - dump_pages.py\n")
    return {**ENV, "RUNBINDER_DUMP": str(dump)}


@pytest.fixture(scope="session")
def mkdocs_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """MkDocs 1.6 with the plugin: the reference (its generated pages dumped beside it)."""
    project = copy_site_project(tmp_path_factory.mktemp("gen-mkdocs"))
    env = with_dump_hook(project, project / "dump")
    result, seconds = run([str(BIN / "mkdocs"), "build", "--strict"], project, env)
    assert result.returncode == 0, result.stderr
    return Build("mkdocs", project, project / "site", seconds, result.stderr)


@pytest.fixture(scope="session")
def properdocs_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """ProperDocs with the plugin, the same configuration (under ProperDocs' own file name) and the same hook."""
    project = copy_site_project(tmp_path_factory.mktemp("gen-properdocs"))
    env = with_dump_hook(project, project / "dump")
    (project / "mkdocs.yml").rename(project / "properdocs.yml")
    result, seconds = run([str(BIN / "properdocs"), "build", "--strict"], project, env)
    assert result.returncode == 0, result.stderr
    return Build("properdocs", project, project / "site", seconds, result.stderr)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled runbooks written by `runbinder render` into a docs folder beside the hand-written page."""
    project = tmp_path_factory.mktemp("gen-rendered")
    shutil.copytree(ROOT / "runbooks", project / "runbooks")
    shutil.copytree(ROOT / "docs", project / "docs")
    result, _ = run([sys.executable, "-m", "runbinder", "render", "runbooks", "-o", "docs", "-q"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    for name, site_dir in (("mkdocs.yml", "site-mkdocs"), ("zensical.yml", "site-zensical")):
        (project / name).write_text(RENDERED_CONFIG.format(site_dir=site_dir), encoding="utf-8")
    return project


@pytest.fixture(scope="session")
def plain_build(rendered: Path) -> Build:
    """Plain MkDocs, no runbinder plugin, building what `runbinder render` wrote."""
    result, seconds = run([str(BIN / "mkdocs"), "build", "--strict"], rendered)
    assert result.returncode == 0, result.stderr
    return Build("mkdocs-plain", rendered, rendered / "site-mkdocs", seconds, result.stderr)


@pytest.fixture(scope="session")
def zensical_build(rendered: Path) -> Build:
    """Zensical building what `runbinder render` wrote."""
    zensical = BIN / "zensical"
    if not zensical.exists():
        if sys.version_info < (3, 11):
            pytest.skip("Zensical needs Python 3.11 or newer")
        pytest.fail("zensical is not installed: make venv installs it (the test extra)")
    result, seconds = run([str(zensical), "build", "--strict", "-f", "zensical.yml"], rendered)
    assert result.returncode == 0, result.stdout + result.stderr
    return Build("zensical", rendered, rendered / "site-zensical", seconds, result.stdout + result.stderr)


BUILDS = ["mkdocs_build", "properdocs_build", "plain_build", "zensical_build"]


@pytest.fixture(params=BUILDS)
def build(request: pytest.FixtureRequest) -> Build:
    built: Build = request.getfixturevalue(request.param)
    return built


# ---------------------------------------------------------------------------------------------- one renderer


def test_render_writes_the_plugins_own_pages_byte_for_byte(mkdocs_build: Build, rendered: Path) -> None:
    dump = mkdocs_build.project / "dump"
    pages = sorted(p.relative_to(dump).as_posix() for p in dump.rglob("*.md"))
    assert len(pages) > 50
    for page in pages:
        assert (rendered / "docs" / page).read_bytes() == (dump / page).read_bytes(), page
    config = (rendered / "docs" / export.CONFIG).read_text(encoding="utf-8")
    import yaml

    fragment = yaml.load(config, Loader=yaml.Loader)
    assert fragment["nav"] == json.loads((dump / "nav.json").read_text(encoding="utf-8"))
    for asset in (*export.STATIC_ASSETS, export.SEVERITY_CSS):
        assert (rendered / "docs" / asset).read_bytes() == (mkdocs_build.site / asset).read_bytes(), asset
    # The print page: render writes the binder's HTML from the pages' Markdown; the plugin (being reworked) makes
    # it from MkDocs' rendered HTML after the build, so only its presence is compared here.
    assert (rendered / "docs" / export.PRINT_PAGE).is_file()
    assert (mkdocs_build.site / export.PRINT_PAGE).is_file()


def test_properdocs_generates_the_same_pages_as_mkdocs(mkdocs_build: Build, properdocs_build: Build) -> None:
    ours, theirs = mkdocs_build.project / "dump", properdocs_build.project / "dump"
    listing = sorted(p.relative_to(ours).as_posix() for p in ours.rglob("*") if p.is_file())
    assert listing == sorted(p.relative_to(theirs).as_posix() for p in theirs.rglob("*") if p.is_file())
    for name in listing:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name


def test_properdocs_builds_the_same_site_as_mkdocs(mkdocs_build: Build, properdocs_build: Build) -> None:
    """Byte for byte, but for the generator's name in a <meta> tag."""
    ours = {p.relative_to(mkdocs_build.site).as_posix(): p for p in mkdocs_build.site.rglob("*") if p.is_file()}
    theirs = {
        p.relative_to(properdocs_build.site).as_posix(): p for p in properdocs_build.site.rglob("*") if p.is_file()
    }
    assert sorted(ours) == sorted(theirs)
    generator = re.compile(rb'<meta name="generator" content="[^"]*">')
    different = [
        name
        for name in ours
        if generator.sub(b"", ours[name].read_bytes()) != generator.sub(b"", theirs[name].read_bytes())
    ]
    assert different == []
    assert b"ProperDocs" in (properdocs_build.site / "index.html").read_bytes()


def test_properdocs_runs_the_plugin_without_a_notice(properdocs_build: Build) -> None:
    """Found through ProperDocs' own `properdocs.plugins` entry point; no warning, no legacy notice."""
    assert "WARNING" not in properdocs_build.output
    assert "legacy" not in properdocs_build.output.lower()
    from importlib.metadata import entry_points

    (found,) = [e for e in entry_points(group="properdocs.plugins") if e.name == "runbinder"]
    assert found.value == "runbinder.plugin:RunbinderPlugin"


class _Tokens(HTMLParser):
    """An article as elements and text, as a browser's DOM holds it (whitespace-only text dropped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple[str, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # data-search-exclude: the plugin marks diagrams so Material's search skips them (no hook does it elsewhere)
        kept = sorted((k, v or "") for k, v in attrs if k != "data-search-exclude")
        self.tokens.append(("<", tag, *(f"{k}={v}" for k, v in kept)))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append((">", tag))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.tokens.append(("text", " ".join(data.split())))


def article(page: Path) -> list[tuple[str, ...]]:
    match = re.search(r"<article[^>]*>(.*)</article>", page.read_text(encoding="utf-8"), re.S)
    assert match is not None, page
    parser = _Tokens()
    parser.feed(match.group(1))
    return parser.tokens


def test_plain_mkdocs_of_the_rendered_folder_shows_what_the_plugin_shows(
    mkdocs_build: Build, plain_build: Build
) -> None:
    pages = sorted(p.relative_to(mkdocs_build.site) for p in mkdocs_build.site.rglob("*.html"))
    pages = [p for p in pages if p.name not in ("404.html", "print.html")]
    assert len(pages) > 50
    different = [str(p) for p in pages if article(mkdocs_build.site / p) != article(plain_build.site / p)]
    assert different == []
    for page in pages:  # code and diagrams verbatim, whitespace included
        assert _code(mkdocs_build.site / page) == _code(plain_build.site / page), page


def _code(page: Path) -> list[str]:
    """The text of every <pre> as a reader sees it (character references read, tags dropped)."""
    blocks = re.findall(r"<pre[^>]*>(.*?)</pre>", page.read_text(encoding="utf-8"), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", block)) for block in blocks]


# ---------------------------------------------------------------------------------------------- every generator

PAGES = [
    "index.html",
    "severity.html",
    "escalation.html",
    "alerts.html",
    "contacts.html",
    "services/index.html",
    "runbooks/index.html",
    "reference/schema.html",
    "about.html",
    "print.html",
]


def test_every_page_is_built(build: Build) -> None:
    expected = [*PAGES, *(f"runbooks/{ident}.html" for ident in _runbook_ids())]
    missing = [page for page in expected if not (build.site / page).is_file()]
    assert missing == []
    assert "Severity matrix" in (build.site / "severity.html").read_text(encoding="utf-8")


def _runbook_ids() -> list[str]:
    from runbinder.validate import load_project

    return sorted(load_project(ROOT / "runbooks", None, ROOT).index.runbooks)


def test_every_link_resolves(build: Build) -> None:
    assert check_site(build.site, "site") == []


def test_nothing_is_loaded_from_outside_the_site(build: Build) -> None:
    offenders = []
    for page in build.site.rglob("*.html"):
        offenders += [f"{page.name}: {m.group(0)}" for m in EXTERNAL_LOAD.finditer(page.read_text(encoding="utf-8"))]
    assert offenders == []
    assert (build.site / export.MERMAID_JS).stat().st_size > 1_000_000
    assert not (build.site / export.STATE_DIR).exists()  # the manifest and config fragment are not published


def test_what_only_the_plugin_adds_to_built_pages(build: Build) -> None:
    """The policy is the plugin's (on_post_page): generators building rendered pages have no such hook."""
    html = (build.site / "index.html").read_text(encoding="utf-8")
    plugin_ran = build.generator in ("mkdocs", "properdocs")
    assert (CSP_META in html) == plugin_ran
    # The plugin also marks diagrams for Material's search to skip (on_page_content); rendered pages are not marked.
    assert ("data-search-exclude" in (build.site / "severity.html").read_text(encoding="utf-8")) == plugin_ran


def test_rendered_pages_are_inert_to_the_site_markdown(plain_build: Build, zensical_build: Build) -> None:
    """No runbook text became a diagram, a snippet, an attribute or a link in a generator's Markdown: the diagrams
    are exactly the plugin's (severity chart, escalation flows, runbook flows)."""
    for built in (plain_build, zensical_build):
        diagrams = sum(
            len(re.findall(r'class="mermaid"', p.read_text(encoding="utf-8"))) for p in built.site.rglob("*.html")
        )
        assert diagrams > 5


# ---------------------------------------------------------------------------------------------- in a browser

SVG_IN_DIAGRAMS = """
() => Array.from(document.querySelectorAll('.mermaid')).map(
  el => !!(el.querySelector('svg') || (el.shadowRoot && el.shadowRoot.querySelector('svg'))))
"""


@pytest.mark.parametrize("served", ["http", "file"])
@pytest.mark.parametrize("generator", ["plain_build", "zensical_build"])
def test_rendered_site_in_chromium_offline_diagrams_and_search(
    generator: str, served: str, request: pytest.FixtureRequest, watch: Any
) -> None:
    """Served, and opened from disk (the network may be what is down): diagrams drawn by the site's own mermaid,
    search answering, no request leaving the site, no script error."""
    built: Build = request.getfixturevalue(generator)
    with serve_directory(built.site) as base:
        if served == "file":
            base = built.site.as_uri()
        watched = watch(base)
        page = watched.page
        for name in ("severity.html", "escalation.html"):
            page.goto(f"{base}/{name}")
            page.wait_for_function(f"() => ({SVG_IN_DIAGRAMS})().length > 0 && ({SVG_IN_DIAGRAMS})().every(Boolean)")
        page.goto(f"{base}/index.html")
        links = _search(page, built.generator, "failover")
        assert any("runbooks/" in link for link in links)
        assert watched.external == []
        assert [e for e in watched.errors if "favicon" not in e] == []


def _search(page: Any, generator: str, query: str) -> list[str]:
    """Type a query into the site's search; the result links."""
    if generator != "zensical":
        results = search(page, query)
        return [results.nth(i).get_attribute("href") or "" for i in range(results.count())]
    # Zensical's search is a dialog in a closed shadow root (opened by the fixture's init script).
    script = """() => Array.from(document.querySelectorAll('*')).filter(e => e.shadowRoot)
        .flatMap(e => Array.from(e.shadowRoot.querySelectorAll('a[href]'))).map(a => a.getAttribute('href'))"""
    page.click(".md-search__button")
    page.keyboard.type(query, delay=20)
    page.wait_for_function(f"() => ({script})().length > 0", timeout=30_000)
    links: list[str] = page.evaluate(script)
    return links


# ---------------------------------------------------------------------------------------------- what is not kept


def test_properdocs_strict_failure_keeps_the_last_good_site(tmp_path: Path) -> None:
    project = copy_site_project(tmp_path / "project")
    (project / "mkdocs.yml").rename(project / "properdocs.yml")
    result, _ = run([str(BIN / "properdocs"), "build"], project)
    assert result.returncode == 0, result.stderr
    before = (project / "site" / "about.html").read_bytes()
    (project / "docs" / "about.md").write_text("# About\n\n[broken](nowhere.md)\n", encoding="utf-8")
    result, _ = run([str(BIN / "properdocs"), "build", "--strict"], project)
    assert result.returncode != 0
    assert (project / "site" / "about.html").read_bytes() == before


def test_init_scaffolds_a_properdocs_site_that_builds(tmp_path: Path) -> None:
    from runbinder.cli import main

    target = tmp_path / "site"
    assert main(["init", str(target), "--generator", "properdocs"]) == 0
    assert (target / "properdocs.yml").is_file()
    assert not (target / "mkdocs.yml").exists()
    result, _ = run([str(BIN / "properdocs"), "build", "--strict"], target)
    assert result.returncode == 0, result.stderr
    assert "legacy" not in result.stderr.lower()
    assert (target / "site" / "runbooks" / "web-api-high-error-rate.html").is_file()
