"""`runbinder check --online` against servers that attack the client, all on 127.0.0.1 and started here.

Each server drips, floods, lies or never answers. Whatever it does, the URL gets its own finding within its
deadline (plus slack for a loaded CI machine), check_online never raises and the other links are checked too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runbinder.checks import Item
from runbinder.checks.links import OnlineOptions, OnlineReport, check_online, fetch, link_items
from runbinder.validate import load_project

from .conftest import CASES, build_project

DEADLINE = 1.0
BOUND = 10.0  # the deadline and generous slack: a 2-core CI machine under load is slow, not 10x slow
GIVE_UP = 60.0  # a server that is never stopped still stops: a regression fails the bound instead of hanging

Behaviour = Callable[["Hostile", socket.socket, str], None]


class Hostile:
    """A raw-socket server on 127.0.0.1: reads each request's head, then lets ``behaviour`` answer (or not)."""

    def __init__(self, behaviour: Behaviour, tls_url: bool = False) -> None:
        self.behaviour = behaviour
        self.reads_request = not tls_url  # a TLS client sends a hello, never an HTTP head this server could read
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        port = self.listener.getsockname()[1]
        self.url = f"{'https' if tls_url else 'http'}://127.0.0.1:{port}"
        self.stop = threading.Event()
        self.requests: list[str] = []
        self.sent = 0  # bytes of body the kernel took from us
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._connections.append(conn)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(5)
                head = b""
                while self.reads_request and b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                line = head.split(b"\r\n", 1)[0].decode("latin-1")
                with self._lock:
                    self.requests.append(line)
                self.behaviour(self, conn, line)
            except OSError:
                pass  # the client hung up, or was made to: that is what these tests provoke

    def wait(self, seconds: float = GIVE_UP) -> None:
        """Hold the connection open, saying nothing, until the test ends."""
        self.stop.wait(seconds)

    def drip(self, conn: socket.socket, start: bytes, forever: bytes) -> None:
        """``start``, then ``forever`` over and over, one byte every 50 ms: each read gets a byte in time."""
        conn.sendall(start)
        started = time.monotonic()
        while not self.stop.wait(0.05) and time.monotonic() - started < GIVE_UP:
            conn.sendall(forever[:1])
            forever = forever[1:] + forever[:1]

    def settle(self, seconds: float) -> None:
        """Wait until every connection so far is over (its behaviour returned), at most ``seconds``."""
        end = time.monotonic() + seconds
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(end - time.monotonic(), 0.0))

    def close(self) -> None:
        self.stop.set()
        self._acceptor.join()
        with self._lock:
            connections, threads = list(self._connections), list(self._threads)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by its thread
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join()
        self.listener.close()


Serve = Callable[..., Hostile]


@pytest.fixture
def serve() -> Iterator[Serve]:
    servers: list[Hostile] = []

    def start(behaviour: Behaviour, tls_url: bool = False) -> Hostile:
        servers.append(Hostile(behaviour, tls_url))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def answer(status: str, *headers: str) -> Behaviour:
    """A complete head with no body."""

    def behaviour(server: Hostile, conn: socket.socket, line: str) -> None:
        conn.sendall(f"HTTP/1.1 {status}\r\n{''.join(h + chr(13) + chr(10) for h in headers)}\r\n".encode("latin-1"))

    return behaviour


def head_refused(then: Behaviour) -> Behaviour:
    """405 to HEAD, so the client must GET, and the body matters."""

    def behaviour(server: Hostile, conn: socket.socket, line: str) -> None:
        if line.startswith("HEAD "):
            answer("405 Method Not Allowed", "Content-Length: 0")(server, conn, line)
        else:
            then(server, conn, line)

    return behaviour


# ---------------------------------------------------------------- the cases: a server, and the expected finding

CaseBuilder = Callable[[Serve], tuple[str, str | None]]
HOSTILE: dict[str, CaseBuilder] = {}


