"""`mkdocs serve` rebuilds a runbook's page when its YAML changes (the plugin watches runbooks/)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from .conftest import CASES, build_project


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
            return str(response.read().decode("utf-8"))
    except OSError:
        return ""


def _wait_for(url: str, needle: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if needle in _fetch(url):
            return True
        time.sleep(0.3)
    return False


def test_serve_reloads_when_a_runbook_changes(tmp_path: Path) -> None:
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "mkdocs.yml").write_text(
        "site_name: Serve test\nuse_directory_urls: false\ntheme: {name: material, font: false}\n"
        "plugins: [search, runbinder]\n",
        encoding="utf-8",
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/runbooks/payments-down.html"
    try:
        assert _wait_for(url, "Payments API down", time.monotonic() + 120), "first build never served"
        page = runbooks / "payments-down.yaml"
        page.write_text(page.read_text().replace("Payments API down", "Payments API is down hard"))
        assert _wait_for(url, "Payments API is down hard", time.monotonic() + 120), "page was not rebuilt"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.communicate(timeout=30)


def _html_mtimes(site: Path) -> dict[str, int]:
    return {p.relative_to(site).as_posix(): p.stat().st_mtime_ns for p in site.rglob("*.html")}


def test_dirty_rebuild_rewrites_only_the_pages_whose_content_changed(tmp_path: Path) -> None:
    """Under `mkdocs serve --dirty` one plugin instance lives through every rebuild: unchanged runbooks are not
    parsed again, and pages whose generated Markdown did not change are not rebuilt."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    from .conftest import copy_site_project

    project = copy_site_project(tmp_path / "project")
    site = tmp_path / "site"

    def rebuild() -> object:
        config = load_config(str(project / "mkdocs.yml"), site_dir=str(site))
        config.plugins.on_startup(command="serve", dirty=True)
        build(config, dirty=True)
        return config.plugins["runbinder"]

    import jinja2

    compiled: list[str | None] = []
    compile_template = jinja2.Environment.compile

    def compiling(env: jinja2.Environment, source: str, name: str | None = None, *args: object) -> object:
        compiled.append(name)
        return compile_template(env, source, name, *args)  # type: ignore[call-overload]

    jinja2.Environment.compile = compiling  # type: ignore[assignment,method-assign]
    try:
        first = rebuild()
        assert "main.html" in compiled
        compiled.clear()
        rebuild()  # nothing changed
        assert "main.html" not in compiled  # the theme's templates are compiled once a process (on_env)
    finally:
        jinja2.Environment.compile = compile_template  # type: ignore[method-assign]
    before = _html_mtimes(site)
    runbooks = sorted((project / "runbooks" / "authos-api").glob("authos-api-*.yaml"))
    edited = runbooks[0]
    text = edited.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    edited.write_text(text.replace(data["title"], f"{data['title']} (edited while serving)", 1), encoding="utf-8")
    kept = {id(d) for d in first.project.documents}  # type: ignore[attr-defined]
    time.sleep(0.05)

    second = rebuild()
    assert second is first  # MkDocs reuses the plugin instance between serve rebuilds
    reloaded = [d for d in second.project.documents if id(d) not in kept]  # type: ignore[attr-defined]
    assert [d.path.name for d in reloaded] == [edited.name]  # only the edited file was parsed again

    after = _html_mtimes(site)
    rewritten = {page for page, mtime in after.items() if before.get(page) != mtime}
    page = f"runbooks/{edited.stem}.html"
    assert page in rewritten
    assert "(edited while serving)" in (site / page).read_text(encoding="utf-8")
    linking = {f"runbooks/{p.stem}.html" for p in runbooks[1:] if edited.stem in p.read_text(encoding="utf-8")}
    assert linking  # a runbook that links to the edited one shows the new title too
    assert linking <= rewritten
    other_runbooks = {p for p in before if p.startswith("runbooks/") and p != page} - linking - {"runbooks/index.html"}
    assert len(other_runbooks) >= 30
    assert sorted(rewritten & other_runbooks) == []  # their Markdown did not change
    # The new title also shows on the pages that list or link to this runbook, and only there.
    assert {"runbooks/index.html", "services/authos-api.html", "alerts.html"} <= rewritten
    assert len(rewritten) < len(before) // 3
