"""The injection corpus, end to end: every hostile payload in every text field of the bundled runbooks, built by
the real `mkdocs build`, loaded in real Chromium with alert/confirm/prompt hooked, every handler fired and every
script link clicked; printed into a real binder. Zero executions, zero requests leaving the site, no file read.

Also the second walls on their own: the Content-Security-Policy stops an inline script that the first wall let
through (a hand-written page's raw HTML stands in for a sanitizer bypass), and the binder's browser reads nothing
but the binder's own files with the sanitizer switched off.
"""

from __future__ import annotations

import functools
import http.server
import itertools
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from runbinder.loader import is_catalog, iter_yaml_files
from runbinder.schemas import is_valid
from runbinder.validate import load_project

from .conftest import ROOT, mkdocs_build, serve_directory
from .hostile import EMAIL_PAYLOADS, MARKDOWN_PAYLOADS, PLAIN_PAYLOADS, SENTINEL, URL_PAYLOADS

FILE_SENTINEL = f"{SENTINEL}-secret-file-content"

HOOKS = """
window.__pwned = [];
for (const name of ["alert", "confirm", "prompt", "print", "open"]) {
  window[name] = (...args) => { window.__pwned.push(name + "(" + args.join(",") + ")"); };
}
"""

# Everything that could run or load: inline handlers, embedding elements, script-capable URLs.
INSPECT = """
() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      if (/^on/i.test(attr.name)) found.push(`${el.tagName} ${attr.name}`);
    }
    if (["IFRAME", "FRAME", "OBJECT", "EMBED", "PORTAL"].includes(el.tagName)) found.push(el.tagName);
  }
  for (const a of document.querySelectorAll("a[href], area[href]")) {
    if (["javascript:", "data:", "vbscript:"].includes(a.protocol)) found.push(`link ${a.href.slice(0, 80)}`);
  }
  return found;
}
"""

# Fire every inline handler there is (there should be none) and click every script link (there should be none).
FIRE = """
() => {
  let fired = 0;
  for (const el of document.querySelectorAll("*")) {
    for (const attr of Array.from(el.attributes)) {
      if (/^on/i.test(attr.name)) { el.dispatchEvent(new Event(attr.name.slice(2))); fired++; }
    }
  }
  for (const a of document.querySelectorAll("a[href]")) {
    if (a.protocol === "javascript:") { a.click(); fired++; }
  }
  return fired;
}
"""


class _Counting(http.server.SimpleHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def canary() -> Iterator[tuple[str, list[str]]]:
    """A loopback server that nothing may ever ask for: its URL is planted in the payloads."""
    hits: list[str] = []
    handler = functools.partial(type("Canary", (_Counting,), {"hits": hits}))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def _payloads(secret: Path, canary_url: str) -> list[tuple[str, str]]:
    """The corpus with a secret file to read and a canary URL to load planted in it."""
    extra = [
        ("canary-image", f"![pixel]({canary_url}/remote-image.png)"),
        ("canary-tag", f'<img src="{canary_url}/raw-img.png">'),
        ("canary-link", f"[a link is fine]({canary_url}/clicked-only)"),
    ]
    every = MARKDOWN_PAYLOADS + PLAIN_PAYLOADS + URL_PAYLOADS + EMAIL_PAYLOADS + extra
    return [
        (kind, text.replace("/etc/passwd", str(secret)).replace("alert(1)", f"alert('{kind}')")) for kind, text in every
    ]


def _strings(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, (*path, i))
    elif isinstance(data, str):
        yield path


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def write_hostile_project(dest: Path, payloads: list[tuple[str, str]]) -> int:
    """The bundled runbooks with a payload in every free-text field the schemas accept one in; fields whose
    payload validation refuses (references, placeholders) keep their value. Returns how many fields were set."""
    shutil.copytree(ROOT / "runbooks", dest)
    cycle = itertools.cycle(payloads)
    injected: dict[Path, dict[tuple[Any, ...], Any]] = {}
    documents: dict[Path, Any] = {}
    for path in iter_yaml_files(dest):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        kind = "catalog" if is_catalog(path) else "runbook"
        done: dict[tuple[Any, ...], Any] = {}
        for field in list(_strings(data)):
            if field[-1] in ("id", "rule", "reason"):
                continue
            original = _get(data, field)
            _set(data, field, next(cycle)[1])
            if is_valid(kind, data) is False:
                _set(data, field, original)
            else:
                done[field] = original
        injected[path] = done
        documents[path] = data
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    for _ in range(20):  # put back what cross-reference checks refuse (undeclared placeholders and the like)
        project = load_project(dest, None, dest.parent)
        errors = [d for d in project.diagnostics if d.level == "error"]
        if not errors:
            break
        by_doc = {doc.display: doc for doc in project.documents}
        for error in errors:
            doc = by_doc[error.path]
            # A field whose own value the message names (a placeholder's declaration, which may come after the
            # text that uses it); else the nearest injected field at or before the error.
            named = [
                f
                for f, value in injected[doc.path].items()
                if isinstance(value, str) and f"{{{value}}}" in error.message
            ]
            if named:
                field = named[0]
            else:
                candidates = [(doc.locate(f)[0], f) for f in injected[doc.path]]
                before = [c for c in candidates if c[0] <= error.line] or candidates
                _, field = max(before, key=lambda c: c[0])
            if field in injected[doc.path]:
                _set(documents[doc.path], field, injected[doc.path].pop(field))
        for path, data in documents.items():
            path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        raise AssertionError(f"the hostile project does not validate: {errors[:5]}")
    return sum(len(fields) for fields in injected.values())


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory, canary: tuple[str, list[str]]) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("hostile")
    secret = root / "secret.env"
    secret.write_text(f"TOKEN={FILE_SENTINEL}\n", encoding="utf-8")
    project = root / "project"
    project.mkdir()
    count = write_hostile_project(project / "runbooks", _payloads(secret, canary[0]))
    shutil.copytree(ROOT / "docs", project / "docs")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    # A site that turns on the extensions an attacker would love: snippets that may read any file, emoji, marks.
    config = config.replace(
        "markdown_extensions:\n",
        "markdown_extensions:\n  - pymdownx.snippets:\n      base_path: ['/']\n      check_paths: false\n"
        "  - pymdownx.magiclink\n  - pymdownx.mark\n  - pymdownx.emoji\n  - md_in_html\n",
    )
    (project / "mkdocs.yml").write_text(config, encoding="utf-8")
    result = mkdocs_build(project)
    assert result.returncode == 0, result.stderr[-3000:]
    return project / "site", count


