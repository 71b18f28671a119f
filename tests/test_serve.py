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