def case(name: str) -> Callable[[CaseBuilder], CaseBuilder]:
    def register(build: CaseBuilder) -> CaseBuilder:
        HOSTILE[name] = build
        return build

    return register


TIMED_OUT = f"no answer within {DEADLINE:g} s (reading the answer)"


@case("slow drip in the status line")
def _(serve: Serve) -> tuple[str, str | None]:
    return serve(lambda s, conn, line: s.drip(conn, b"HTTP/1.1 200 ", forever=b"OK")).url, TIMED_OUT


@case("slow drip in the headers")
def _(serve: Serve) -> tuple[str, str | None]:
    return serve(lambda s, conn, line: s.drip(conn, b"HTTP/1.1 200 OK\r\nX-Slow: ", forever=b"a")).url, TIMED_OUT


@case("slow drip of whole header lines")
def _(serve: Serve) -> tuple[str, str | None]:
    return serve(lambda s, conn, line: s.drip(conn, b"HTTP/1.1 200 OK\r\n", forever=b"X-A: b\r\n")).url, TIMED_OUT


@case("slow drip in the body of a GET")
def _(serve: Serve) -> tuple[str, str | None]:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n"
    return serve(head_refused(lambda s, conn, line: s.drip(conn, head, forever=b"x"))).url, None  # body unread


@case("accepts and never answers")
def _(serve: Serve) -> tuple[str, str | None]:
    return serve(lambda s, conn, line: s.wait()).url, TIMED_OUT


@case("accepts a TLS connection and never answers")
def _(serve: Serve) -> tuple[str, str | None]:
    # The head this server waits for never comes (the client sends a TLS hello): it just holds the connection.
    return serve(lambda s, conn, line: s.wait(), tls_url=True).url, f"no answer within {DEADLINE:g} s (TLS handshake)"