def test_the_corpus_reaches_every_kind_of_field(hostile_site: tuple[Path, int]) -> None:
    site, count = hostile_site
    assert count > 500  # hundreds of fields of every kind carry a payload
    runbook = (site / "runbooks").glob("*.html")
    assert any("svg onload" in page.read_text(encoding="utf-8") for page in runbook)


def test_no_file_is_read_into_the_site(hostile_site: tuple[Path, int]) -> None:
    site, _ = hostile_site
    leaked = [p.name for p in site.rglob("*") if p.is_file() and FILE_SENTINEL.encode() in p.read_bytes()]
    assert leaked == []


def test_hostile_site_is_inert_in_chromium(
    watch: Any, hostile_site: tuple[Path, int], canary: tuple[str, list[str]]
) -> None:
    site, _ = hostile_site
    canary_url, hits = canary
    problems: list[str] = []
    with serve_directory(site) as server:
        watched = watch(server)
        watched.page.add_init_script(HOOKS)
        pages = sorted(str(p.relative_to(site)) for p in site.rglob("*.html"))
        assert len(pages) > 50
        for name in pages:
            watched.page.goto(f"{server}/{name}", wait_until="load")
            watched.page.wait_for_timeout(50)
            found = watched.page.evaluate(INSPECT)
            fired = watched.page.evaluate(FIRE)
            pwned = watched.page.evaluate("window.__pwned")
            problems += [f"{name}: {item}" for item in found]
            problems += [f"{name}: executed {call}" for call in pwned]
            if fired:
                problems.append(f"{name}: {fired} handlers or script links fired")
        # Search shows titles and text from the index: search for payload text and look again.
        watched.page.goto(f"{server}/index.html", wait_until="load")
        from .test_browser import search

        for query in ("svg", "script", "onerror"):
            search(watched.page, query)
            problems += [f"search {query}: executed {c}" for c in watched.page.evaluate("window.__pwned")]
    assert problems == []
    assert [u for u in watched.external if not u.startswith(canary_url)] == []
    assert hits == [], "the canary server was asked for something"


