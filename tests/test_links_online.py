"""`runbinder check --online` against HTTP servers on loopback only: 200, redirect loop, too many redirects,
404, 429 then 200, a slow server, HEAD refused, proxies, the cache (corrupt, unwritable, shared) and skipped
hosts. Servers that attack the client are in test_links_hostile.py."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from runbinder.checks import Item, links
from runbinder.checks.links import LinkCache, OnlineOptions, Outcome, check_online, fetch, link_items
from runbinder.cli import main
from runbinder.diagnostics import Diagnostic
from runbinder.validate import load_project

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
        elif self.path.startswith("/hop/"):  # an endless chain of distinct URLs
            self.send_response(302)
            self.send_header("Location", f"/hop/{int(self.path[5:]) + 1}")
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
    assert (outcome.ok, outcome.detail) == (False, "no answer within 0.5 s (reading the answer)")
    assert time.monotonic() - started < 1.4  # gave up at the timeout, not when the server answered


def test_too_many_redirects(base_url: str, tmp_path: Path) -> None:
    outcome = fetch(base_url + "/hop/0", _options(tmp_path))
    assert (outcome.ok, outcome.detail) == (False, "redirect loop or too many redirects (HTTP 302)")
    assert sum(n for path, n in HITS.items() if path.startswith("/hop/")) == 11  # the URL, then 10 redirects


def _project(tmp_path: Path, urls: list[str]) -> Path:
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    links = "".join(f"  - title: Link {i}\n    url: {json.dumps(url)}\n" for i, url in enumerate(urls))
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


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(
    "args",
    [["--timeout", "0"], ["--timeout", "-1"], ["--timeout", "nan"], ["--timeout", "inf"], ["--cache-ttl", "-1"]],
)
def test_durations_that_no_timer_can_take_are_usage_errors(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--online", *args, "runbooks"])
    assert exit_info.value.code == 2
    assert f"not a {'positive' if args[0] == '--timeout' else 'non-negative'} number" in capsys.readouterr().err


# ---------------------------------------------------------------- proxies (the environment's, as urllib used them)


class ProxyHandler(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self.seen.append(self.requestline)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_CONNECT(self) -> None:
        self.seen.append(self.requestline)
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), ProxyHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for name in ("no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", url)
    monkeypatch.setenv("https_proxy", url)
    ProxyHandler.seen = []
    yield url
    server.shutdown()
    server.server_close()


def test_http_goes_through_the_proxy_with_the_host_in_ascii(proxy: str, tmp_path: Path) -> None:
    # No name is resolved here: the proxy is asked, by address, for the absolute URL.
    outcome = fetch("http://例え.jp/ok?q=é", _options(tmp_path))
    assert (outcome.ok, outcome.detail) == (True, "HTTP 200")
    assert ProxyHandler.seen == ["HEAD http://xn--r8jz45g.jp/ok?q=%C3%A9 HTTP/1.1"]


def test_https_asks_the_proxy_for_a_tunnel(proxy: str, tmp_path: Path) -> None:
    outcome = fetch("https://docs.runbinder.invalid/x", _options(tmp_path))
    assert (outcome.ok, outcome.detail) == (False, "no answer: the proxy refused the tunnel: HTTP 403")
    assert ProxyHandler.seen == ["CONNECT docs.runbinder.invalid:443 HTTP/1.1"]


def test_loopback_never_goes_through_a_proxy(proxy: str, base_url: str, tmp_path: Path) -> None:
    assert fetch(base_url + "/ok", _options(tmp_path)).ok
    assert ProxyHandler.seen == []
    assert HITS["/ok"] == 1


# ---------------------------------------------------------------- the cache


def _items(tmp_path: Path, urls: list[str]) -> list[Item]:
    runbooks = _project(tmp_path, urls)
    return link_items(load_project(runbooks, None, tmp_path))


def _check(items: list[Item], cache_dir: Path) -> links.OnlineReport:
    return check_online(items, OnlineOptions(timeout=2, retries=0, cache_dir=cache_dir))


def _messages(report: links.OnlineReport) -> list[str]:
    return [d.message for found in report.findings.values() for d in found]


def _entry(at: object, **fields: object) -> Callable[[str], bytes]:
    return lambda url: json.dumps({url: {"ok": True, "detail": "HTTP 200", "at": at, **fields}}).encode()


def _without(key: str) -> Callable[[str], bytes]:
    return lambda url: json.dumps({url: {k: v for k, v in {"ok": True, "detail": "x", "at": 1}.items() if k != key}})


CORRUPT: dict[str, tuple[Callable[[str], bytes | str], str]] = {
    "array": (lambda url: b"[]", "a JSON array, not an object"),
    "null": (lambda url: b"null", "a JSON null, not an object"),
    "string": (lambda url: b'"links"', "a JSON string, not an object"),
    "not JSON": (lambda url: b"{oops", "not JSON: Expecting property name enclosed in double quotes"),
    "not UTF-8": (lambda url: b"\x80{}", "not JSON: 'utf-8' codec can't decode byte 0x80"),
    "nested too deep to parse": (lambda url: b"[" * 200_000, "not JSON: maximum recursion depth exceeded"),
    "empty": (lambda url: b"", "not JSON: Expecting value: line 1 column 1 (char 0)"),
    "timestamp not a number": (_entry("yesterday"), "entry '{url}': 'at' is missing or not a time"),
    "timestamp NaN": (lambda url: f'{{"{url}": {{"ok": true, "detail": "x", "at": NaN}}}}', "entry '{url}': 'at'"),
    "timestamp true": (_entry(True), "entry '{url}': 'at' is missing or not a time"),
    "timestamp infinite": (_entry(float("inf")), "entry '{url}': 'at' is missing or not a time"),
    "timestamp beyond a float": (_entry(10**400), "entry '{url}': 'at' is missing or not a time"),
    "no timestamp": (_without("at"), "entry '{url}': 'at' is missing or not a time"),
    "no detail": (_without("detail"), "entry '{url}': 'detail' is missing or not a str"),
    "ok not a boolean": (_entry(1, ok="yes"), "entry '{url}': 'ok' is missing or not a bool"),
    "entry not an object": (lambda url: json.dumps({url: 3, "other": None}), "entry '{url}': not an object and 1 more"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_a_corrupt_cache_is_reported_once_and_rebuilt(base_url: str, tmp_path: Path, case: str) -> None:
    url = f"{base_url}/missing"
    items = _items(tmp_path, [url])
    content, reason = CORRUPT[case]
    cache = tmp_path / "cache" / "links.json"
    cache.parent.mkdir()
    written = content(url)
    cache.write_bytes(written if isinstance(written, bytes) else written.encode())
    report = _check(items, cache.parent)
    [warning] = report.warnings
    assert (warning.path, warning.line, warning.col, warning.level, warning.rule) == (
        str(cache),
        0,
        0,
        "warning",
        "link.cache",
    )
    assert warning.message.startswith(f"links cache was unreadable ({reason.format(url=url)}")
    assert warning.message.endswith("); rebuilt")
    assert _messages(report) == [f"{url}: HTTP 404"]  # not the cached "HTTP 200": nothing corrupt is trusted
    assert HITS["/missing"] == 1
    assert json.loads(cache.read_text())[url]["detail"] == "HTTP 404"
    again = _check(items, cache.parent)
    assert (again.warnings, _messages(again), HITS["/missing"]) == ([], [f"{url}: HTTP 404"], 1)


def test_an_entry_dated_in_the_future_counts_as_absent(base_url: str, tmp_path: Path) -> None:
    url = f"{base_url}/missing"
    items = _items(tmp_path, [url])
    cache = tmp_path / "cache" / "links.json"
    cache.parent.mkdir()
    cache.write_bytes(_entry(time.time() + 10**9)(url))
    report = _check(items, cache.parent)
    assert (report.warnings, _messages(report), HITS["/missing"]) == ([], [f"{url}: HTTP 404"], 1)
    assert json.loads(cache.read_text())[url]["at"] <= time.time()


def test_a_directory_in_place_of_the_cache_is_one_warning(base_url: str, tmp_path: Path) -> None:
    url = f"{base_url}/missing"
    cache = tmp_path / "cache" / "links.json"
    cache.mkdir(parents=True)
    report = _check(_items(tmp_path, [url]), cache.parent)
    assert report.warnings == [
        Diagnostic(
            str(cache),
            0,
            0,
            "warning",
            "links cache was unreadable (Is a directory) and could not be rebuilt (Is a directory)",
            "link.cache",
        )
    ]
    assert _messages(report) == [f"{url}: HTTP 404"]
    assert [p.name for p in cache.parent.iterdir()] == ["links.json"]  # no temporary file left behind


def test_an_unreadable_cache_file_is_rebuilt(base_url: str, tmp_path: Path) -> None:
    url = f"{base_url}/ok"
    cache = tmp_path / "cache" / "links.json"
    cache.parent.mkdir()
    cache.symlink_to(cache.name)  # a link to itself: opening it fails, whoever runs the test (root reads 0o000)
    report = _check(_items(tmp_path, [url]), cache.parent)
    assert [w.message for w in report.warnings] == [
        "links cache was unreadable (Too many levels of symbolic links); rebuilt"
    ]
    assert not cache.is_symlink()
    assert json.loads(cache.read_text())[url]["ok"] is True


def test_a_cache_directory_that_is_a_file_is_one_warning(base_url: str, tmp_path: Path) -> None:
    url = f"{base_url}/missing"
    (tmp_path / "cache").write_text("not a directory")
    report = _check(_items(tmp_path, [url]), tmp_path / "cache")
    assert [w.message for w in report.warnings] == [
        "links cache was unreadable (Not a directory) and could not be rebuilt (File exists)"
    ]
    assert _messages(report) == [f"{url}: HTTP 404"]


def test_a_cache_directory_that_vanishes_while_saving_is_one_warning(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"{base_url}/missing"
    cache_dir = tmp_path / "cache"
    replace = os.replace

    def vanish_first(src: str, dst: Path) -> None:
        shutil.rmtree(cache_dir)  # another run's clean-up, or a CI cache restored at the wrong moment
        replace(src, dst)

    monkeypatch.setattr(links.os, "replace", vanish_first)
    report = _check(_items(tmp_path, [url]), cache_dir)
    assert [w.message for w in report.warnings] == [
        "links cache could not be written (No such file or directory); results of this run were not kept"
    ]
    assert _messages(report) == [f"{url}: HTTP 404"]


def test_two_runs_saving_at_once_leave_one_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "links.json"
    writers = [LinkCache(path.parent, ttl=3600) for _ in range(2)]
    for n, cache in enumerate(writers):
        for i in range(300):  # big enough that a write is not one system call
            cache.put(f"https://docs.runbinder.test/{n}/{i}", Outcome(n == 0, "x" * 50))
    failures: list[str | None] = []
    done = threading.Event()

    def save_often(cache: LinkCache) -> None:
        for _ in range(30):
            failures.append(cache.save())

    def read_often() -> None:
        while not done.is_set():
            reader = LinkCache(path.parent, ttl=3600)
            failures.append(reader.problem)

    threads = [threading.Thread(target=save_often, args=(cache,)) for cache in writers]
    reader = threading.Thread(target=read_often)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert set(failures) == {None}  # no save failed and no reader ever saw a partial file
    assert json.loads(path.read_text()) in ({**writers[0].entries}, {**writers[1].entries})
    assert [p.name for p in path.parent.iterdir()] == ["links.json"]


def test_check_online_prints_the_cache_warning(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _project(tmp_path, [f"{base_url}/missing"])
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "links.json").write_text("[]")
    monkeypatch.chdir(tmp_path)
    args = ["check", "--select", "link", "--online", "--timeout", "2", "--cache-dir", "cache", "runbooks"]
    assert main(args) == 1
    out = capsys.readouterr().out.replace(base_url, "URL")
    assert out.splitlines() == [
        "cache/links.json:0:0: warning: links cache was unreadable (a JSON array, not an object); rebuilt (link.cache)",
        "runbooks/payments-down.yaml:18:10: error: URL/missing: HTTP 404 (link.dead)",
    ]
    assert main(args) == 1  # rebuilt: said once, not on every run
    assert "link.cache" not in capsys.readouterr().out
    assert main([*args, "--ignore", "link.cache"]) == 1
