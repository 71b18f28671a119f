"""`runbinder check --online` against HTTP servers on loopback only: 200, redirect loop, 404, 429 then 200,
a slow server, HEAD refused, the cache and skipped hosts."""

from __future__ import annotations

import http.server
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbinder.checks.links import OnlineOptions, fetch
from runbinder.cli import main

from .conftest import CASES, build_project

HITS: Counter[str] = Counter()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self) -> None:
        HITS[self.path] += 1
        if self.path == "/ok":
            self.send_response(200)
        elif self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
        elif self.path == "/missing":
            self.send_response(404)
        elif self.path == "/busy":
            if HITS[self.path] == 1:
                self.send_response(429)
                self.send_header("Retry-After", "0")
            else:
                self.send_response(200)
        elif self.path == "/slow":
            time.sleep(1.5)
            self.send_response(200)
        elif self.path == "/get-only":
            self.send_response(405 if self.command == "HEAD" else 200)
        else:
            self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = _answer
    do_HEAD = _answer


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _reset() -> None:
    HITS.clear()


def _options(tmp_path: Path) -> OnlineOptions:
    return OnlineOptions(timeout=0.5, retries=2, backoff=0.01, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("path", "ok", "detail"),
    [
        ("/ok", True, "HTTP 200"),
        ("/missing", False, "HTTP 404"),
        ("/loop", False, "redirect loop or too many redirects (HTTP 302)"),
        ("/busy", True, "HTTP 200"),
        ("/get-only", True, "HTTP 200"),
    ],
)
def test_fetch(base_url: str, tmp_path: Path, path: str, ok: bool, detail: str) -> None:
    outcome = fetch(base_url + path, _options(tmp_path))
    assert (outcome.ok, outcome.detail) == (ok, detail)


def test_retry_waits_as_told(base_url: str, tmp_path: Path) -> None:
    waits: list[float] = []
    assert fetch(base_url + "/busy", _options(tmp_path), sleep=waits.append).ok
    assert waits == [0.0]
    assert HITS["/busy"] == 2


def test_slow_server_times_out(base_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = fetch(base_url + "/slow", _options(tmp_path))
    assert not outcome.ok
    assert outcome.detail.startswith("no answer: ")
    assert time.monotonic() - started < 1.4  # gave up at the timeout, not when the server answered


def _project(tmp_path: Path, urls: list[str]) -> Path:
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    links = "".join(f"  - title: Link {i}\n    url: {url}\n" for i, url in enumerate(urls))
    page = runbooks / "payments-down.yaml"
    page.write_text(page.read_text() + 'last_reviewed: "2099-01-01"\nreferences:\n' + links)
    return runbooks


def test_check_online_reports_dead_links_and_caches(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path, [f"{base_url}/ok", f"{base_url}/missing", f"{base_url}/loop", "https://docs.example.com/x"])
    monkeypatch.chdir(tmp_path)
    args = ["check", "--select", "link", "--online", "--timeout", "2", "--cache-dir", "cache", "runbooks"]
    assert main(args) == 1
    out = capsys.readouterr().out.replace(base_url, "URL")
    assert out.splitlines() == [
        "runbooks/payments-down.yaml:20:10: error: URL/missing: HTTP 404 (link.dead)",
        "runbooks/payments-down.yaml:22:10: error: URL/loop: redirect loop or too many redirects (HTTP 302)"
        " (link.dead)",
    ]
    first = sum(HITS.values())
    assert HITS["/ok"] == 1
    assert main(args) == 1  # the second run answers from .runbinder-cache
    assert sum(HITS.values()) == first
    assert (tmp_path / "cache" / "links.json").is_file()
    capsys.readouterr()
    assert main([*args, "--cache-ttl", "0"]) == 1  # expired: asked again
    assert HITS["/ok"] == 2


def test_skipped_hosts_are_never_fetched(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path, [f"{base_url}/missing"])
    monkeypatch.chdir(tmp_path)
    assert (
        main(["check", "--select", "link", "--online", "--skip-host", "127.0.0.1", "--cache-dir", "cache", "runbooks"])
        == 0
    )
    assert sum(HITS.values()) == 0
    assert capsys.readouterr().out == ""