@case("endless headers")
def _(serve: Serve) -> tuple[str, str | None]:
    def flood(server: Hostile, conn: socket.socket, line: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\n")
        while not server.stop.is_set():
            conn.sendall(b"X-Flood: yes\r\n" * 100)

    return serve(flood).url, "invalid answer: got more than 100 headers"


@case("a 70 KB header line")
def _(serve: Serve) -> tuple[str, str | None]:
    long_header = "X-Big: " + "a" * 70_000  # http.client reads at most 64 KiB per line
    return serve(
        answer("200 OK", long_header)
    ).url, "invalid answer: got more than 65536 bytes when reading header line"


@case("a status line that is not HTTP")
def _(serve: Serve) -> tuple[str, str | None]:
    def ssh(server: Hostile, conn: socket.socket, line: str) -> None:
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\x1b[2J\r\n")

    return serve(ssh).url, "not an HTTP answer: status line 'SSH-2.0-OpenSSH_9.6'"


@case("a 70 KB status line")
def _(serve: Serve) -> tuple[str, str | None]:
    def long_line(server: Hostile, conn: socket.socket, line: str) -> None:
        conn.sendall(b"HTTP/1.1 200 " + b"K" * 70_000 + b"\r\n\r\n")

    return serve(long_line).url, "invalid answer: got more than 65536 bytes when reading status line"


@case("redirect to file:")
def _(serve: Serve) -> tuple[str, str | None]:
    return serve(answer("302 Found", "Location: file:///etc/passwd")).url, (
        "redirected to a file: URL ('file:///etc/passwd'); only http and https are followed"
    )


@case("redirect to ftp:")
def _(serve: Serve) -> tuple[str, str | None]:
    return serve(answer("301 Moved Permanently", "Location: ftp://127.0.0.1/pub")).url, (
        "redirected to a ftp: URL ('ftp://127.0.0.1/pub'); only http and https are followed"
    )


@case("redirect to another loopback port")
def _(serve: Serve) -> tuple[str, str | None]:
    other = serve(answer("404 Not Found", "Content-Length: 0"))
    return serve(answer("307 Temporary Redirect", f"Location: {other.url}/gone")).url, f"HTTP 404 at {other.url}/gone"


@case("redirect to a non-numeric port")
def _(serve: Serve) -> tuple[str, str | None]:
    return serve(answer("302 Found", "Location: http://127.0.0.1:abc/x")).url, (
        "redirected to a malformed URL 'http://127.0.0.1:abc/x': the port is not a number from 1 to 65535 ('abc')"
    )


@case("redirect to a broken IPv6 literal")
def _(serve: Serve) -> tuple[str, str | None]:
    return serve(answer("302 Found", "Location: http://[::1/x")).url, (
        "redirected to a malformed URL 'http://[::1/x': Invalid IPv6 URL"
    )


@case("redirect with escape sequences")
def _(serve: Serve) -> tuple[str, str | None]:
    return serve(answer("302 Found", "Location: http://127.0.0.1:1/\x1b[31mred")).url, (
        "redirected to a malformed URL 'http://127.0.0.1:1/\\x1b[31mred': it contains a space or a control character"
    )


GZIP_MEMBER = gzip.compress(b"\0" * (1 << 20))  # 1 MiB of zeros in about 1 KB; members concatenate
BOMB_MEMBERS = 200_000  # about 200 MB on the wire, 200 GiB once inflated


def gzip_bomb(server: Hostile, conn: socket.socket, line: str) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(GZIP_MEMBER) * BOMB_MEMBERS}\r\n\r\n"
    conn.sendall(head.encode())
    batch = GZIP_MEMBER * 64
    for _ in range(BOMB_MEMBERS // 64):
        if server.stop.is_set():
            return
        conn.sendall(batch)
        server.sent += len(batch)


@case("gzip bomb body")
def _(serve: Serve) -> tuple[str, str | None]:
    return serve(head_refused(gzip_bomb)).url, None


@case("huge Content-Length, no body")
def _(serve: Serve) -> tuple[str, str | None]:
    def promise(server: Hostile, conn: socket.socket, line: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 30 + b"\r\n\r\n")
        server.wait()

    return serve(head_refused(promise)).url, None


def _busy(retry_after: str) -> CaseBuilder:
    def build(serve: Serve) -> tuple[str, str | None]:
        server = serve(answer("429 Too Many Requests", f"Retry-After: {retry_after}", "Content-Length: 0"))
        shown = repr(retry_after if len(retry_after) <= 160 else retry_after[:160] + "...")
        return server.url, f"HTTP 429; retrying after 30 s (Retry-After: {shown}) would pass the deadline"

    return build


for _value in ("99999", "9" * 5000, "Fri, 31 Dec 9999 23:59:59 GMT"):
    case(f"Retry-After: {_value[:20]}")(_busy(_value))


def _backed_off(retry_after: str) -> CaseBuilder:
    def build(serve: Serve) -> tuple[str, str | None]:
        server = serve(answer("503 Service Unavailable", f"Retry-After: {retry_after}", "Content-Length: 0"))
        return server.url, "HTTP 503 after 2 retries"  # waited the back-off (or nothing), asked again twice

    return build


for _value in ("-5", "soon", "1.5", "Thu, 01 Jan 1970 00:00:00 GMT", "\x00\x7f"):
    case(f"Retry-After: {_value!r}")(_backed_off(_value))


def _options(tmp_path: Path, **changes: float) -> OnlineOptions:
    options = OnlineOptions(timeout=DEADLINE, retries=2, backoff=0.05, cache_dir=tmp_path / "cache")
    return dataclasses.replace(options, **changes)


def _write_project(tmp_path: Path, urls: list[str]) -> Path:
    """A one-runbook project under ``tmp_path`` whose references are ``urls``; returns its runbooks folder."""
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    page = runbooks / "payments-down.yaml"
    links = "".join(f"  - title: Link {i}\n    url: {json.dumps(url)}\n" for i, url in enumerate(urls))
    page.write_text(page.read_text() + 'last_reviewed: "2099-01-01"\nreferences:\n' + links)
    return runbooks


def _items(tmp_path: Path, urls: list[str]) -> list[Item]:
    return link_items(load_project(_write_project(tmp_path, urls), None, tmp_path))


def _findings(report: OnlineReport, items: list[Item]) -> dict[str, list[tuple[str, str]]]:
    return {str(i.data["url"]): [(d.rule, d.message) for d in report.findings.get(i.nodeid, [])] for i in items}


def _timed_check(items: list[Item], options: OnlineOptions) -> tuple[OnlineReport, float]:
    started = time.monotonic()
    report = check_online(items, options)  # raising here fails the test: it must not
    return report, time.monotonic() - started


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_server(serve: Serve, tmp_path: Path, name: str) -> None:
    url, detail = HOSTILE[name](serve)
    control = serve(answer("404 Not Found", "Content-Length: 0")).url + "/control"
    items = _items(tmp_path, [url, control])
    report, elapsed = _timed_check(items, _options(tmp_path))
    assert elapsed < BOUND
    expected = [("link.dead", f"{url}: {detail}")] if detail is not None else []
    assert _findings(report, items) == {url: expected, control: [("link.dead", f"{control}: HTTP 404")]}
    assert report.warnings == []


def test_every_hostile_server_at_once(serve: Serve, tmp_path: Path) -> None:
    cases = dict(build(serve) for build in HOSTILE.values())
    items = _items(tmp_path, list(cases))
    report, elapsed = _timed_check(items, _options(tmp_path))
    # Eight at a time, each within its deadline: a few deadlines in all, far from one per URL in a row.
    assert elapsed < BOUND
    expected = {url: [("link.dead", f"{url}: {d}")] if d is not None else [] for url, d in cases.items()}
    assert _findings(report, items) == expected


def test_a_gzip_bomb_is_never_read(serve: Serve, tmp_path: Path) -> None:
    server = serve(head_refused(gzip_bomb))
    started = time.monotonic()
    outcome = fetch(server.url, _options(tmp_path, timeout=30))
    assert (outcome.ok, outcome.detail) == (True, "HTTP 200")
    assert time.monotonic() - started < BOUND
    server.settle(BOUND)
    # What the kernel buffered before the client hung up: not the 200 MB a reader would have taken.
    assert server.sent < 64 * 2**20
    assert server.requests == ["HEAD / HTTP/1.1", "GET / HTTP/1.1"]


MALFORMED = {
    "http://exa mple.org/": "it contains a space or a control character",
    "http://example.org/\x01": "it contains a space or a control character",
    "http://[::1/": "Invalid IPv6 URL",
    "http://[::g]/": "'::g' does not appear to be an IPv4 or IPv6 address",
    "http://127.0.0.1:abc/": "the port is not a number from 1 to 65535 ('abc')",
    "http://127.0.0.1:99999/": "the port is not a number from 1 to 65535 ('99999')",
    "https:///path": "it has no host",
    "http://" + "ü" * 64 + ".org/": "host '" + "ü" * 64 + ".org' is not a valid domain name (label empty or too long)",
    "http://127.0.0.1:0/": "the port is not a number from 1 to 65535 ('0')",
    "http://例え..jp/": "host '例え..jp' is not a valid domain name (label empty or too long)",
    "http://a%20b.org/": "host 'a%20b.org' has characters a domain name cannot have",
}


def test_malformed_urls_are_their_own_findings(serve: Serve, tmp_path: Path) -> None:
    control = serve(answer("404 Not Found", "Content-Length: 0")).url + "/control"
    items = _items(tmp_path, [*MALFORMED, control])
    report, elapsed = _timed_check(items, _options(tmp_path))
    assert elapsed < BOUND
    expected = {url: [("link.malformed", f"malformed URL {url!r}: {why}")] for url, why in MALFORMED.items()}
    assert _findings(report, items) == {**expected, control: [("link.dead", f"{control}: HTTP 404")]}


# ---------------------------------------------------------------- waits, with a recorded clock instead of sleeping


def _waits(serve: Serve, tmp_path: Path, retry_after: str, **changes: float) -> tuple[list[float], str]:
    hits: list[int] = []

    def busy_once(server: Hostile, conn: socket.socket, line: str) -> None:
        hits.append(1)
        if len(hits) == 1:
            answer("429 Too Many Requests", f"Retry-After: {retry_after}", "Content-Length: 0")(server, conn, line)
        else:
            answer("200 OK", "Content-Length: 0")(server, conn, line)

    waits: list[float] = []
    outcome = fetch(serve(busy_once).url, _options(tmp_path, **changes), sleep=waits.append)
    return waits, outcome.detail


def test_retry_after_as_an_http_date_is_understood(serve: Serve, tmp_path: Path) -> None:
    waits, detail = _waits(serve, tmp_path, email.utils.formatdate(time.time() + 5, usegmt=True), timeout=20)
    assert detail == "HTTP 200"
    assert len(waits) == 1
    assert 2 < waits[0] <= 5  # whole seconds on the wire, some spent before the answer is read (more under load)


def test_retry_after_is_capped_by_max_wait(serve: Serve, tmp_path: Path) -> None:
    assert _waits(serve, tmp_path, "99999", timeout=20, max_wait=0.25) == ([0.25], "HTTP 200")


def test_unusable_retry_after_falls_back_to_the_back_off(serve: Serve, tmp_path: Path) -> None:
    assert _waits(serve, tmp_path, "in a while", timeout=20, backoff=0.5) == ([0.5], "HTTP 200")


# ---------------------------------------------------------------- the real command, in its own process


def test_the_command_survives_hostile_servers(serve: Serve, tmp_path: Path) -> None:
    silent = serve(lambda s, conn, line: s.wait()).url
    garbage = serve(lambda s, conn, line: conn.sendall(b"garbage\r\n\r\n")).url
    to_file = serve(answer("302 Found", "Location: file:///etc/passwd")).url
    busy = serve(answer("429 Too Many Requests", "Retry-After: 99999")).url
    drip = serve(lambda s, conn, line: s.drip(conn, b"HTTP/1.1 200 OK\r\n", forever=b"X-A: b\r\n")).url
    missing = serve(answer("404 Not Found", "Content-Length: 0")).url
    bad_port = serve(answer("301 Moved Permanently", "Location: http://127.0.0.1:abc/")).url
    # Only well-formed URLs: validation refuses some malformed ones, and then checks nothing in that file.
    urls = [silent, garbage, to_file, busy, drip, missing, bad_port]
    _write_project(tmp_path, urls)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "links.json").write_text("null")
    started = time.monotonic()
    command = [sys.executable, "-m", "runbinder", "check", "--online", "--timeout", "1", "--cache-dir", "cache"]
    result = subprocess.run(
        [*command, "--select", "link", "runbooks"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "RUNBINDER_DEBUG"},
    )
    output = result.stdout + result.stderr
    assert time.monotonic() - started < BOUND + 20  # plus an interpreter start and imports
    assert "Traceback" not in output
    assert "internal error" not in output
    assert result.returncode == 1, output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "cache/links.json:0:0: warning: links cache was unreadable (a JSON null, not an object); rebuilt (link.cache)"
    )
    assert [line.split(": ", 1)[1] for line in lines[1:]] == [
        f"error: {silent}: no answer within 1 s (reading the answer) (link.dead)",
        f"error: {garbage}: not an HTTP answer: status line 'garbage' (link.dead)",
        f"error: {to_file}: redirected to a file: URL ('file:///etc/passwd'); only http and https are followed"
        " (link.dead)",
        f"error: {busy}: HTTP 429; retrying after 30 s (Retry-After: '99999') would pass the deadline (link.dead)",
        f"error: {drip}: no answer within 1 s (reading the answer) (link.dead)",
        f"error: {missing}: HTTP 404 (link.dead)",
        f"error: {bad_port}: redirected to a malformed URL 'http://127.0.0.1:abc/': the port is not a number"
        " from 1 to 65535 ('abc') (link.dead)",
    ]