def test_hostile_binder_reads_no_file_and_makes_no_request(
    hostile_site: tuple[Path, int], canary: tuple[str, list[str]], tmp_path: Path, chromium: str
) -> None:
    site, _ = hostile_site
    _, hits = canary
    output = tmp_path / "binder.pdf"
    result = subprocess.run(
        [sys.executable, "-m", "runbinder", "binder", str(site.parent / "runbooks"), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={"RUNBINDER_CHROMIUM": chromium, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = subprocess.run(["pdftotext", str(output), "-"], capture_output=True, text=True, check=True).stdout
    assert FILE_SENTINEL not in text
    assert "svg onload" in text  # the payloads are there, as text
    assert hits == []


@pytest.fixture(scope="module")
def chromium() -> str:
    from runbinder.binder import find_chromium

    found = find_chromium()
    if found is None:
        import os

        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no Chromium found")
        pytest.skip("no Chromium installed")
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    return found


# ------------------------------------------------------------------------------------------- second walls alone


def test_csp_blocks_inline_script_the_first_wall_let_through(watch: Any, tmp_path: Path) -> None:
    from .conftest import copy_site_project

    project = copy_site_project(tmp_path / "project")
    # A hand-written page's raw HTML reaches the page untouched: it stands in for a sanitizer bypass.
    (project / "docs" / "bypass.md").write_text(
        "# Bypass\n\n<script>alert('inline')</script>\n\n<img src=x onerror=\"alert('handler')\">\n\n"
        '<a href="javascript:alert(\'link\')" id="js">js</a>\n',
        encoding="utf-8",
    )
    result = mkdocs_build(project)
    assert result.returncode == 0, result.stderr[-2000:]
    site = project / "site"
    html = (site / "bypass.html").read_text(encoding="utf-8")
    assert "<script>alert('inline')</script>" in html  # the first wall really is out of the way here
    with serve_directory(site) as server:
        watched = watch(server)
        watched.page.add_init_script(HOOKS)
        watched.page.goto(f"{server}/bypass.html", wait_until="load")
        watched.page.click("#js")
        watched.page.wait_for_timeout(200)
        assert watched.page.evaluate("window.__pwned") == []
        assert any("Content Security Policy" in e for e in watched.errors), watched.errors
        # ...while the theme's own inline scripts still run (its localStorage helpers are defined by one).
        assert watched.page.evaluate("typeof __md_get") == "function"


SANITIZER_OFF = """
import sys
from pathlib import Path
from runbinder import safe
from runbinder.binder import BinderOptions, make_binder
from runbinder.validate import load_project

# Switch the first wall off: Markdown fields come through as raw HTML, fragments are not cleaned.
safe.markdown_html = lambda text, context=None, page=False: str(text)
safe.sanitize = lambda fragment, page=False: fragment
runbooks, output, chromium, attack = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
assert "<iframe" in safe.FRAGMENTS.inline(safe.block(attack, safe.LinkContext())), "the wall is not off"
project = load_project(runbooks, None, runbooks.parent)
assert not [d for d in project.diagnostics if d.level == "error"], project.diagnostics
make_binder(project.index, output, BinderOptions(chromium=chromium))
"""


def test_binder_browser_reads_only_its_own_files_with_the_sanitizer_off(
    tmp_path: Path, canary: tuple[str, list[str]], chromium: str
) -> None:
    canary_url, hits = canary
    before = len(hits)
    secret = tmp_path / "secret.txt"
    secret.write_text(FILE_SENTINEL, encoding="utf-8")
    attack = (
        f'<iframe src="{secret.as_uri()}"></iframe><object data="{secret.as_uri()}"></object>'
        f'<embed src="{secret.as_uri()}"><img src="{canary_url}/img.png">'
        f'<link rel="stylesheet" href="{canary_url}/s.css">'
        f'<iframe src="data:text/html,&lt;iframe src={secret.as_uri()}&gt;&lt;/iframe&gt;"></iframe>'
        f'<iframe srcdoc="&lt;iframe src={secret.as_uri()}&gt;&lt;/iframe&gt;"></iframe>'
        f"<script>fetch('{canary_url}/fetch'); document.write('<iframe src={secret.as_uri()}></iframe>')</script>"
        f'<video src="{canary_url}/v.mp4"></video><audio src="{canary_url}/a.mp3"></audio>'
        f'<svg><image href="{secret.as_uri()}"></image></svg>'
    )
    runbooks = tmp_path / "runbooks"
    shutil.copytree(ROOT / "tests" / "cases" / "valid" / "minimal", runbooks, ignore=shutil.ignore_patterns("*.txt"))
    shutil.copy2(ROOT / "tests" / "cases" / "base-catalog.yaml", runbooks / "catalog.yaml")
    runbook = next(p for p in runbooks.glob("*.yaml") if not is_catalog(p))
    data = yaml.safe_load(runbook.read_text(encoding="utf-8"))
    data["summary"] = attack
    runbook.write_text(yaml.safe_dump(data), encoding="utf-8")
    output = tmp_path / "binder.pdf"
    result = subprocess.run(
        [sys.executable, "-c", SANITIZER_OFF, str(runbooks), str(output), chromium, attack],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = subprocess.run(["pdftotext", str(output), "-"], capture_output=True, text=True, check=True).stdout
    assert FILE_SENTINEL not in text
    assert hits[before:] == []
    # A page that tries to leave (a refresh to the file) is refused, and the binder says so at once.
    data["summary"] = f'<meta http-equiv="refresh" content="0;url={secret.as_uri()}">Leaving'
    runbook.write_text(yaml.safe_dump(data), encoding="utf-8")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", SANITIZER_OFF, str(runbooks), str(tmp_path / "left.pdf"), chromium, "<iframe>"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "tried to leave for file:" in result.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "left.pdf").exists()
