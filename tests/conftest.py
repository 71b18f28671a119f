"""Shared fixtures: the repository root and a scratch project builder."""

from __future__ import annotations

import functools
import gc
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from runbinder.binder import CHROMIUM_ARGS, find_chromium

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).resolve().parent / "cases"


def build_project(case: Path, dest: Path) -> Path:
    """Copy a case into ``dest/runbooks`` with the base catalog unless the case has its own (or none)."""
    runbooks = dest / "runbooks"
    runbooks.mkdir(parents=True)
    for item in sorted(case.iterdir()):
        if item.name in ("expected.txt", "args", "no-catalog"):
            continue
        if item.is_dir():
            shutil.copytree(item, runbooks / item.name)
        else:
            shutil.copy2(item, runbooks / item.name)
    if not (case / "catalog.yaml").exists() and not (case / "no-catalog").exists():
        shutil.copy2(CASES / "base-catalog.yaml", runbooks / "catalog.yaml")
    return runbooks


@pytest.fixture
def repo_root() -> Path:
    return ROOT


def copy_site_project(dest: Path) -> Path:
    """A copy of this repository's site sources (mkdocs.yml, runbooks/, docs/) to build without touching ours."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copytree(ROOT / "runbooks", dest / "runbooks")
    shutil.copytree(ROOT / "docs", dest / "docs")
    return dest


def mkdocs_build(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the real `mkdocs build` in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", *extra],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "SOURCE_DATE_EPOCH": "1795305600"},
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example site, built once per test session with --strict."""
    project = copy_site_project(tmp_path_factory.mktemp("site-project"))
    result = mkdocs_build(project, "--strict")
    assert result.returncode == 0, result.stderr
    return project / "site"


# The golden cases are inputs of the validator tests, not runbooks of this repository.
collect_ignore_glob = ["cases/*", "golden/*"]


# ---------------------------------------------------------------- real browser (Debian's chromium via Playwright)

# Material renders mermaid into a *closed* shadow root; open it so the test can see the SVG.
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { return attach.call(this, {...init, mode: "open"}); };
"""


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no Chromium found: .ci/run must install Debian's chromium")
        pytest.skip("no Chromium installed (apt-get install chromium, or set RUNBINDER_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def watch(browser: Any) -> Iterator[Any]:
    """Open watched pages; their browser contexts are closed even when a test fails."""
    opened: list[Watched] = []

    def open_page(allowed_prefix: str) -> Watched:
        opened.append(Watched(browser, allowed_prefix))
        return opened[-1]

    yield open_page
    for watched in opened:
        watched.context.close()


class Watched:
    """A page that blocks and records non-local requests and collects console errors."""

    def __init__(self, browser: Any, allowed_prefix: str) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.external: list[str] = []
        self.errors: list[str] = []
        self.page.add_init_script(OPEN_SHADOW_ROOTS)
        self.page.route("**/*", self._route(allowed_prefix))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, allowed_prefix: str) -> Any:
        def handle(route: Any) -> None:
            url = route.request.url
            if url.startswith(allowed_prefix) or url.startswith(("data:", "blob:")):
                route.continue_()
            else:
                self.external.append(url)
                route.abort()

        return handle


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """A static file server on loopback for the duration of the block; yields its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the runbook pages made from now on (not remembered, not read back), in order."""
    from runbinder.render import site

    ids: list[str] = []
    real = site.runbook

    def counting(renderer: Any, rb: Any) -> Any:
        ids.append(rb["id"])
        return real(renderer, rb)

    monkeypatch.setattr(site, "runbook", counting)
    return ids


@pytest.fixture(autouse=True, scope="session")
def _user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user's cache folder (where the key that signs kept pages lives) is the test session's own, also for the
    builds tests run in subprocesses: no test writes into the home of whoever runs them."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(autouse=True)
def _one_process_per_server() -> Iterator[None]:
    """A test that plays `mkdocs serve` in this process makes it defer cache writes, as a server does for its life:
    the next test starts as a fresh process would."""
    yield
    import runbinder.checks.cache as cache

    cache._DEFERRED = None
    gc.unfreeze()  # a build run as `mkdocs build` leaves its project frozen for the exit that follows it
