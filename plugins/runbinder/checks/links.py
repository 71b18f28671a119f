"""Links: those written in the YAML, every href/src/#fragment of a built site, and (opt-in) external URLs."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import email.utils
import fnmatch
import functools
import hashlib
import html
import http.client
import importlib.metadata
import ipaddress
import json
import math
import os
import posixpath
import re
import secrets
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from ..atomic import write_atomically
from ..diagnostics import Diagnostic, Level
from ..urls import is_safe, scheme
from ..validate import Project, iter_items
from . import Item, PathT, apply_ignores
from .cache import VerdictCache, code_digest, diagnostic_row, diagnostics_from_rows, file_identity

DEFAULT_SKIP_HOSTS = (
    "example.com",
    "*.example.com",
    "example.org",
    "*.example.org",
    "example.net",
    "*.test",
    "*.example",
    "*.invalid",
    "*.localhost",
)


def link_items(project: Project) -> list[Item]:
    """One item per link written in the YAML: references, step links and service links."""
    items = []
    for doc in project.documents:
        if not isinstance(doc.data, dict):
            continue
        for path, link in _links(doc.data):
            name = "/".join(str(p) for p in path)
            items.append(Item(f"{doc.display}::{name}", doc, path, "link", link, run=lambda _item: []))
    return items


def _links(data: dict[str, Any]) -> Iterator[tuple[PathT, dict[str, Any]]]:
    for i, link in iter_items(data, "references"):
        yield ("references", i), link
    for i, service in iter_items(data, "services"):
        for j, link in iter_items(service, "links"):
            yield ("services", i, "links", j), link
    for i, phase in iter_items(data, "phases"):
        for j, step in iter_items(phase, "steps"):
            for k, link in iter_items(step, "links"):
                yield ("phases", i, "steps", j, "links", k), link


def check_link(item: Item, pages: set[str]) -> list[Diagnostic]:
    """Offline: the scheme is safe, a URL is well-formed, a relative link names a page of the site."""
    url = str(item.data.get("url", ""))
    at = (*item.path, "url")
    found: list[Diagnostic] = []
    if not is_safe(url):
        found.append(item.diagnostic(f"{scheme(url)}: links are not allowed", "link.scheme", at=at))
    elif url.startswith(("http://", "https://")):
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        if not host or " " in url or ("." not in host and host != "localhost"):
            found.append(item.diagnostic(f"malformed URL {url!r}", "link.malformed", at=at))
    elif url.startswith("mailto:"):
        pass
    else:
        target = url.split("#", 1)[0]
        if target and target not in pages:
            found.append(
                item.diagnostic(
                    f"{url!r} is not a page of this site (relative links must name a page the site builds)",
                    "link.broken",
                    at=at,
                )
            )
    return apply_ignores(item, found)


# --------------------------------------------------------------------------- built site


class _Page(HTMLParser):
    """The reference reading of a page (the standard library's HTML parser): ``_scan`` must agree with it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, int, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        _collect(self.ids, self.refs, tag, dict(attrs), *self.getpos())


def _collect(
    ids: set[str], refs: list[tuple[str, str, int, int]], tag: str, values: dict[str, str | None], line: int, col: int
) -> None:
    if values.get("id"):
        ids.add(str(values["id"]))
    if tag == "a" and values.get("name"):
        ids.add(str(values["name"]))
    for attr in ("href", "src"):
        value = values.get(attr)
        if value is not None and not (tag == "link" and values.get("rel") in ("canonical", "alternate")):
            refs.append((attr, value, line, col + 1))


# The locator: where on a page a finding is. One pass of one regular expression finds what the HTML parser's start
# tags give, with positions, three times faster: comments, doctypes and processing instructions are skipped, the
# text of script and style elements is not markup, and an attribute value is quoted or runs to the next space or
# ">". Values are unescaped as the parser unescapes them. tests/test_site_links.py holds it to HTMLParser's
# reading on every page of built sites.
_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<![^>]*>?|<\?[^>]*>?"
    r"|</[^>]*>?"
    r"|<(?P<tag>[a-zA-Z][^\t\n\f\r />]*)(?P<attrs>[^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*)>",
    re.S,
)
_ATTRIBUTE = re.compile(
    r"(?P<name>[^\t\n\f\r />\"'=][^\t\n\f\r />=]*)"
    r"(?:\s*=\s*(?:\"(?P<q2>[^\"]*)\"|'(?P<q1>[^']*)'|(?P<bare>[^\t\n\f\r >]+)))?"
)
_RAW_TEXT = {"script": re.compile(r"</script", re.I), "style": re.compile(r"</style", re.I)}


def _scan(text: str) -> tuple[set[str], list[tuple[str, str, int, int]]]:
    """The ids and the href/src references of a page with their positions (line from 1, column from 1)."""
    ids: set[str] = set()
    refs: list[tuple[str, str, int, int]] = []
    counted, line, line_start = 0, 0, 0  # newlines before ``counted``, and where the last of them ended
    position = 0
    while True:
        match = _TOKEN.search(text, position)
        if match is None:
            break
        position = match.end()
        tag = match.group("tag")
        if tag is None:
            continue
        tag = tag.lower()
        attrs = match.group("attrs")
        if "=" in attrs or "id" in attrs.lower():
            values: dict[str, str | None] = {}
            for attribute in _ATTRIBUTE.finditer(attrs):
                value = attribute.group("q2")
                if value is None:
                    value = attribute.group("q1")
                if value is None:
                    value = attribute.group("bare")
                if value is not None and "&" in value:
                    value = html.unescape(value)
                values[attribute.group("name").lower()] = value
            if "id" in values or "href" in values or "src" in values or "name" in values:
                start = match.start()
                newlines = text.count("\n", counted, start)
                if newlines:
                    line += newlines
                    line_start = text.rfind("\n", counted, start) + 1
                counted = start
                _collect(ids, refs, tag, values, line + 1, start - line_start)
        raw = _RAW_TEXT.get(tag)
        if raw is not None:
            end = raw.search(text, position)
            position = len(text) if end is None else end.start()
    return ids, refs


def _read(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    """The ids and the href/src references of a page as a browser reads it (lexbor, an HTML5 parser in C; about
    four times faster than ``_scan``), without positions: ``_scan`` locates the few that are findings."""
    tree = LexborHTMLParser(text)
    ids = {value for node in tree.css("[id]") if (value := node.attributes.get("id"))}
    ids.update(value for node in tree.css("a[name]") if (value := node.attributes.get("name")))
    refs = []
    for attr in ("href", "src"):
        for node in tree.css(f"[{attr}]"):
            values = node.attributes
            value = values.get(attr)  # None for a bare attribute: it leads nowhere else than the page itself
            if value is None or (node.tag == "link" and values.get("rel") in ("canonical", "alternate")):
                continue
            refs.append((attr, value))
    return ids, refs


Reading = tuple[set[str], list[tuple[str, str]]]  # a page's ids and its references, as _read returns them

# Markup whose reading depends on what surrounds it: raw text (script, style, title, textarea...), foreign content
# (svg, math), comments, doctypes, CDATA and processing instructions, and the elements a parser moves, merges or
# drops (html, head, body, frameset, form, select, template, image).
_CONTEXTUAL = re.compile(
    r"<(?:[!?]|/?(?:script|style|textarea|title|xmp|iframe|noembed|noframes|noscript|plaintext|template|svg|math"
    r"|html|head|body|frameset|form|select|image|isindex)(?:[\s/>]|$))",
    re.IGNORECASE,
)
_LINK_OPEN = re.compile(r"<a[\s>/]", re.IGNORECASE)
_LINK_CLOSE = re.compile(r"</a[\s>]", re.IGNORECASE)


def part_reading(part: str) -> Reading | None:
    """What a part of a page holds, read alone (while the rest of the page is still being made), when that is
    certain to be what a reading of the whole page finds of it; else None.

    Certain means: the part holds none of the markup whose reading depends on its surroundings, closes every link
    it opens (the parser copies a link left open into what follows), and ends outside any tag, comment or raw text,
    which a marker element read after it proves: a part that swallows what follows it swallows the marker."""
    if _CONTEXTUAL.search(part) or len(_LINK_OPEN.findall(part)) != len(_LINK_CLOSE.findall(part)):
        return None
    marker = "rb-part-end-" + secrets.token_hex(8)
    ids, refs = _read(f'{part}<i id="{marker}"></i>')
    if marker not in ids:
        return None
    ids.discard(marker)
    return ids, refs


def joined(readings: Iterable[Reading]) -> Reading:
    """The reading of a page made of parts, from the readings of its parts: what check_site uses is the set of
    ids and the references (their order is not used: findings are placed where ``_scan`` finds them)."""
    ids: set[str] = set()
    refs: list[tuple[str, str]] = []
    for part_ids, part_refs in readings:
        ids |= part_ids
        refs += part_refs
    return ids, refs


def page_reading(data: bytes) -> tuple[str, Reading]:
    """The digest of a page's bytes and what it holds: read ahead (while the build writes the other pages), it is
    passed to check_site as one of its ``readings``."""
    return _page_digest(data), _read(data.decode("utf-8", errors="replace"))


Seen = tuple[tuple[int, int, int, int], str]
"""A file as it was read: the identity of its inode then (device, inode, size, mtime) and the digest of its bytes."""


def _site_version() -> str:
    """What the site check's kept readings and findings depend on besides the pages: its code and lexbor."""
    return f"{code_digest()} selectolax {importlib.metadata.version('selectolax')}"


def whole_reading(text: str) -> Reading:
    """What a whole page holds (``_read``)."""
    return _read(text)


def read_ahead(
    path: Path, data: bytes, cache_dir: Path | None, known: Reading | None = None
) -> tuple[Seen, tuple[str, Reading] | None]:
    """A page this process has just written (``data`` at ``path``: print.html, made by the build's child): how
    check_site will know it (``seen``), and its reading by digest, unless the check's cache (``cache_dir``) already
    holds what it holds (a second build of the same pages), for check_site's ``readings``. ``known``: its reading,
    made from its parts while they were made (``joined``)."""
    digest = _page_digest(data)
    seen = (file_identity(os.stat(path)), digest)
    if known is not None:
        return seen, (digest, known)
    if cache_dir is not None:
        store = VerdictCache(cache_dir, name="site.json", max_age_days=1)
        if isinstance(store.get(store.key("site ids", _site_version(), "", digest)), list):
            return seen, None
    return seen, (digest, _read(data.decode("utf-8", errors="replace")))


def read_seen(path: Path) -> tuple[bytes, Seen]:
    """A file's bytes, and how check_site can tell later that it is still what was read (``seen``)."""
    with path.open("rb") as handle:
        identity = file_identity(os.fstat(handle.fileno()))
        data = handle.read()
    return data, (identity, _page_digest(data))


def _page_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def check_site(
    site_dir: Path,
    display_root: str | None = None,
    cache_dir: Path | None = None,
    readings: Mapping[str, Reading] | None = None,
    seen: Mapping[str, Seen] | None = None,
) -> list[Diagnostic]:
    """Every relative href/src and #fragment in every HTML file under ``site_dir`` resolves. No network.

    With ``cache_dir``, what a page holds and what it was found to lack are kept between builds (``site.json``, a
    VerdictCache file): a page's ids under the digest of its bytes, its findings under that digest and the digest
    of the whole site's files, folders and ids, which is all a page's findings depend on. An unchanged site is
    checked without parsing a page. ``readings`` are pages already read (page_reading), by digest; ``seen``: pages
    already read by path (``read_seen``), which are not read again while their file is unchanged."""
    read_now: dict[str, bytes] = {}
    digests: dict[str, str] = {}
    present: set[str] = set()
    folders: set[str] = set()
    for folder, dirnames, filenames in os.walk(site_dir):
        rel_folder = Path(folder).relative_to(site_dir).as_posix()
        prefix = "" if rel_folder == "." else rel_folder + "/"
        folders.update(prefix + d for d in dirnames)
        for name in filenames:
            present.add(prefix + name)
            if name.endswith(".html"):
                rel = prefix + name
                known = seen.get(rel) if seen is not None else None
                if known is not None and file_identity(os.stat(Path(folder) / name)) == known[0]:
                    digests[rel] = known[1]
                else:
                    read_now[rel] = (Path(folder) / name).read_bytes()
                    digests[rel] = _page_digest(read_now[rel])

    def text(rel: str) -> bytes:
        """A page's bytes (read now if they were known by digest alone)."""
        if rel not in read_now:
            read_now[rel] = (site_dir / rel).read_bytes()
        return read_now[rel]

    # Findings are keyed by the whole site, which changes with every edit: kept for a day.
    store = VerdictCache(cache_dir, name="site.json", max_age_days=1) if cache_dir is not None else None
    version = _site_version()
    read: dict[str, Reading] = {}
    ids: dict[str, set[str]] = {}
    for rel in digests:
        kept = store.get(store.key("site ids", version, "", digests[rel])) if store is not None else None
        if readings is not None and digests[rel] in readings:
            read[rel] = readings[digests[rel]]
            ids[rel] = read[rel][0]
            if store is not None and kept is None:
                store.put(store.key("site ids", version, "", digests[rel]), sorted(ids[rel]))
        elif isinstance(kept, list) and all(isinstance(i, str) for i in kept):
            ids[rel] = set(kept)
        else:
            read[rel] = _read(text(rel).decode("utf-8", errors="replace"))
            ids[rel] = read[rel][0]
            if store is not None:
                store.put(store.key("site ids", version, "", digests[rel]), sorted(ids[rel]))
    world = hashlib.sha256()
    for name in sorted(present | folders):
        world.update(name.encode("utf-8", errors="surrogatepass") + b"\0")
    for rel in sorted(ids):
        world.update(f"\n{rel}\n".encode("utf-8", errors="surrogatepass"))
        world.update("\0".join(sorted(ids[rel])).encode("utf-8", errors="surrogatepass"))
    everything = world.hexdigest()
    shown = display_root or str(site_dir)

    # Most references repeat from page to page (the theme's navigation, header and footer), and what one resolves
    # to depends only on the folder of the page it is on: each is resolved once per folder.
    @functools.cache
    def resolve(folder: str, value: str) -> tuple[str, str, str]:
        """(kind, target, fragment): kind "external" (a safe absolute URL), "unsafe" (target is its scheme),
        "missing" (target does not exist), "page" (target exists; the fragment is still to be found) or "self"
        (no path: the page the reference is on)."""
        parts = urllib.parse.urlsplit(value)
        if parts.scheme or value.startswith("//"):
            unsafe = not is_safe(value) and value != "javascript:void(0)"  # Material's inert share button
            return ("unsafe" if unsafe else "external"), parts.scheme, ""
        ref_path = urllib.parse.unquote(parts.path)
        if not ref_path:
            return "self", "", urllib.parse.unquote(parts.fragment)
        if ref_path.startswith("/"):  # root-relative, as in MkDocs' 404 page
            target = posixpath.normpath(ref_path.lstrip("/"))
        else:
            target = posixpath.normpath(posixpath.join(folder, ref_path))
        if parts.path.endswith("/") or target in folders:
            target = posixpath.join(target, "index.html")
        if target.startswith("../") or (target not in present and target not in folders and target != "."):
            return "missing", target, ""
        return "page", target, urllib.parse.unquote(parts.fragment)

    def judge(rel: str, folder: str, attr: str, value: str) -> tuple[str, str] | None:
        """(message, code) when the reference does not resolve from page ``rel`` (in ``folder``)."""
        kind, _, fragment = resolve(folder, value)
        if kind != "self":
            return judged(folder, attr, value)
        if fragment and rel in ids and fragment not in ids[rel]:
            return f"{attr}={value!r}: no element with id {fragment!r} in {rel}", "site.anchor"
        return None

    # A reference that names another page (or nothing on the site) has the same verdict on every page of a folder:
    # judged once per folder (the theme's links repeat on every page).
    @functools.cache
    def judged(folder: str, attr: str, value: str) -> tuple[str, str] | None:
        kind, target, fragment = resolve(folder, value)
        if kind == "external":
            return None
        if kind == "unsafe":
            return f"{attr} uses {target}:", "site.scheme"
        if kind == "missing":
            return f"{attr}={value!r}: {target} does not exist", "site.link"
        if fragment and target in ids and fragment not in ids[target]:
            return f"{attr}={value!r}: no element with id {fragment!r} in {target}", "site.anchor"
        return None

    out = []
    for rel in sorted(digests):
        key = store.key("site findings", version, everything, f"{rel}\0{digests[rel]}") if store is not None else ""
        located = diagnostics_from_rows(store.get(key)) if store is not None else None
        if located is None:
            refs = (read[rel] if rel in read else _read(text(rel).decode("utf-8", errors="replace")))[1]
            folder = posixpath.dirname(rel)
            verdicts = {ref: judge(rel, folder, *ref) for ref in set(refs)}  # a page repeats most of its links
            found = [(a, v, verdict) for a, v in refs if (verdict := verdicts[a, v])]
            located = _located(rel, text(rel), found) if found else []  # the page is read again only to locate
            if store is not None:
                store.put(key, [diagnostic_row(d) for d in located])
        out += [dataclasses.replace(d, path=f"{shown}/{rel}") for d in located]
    if store is not None:
        store.save()  # a convenience: one that cannot be written only costs the next build time
    return out


def _located(rel: str, text: bytes, found: list[tuple[str, str, tuple[str, str]]]) -> list[Diagnostic]:
    """The findings of one page, each where ``_scan`` reads the same reference (in order). A reference the browser
    sees but the scanner does not (markup the two read differently) is reported at the top of the page."""
    if not found:
        return []
    where: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for attr, value, line, col in _scan(text.decode("utf-8", errors="replace"))[1]:
        where.setdefault((attr, value), []).append((line, col))
    located = []
    for attr, value, (message, code) in found:
        positions = where.get((attr, value))
        line, col = positions.pop(0) if positions else (1, 1)
        located.append(Diagnostic(rel, line, col, "error", message, code))
    return sorted(located, key=lambda d: (d.line, d.col))


# --------------------------------------------------------------------------- online
#
# Every external URL gets one time budget (OnlineOptions.timeout) for everything it takes: name resolution,
# connection, TLS, the status line and headers, every retry, redirect and wait. A socket timeout only bounds
# one read, and a server that drips a byte before each one expires would keep a read loop alive forever, so
# a watchdog shuts the socket down when the budget is spent: whatever is blocked on it returns at once.
# Bodies are never read (the status line says whether a link is alive), so a huge or compressed body costs
# nothing. Whatever goes wrong becomes that URL's finding; check_online itself never raises.


@dataclass
class OnlineOptions:
    """How external URLs are checked."""

    timeout: float = 10.0
    """Seconds per URL, all included: connection, TLS, answer, retries, redirects and Retry-After waits."""
    retries: int = 3
    """Further attempts after 429 or 503."""
    backoff: float = 1.0
    """First wait between attempts when the server gives no usable Retry-After; doubled each time."""
    max_wait: float = 30.0
    """Longest single wait between attempts, whatever Retry-After asks (never past the URL's deadline)."""
    max_redirects: int = 10
    """Redirects followed per URL; one more, or a URL seen twice, is a finding."""
    workers: int = 8
    """URLs checked at once."""
    cache_dir: Path = Path(".runbinder-cache")
    cache_ttl: float = 24 * 3600.0
    """Seconds a cached result is trusted."""
    skip_hosts: Sequence[str] = DEFAULT_SKIP_HOSTS
    """Host globs never fetched."""


@dataclass
class Outcome:
    """What an external URL answered."""

    ok: bool
    detail: str


@dataclass
class OnlineReport:
    """What check_online found: findings by item node id, and warnings about the run itself (the cache)."""

    findings: dict[str, list[Diagnostic]] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)


_MAX_BUDGET = 24 * 3600.0  # a timer cannot take an infinite interval; nobody waits a day for one link
_DETAIL_CHARS = 160  # server-chosen text in a message: enough to recognise it, never a 64 KB line
# Spaces and control characters (C0, DEL, C1) are never part of a well-formed URL; they would also let a
# URL smuggle a second request line or header into what is sent.
_NOT_IN_URLS = re.compile(r"[\x00-\x20\x7f-\x9f]")
_HOST_LABELS = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?")
# Percent-encode only what is not printable ASCII: what a URL already escapes stays as written.
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))
_LOOPBACK_NAMES = ("localhost", "localhost.")
_USER_AGENT = "runbinder-link-check"
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class _Target:
    """A well-formed http(s) URL, split into what a request needs."""

    url: str  # as written, without the fragment: what redirects are resolved against and loops detected by
    tls: bool
    name: str  # the host as written, lower case (what --skip-host patterns are matched against)
    host: str  # ASCII: an IDNA-encoded name or an IP address without brackets
    port: int
    path: str  # request target: path and query, printable ASCII

    @property
    def authority(self) -> str:
        """The Host header: host, and the port when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.tls else 80) else f"{host}:{self.port}"

    @property
    def absolute(self) -> str:
        """The ASCII absolute form an HTTP proxy is asked for."""
        return f"{'https' if self.tls else 'http'}://{self.authority}{self.path}"


def _shown(text: str, quoted: bool = True) -> str:
    """Server- or user-chosen text with its control characters escaped, cut to a readable length."""
    cut = text if len(text) <= _DETAIL_CHARS else text[:_DETAIL_CHARS] + "..."
    return repr(cut) if quoted else repr(cut)[1:-1]


def _parse_url(url: str) -> _Target | str:
    """The parts of an http(s) URL a request needs, or why ``url`` is not a well-formed one."""
    if _NOT_IN_URLS.search(url):
        return "it contains a space or a control character"
    try:
        url.encode("utf-8")
    except UnicodeError:
        return "it contains characters that are not valid Unicode text"
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL" for http://[::1/
        return str(exc)
    scheme_name = parts.scheme.lower()
    if scheme_name not in ("http", "https"):
        return f"{scheme_name or 'a relative'}: URL, not http or https"
    try:
        port = parts.port
    except ValueError:
        return f"the port is not a number from 1 to 65535 ({_shown(parts.netloc.rpartition(':')[2])})"
    if port == 0:
        return "the port is not a number from 1 to 65535 ('0')"
    name = parts.hostname or ""
    if not name:
        return "it has no host"
    if parts.netloc.rpartition("@")[2].startswith("["):
        try:
            host = str(ipaddress.IPv6Address(name))
        except ValueError:
            return f"{_shown(name)} is not an IPv6 address"
    else:
        try:
            host = name.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:  # "encoding with 'idna' codec failed (UnicodeError: label too long)"
            reason = str(exc).rpartition("UnicodeError: ")[2].removesuffix(")")
            return f"host {_shown(name)} is not a valid domain name ({reason})"
        if not _HOST_LABELS.fullmatch(host):
            return f"host {_shown(name)} has characters a domain name cannot have"
    path = urllib.parse.quote(parts.path or "/", safe=_URL_SAFE)
    if parts.query:
        path += "?" + urllib.parse.quote(parts.query, safe=_URL_SAFE)
    written = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
    return _Target(written, scheme_name == "https", name, host, port or (443 if scheme_name == "https" else 80), path)


def _skipped(target: _Target, skip_hosts: Iterable[str]) -> bool:
    names = {target.name.rstrip("."), target.host.rstrip(".")}
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for name in names for pattern in skip_hosts)


class _Deadline:
    """One URL's time budget, shared by every connection, retry, redirect and wait it takes."""

    def __init__(self, seconds: float) -> None:
        # Refuse what a timer cannot take (NaN, negative, infinite): zero means "already spent".
        self.budget = min(seconds, _MAX_BUDGET) if seconds > 0 else 0.0
        self.end = time.monotonic() + self.budget
        self.doing = "starting"  # named in the finding when the budget runs out

    def left(self) -> float:
        return self.end - time.monotonic()

    def spent(self) -> bool:
        return self.left() <= 0

    def timed_out(self) -> str:
        return f"no answer within {self.budget:g} s ({self.doing})"


class _Watchdog:
    """Shuts a socket down when the deadline passes, so a read blocked on a dripping server returns at once.

    It holds a duplicate of the socket's descriptor: shutting that down ends the connection for every
    descriptor of it, the TLS layer wrapped around the original included, without touching objects the
    reading thread owns.
    """

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._spare: socket.socket | None = sock.dup()
        self._lock = threading.Lock()
        self.fired = False
        """True once the socket was shut down: what was read then ended early, however well-formed it looks."""
        self._timer = threading.Timer(max(deadline.left(), 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._spare is not None:
                self.fired = True
                with contextlib.suppress(OSError):  # already closed by the peer: nothing is blocked on it
                    self._spare.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._spare is not None:
                self._spare.close()
                self._spare = None
        self._timer.join()


def _resolve(host: str, port: int, deadline: _Deadline) -> list[tuple[Any, ...]]:
    """getaddrinfo within the deadline: a resolver cannot be interrupted, so a slow one is left behind."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return list(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST))
    answer: list[list[tuple[Any, ...]] | BaseException] = []
    done = threading.Event()

    def resolve() -> None:
        try:
            answer.append(list(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))
        except Exception as exc:  # handed to the caller: an exception must not end this thread unseen
            answer.append(exc)
        finally:
            done.set()

    threading.Thread(target=resolve, name=f"resolve {host}", daemon=True).start()
    if not done.wait(max(deadline.left(), 0.0)):
        raise TimeoutError("name resolution took too long")
    if isinstance(answer[0], BaseException):
        raise answer[0]
    return answer[0]


def _connect(host: str, port: int, deadline: _Deadline) -> socket.socket:
    deadline.doing = "resolving the host name"
    addresses = _resolve(host, port, deadline)
    deadline.doing = "connecting"
    failure: OSError = OSError(f"no address for {host}")
    for family, kind, proto, _name, address in addresses:
        if deadline.spent():
            break
        sock = socket.socket(family, kind, proto)
        try:
            # Also bounds each read after the connection; the watchdog bounds all of them together.
            sock.settimeout(max(deadline.left(), 0.001))
            sock.connect(address)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        return sock
    raise failure


@dataclass(frozen=True)
class _Proxy:
    host: str
    port: int
    headers: dict[str, str]


def _proxy_for(target: _Target) -> _Proxy | None:
    """The proxy the environment names for this URL (http_proxy, https_proxy, no_proxy), as urllib would use.

    Only the environment is read: the system settings of macOS and Windows may resolve host names, outside
    the deadline. Loopback never goes through a proxy, which could not reach it anyway.
    """
    if target.name in _LOOPBACK_NAMES or _is_loopback(target.host):
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get("https" if target.tls else "http")
    # With a proxy in the environment, every platform's proxy_bypass reads no_proxy and nothing else.
    if not proxy or urllib.request.proxy_bypass(target.host):
        return None
    parsed = _parse_url(proxy if "://" in proxy else f"http://{proxy}")
    if isinstance(parsed, str):
        raise OSError(f"proxy {_shown(proxy)} is not a usable URL: {parsed}")
    headers = {}
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Proxy-Authorization"] = f"Basic {token}"
    return _Proxy(parsed.host, parsed.port, headers)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_TLS: ssl.SSLContext | None = None
_TLS_LOCK = threading.Lock()


def _tls_context() -> ssl.SSLContext:
    global _TLS
    with _TLS_LOCK:  # loading the system's CA certificates once, not per URL
        if _TLS is None:
            _TLS = ssl.create_default_context()
        return _TLS


@dataclass(frozen=True)
class _Answer:
    status: int
    location: str | None
    retry_after: str | None


def _ask(target: _Target, method: str, deadline: _Deadline) -> _Answer:
    """One request; only the status line and headers are read."""
    proxy = _proxy_for(target)
    sock = _connect(proxy.host, proxy.port, deadline) if proxy else _connect(target.host, target.port, deadline)
    watchdog: _Watchdog | None = None
    connection: http.client.HTTPConnection | None = None
    try:
        watchdog = _Watchdog(sock, deadline)
        if proxy is not None and target.tls:
            deadline.doing = "opening a tunnel through the proxy"
            _tunnel(sock, target, proxy)
        if target.tls:
            deadline.doing = "TLS handshake"
            sock = _tls_context().wrap_socket(sock, server_hostname=target.host)
        connection = http.client.HTTPConnection(target.host, target.port)
        connection.sock = sock  # ours: http.client would open its own, outside the deadline and the watchdog
        headers = {"Host": target.authority, "User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
        headers["Connection"] = "close"
        if proxy is not None and not target.tls:
            headers.update(proxy.headers)
        deadline.doing = "sending the request"
        connection.request(method, target.absolute if proxy and not target.tls else target.path, headers=headers)
        deadline.doing = "reading the answer"
        response = connection.getresponse()
        # Only the head is read: the body stays unread whatever its size, encoding or speed.
        answer = _Answer(response.status, response.getheader("Location"), response.getheader("Retry-After"))
        response.close()
        if watchdog.fired:  # the shutdown reads as the end of the stream: "HTTP/1.1 200 OKOKOK" cut short is no answer
            raise TimeoutError("cut off at the deadline")
        return answer
    finally:
        if connection is not None:
            connection.close()
        sock.close()
        if watchdog is not None:
            watchdog.close()


def _tunnel(sock: socket.socket, target: _Target, proxy: _Proxy) -> None:
    authority = f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    lines += [f"{key}: {value}" for key, value in proxy.headers.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    response = http.client.HTTPResponse(sock, method="CONNECT")
    try:
        response.begin()
        if response.status != 200:
            raise OSError(f"the proxy refused the tunnel: HTTP {response.status}")
    finally:
        response.close()


def _retry_after(value: str | None, now: float) -> float | None:
    """Seconds a Retry-After header asks for (delay-seconds or an HTTP date); None when it says nothing usable."""
    text = (value or "").strip()
    if re.fullmatch(r"[0-9]+", text):
        return float(text) if len(text) <= 15 else math.inf  # a 5,000-digit number is simply "too long"
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, origin unknown
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(when.timestamp() - now, 0.0)


def _explain(exc: Exception) -> str:
    """A finding's words for what went wrong with a request."""
    if isinstance(exc, http.client.RemoteDisconnected):
        return "no answer: the server closed the connection without answering"
    if isinstance(exc, http.client.BadStatusLine):
        return f"not an HTTP answer: status line {_shown(str(exc.args[0] if exc.args else '').strip())}"
    if isinstance(exc, http.client.UnknownProtocol):
        return f"not an HTTP answer: protocol {_shown(str(exc.args[0] if exc.args else ''))}"
    if isinstance(exc, http.client.HTTPException):
        return f"invalid answer: {_shown(str(exc), quoted=False)}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {getattr(exc, 'verify_message', None) or exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"no answer: host not found ({exc.strerror})"
    if isinstance(exc, OSError):
        return f"no answer: {exc.strerror or exc}"
    return f"check failed: {type(exc).__name__}: {_shown(str(exc), quoted=False)}"


def fetch(url: str, options: OnlineOptions, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """HEAD (GET when HEAD is refused) within one deadline, with retries on 429 and 503 honouring Retry-After.

    Never raises: whatever happens is the Outcome of this URL.
    """
    deadline = _Deadline(options.timeout)
    try:
        return _fetch(url, options, sleep, deadline)
    except Exception as exc:  # the last wall: one URL's failure is its own finding, never the run's
        return Outcome(False, deadline.timed_out() if deadline.spent() else _explain(exc))


def _fetch(url: str, options: OnlineOptions, sleep: Callable[[float], None], deadline: _Deadline) -> Outcome:
    target = _parse_url(url)
    if isinstance(target, str):
        return Outcome(False, f"malformed URL: {target}")
    first = target.url
    method = "HEAD"
    attempt = 0
    visited = {target.url}
    while True:
        if deadline.spent():
            return Outcome(False, deadline.timed_out())
        try:
            answer = _ask(target, method, deadline)
        except Exception as exc:
            return Outcome(False, deadline.timed_out() if deadline.spent() else _explain(exc))
        status = answer.status
        where = "" if target.url == first else f" at {target.url}"
        if 200 <= status < 300:
            return Outcome(True, f"HTTP {status}{where}")
        if status in _REDIRECTS and answer.location is not None:
            following = _follow(target, answer.location, visited, options.max_redirects, status)
            if isinstance(following, Outcome):
                return following
            target = following
            continue
        if status in (405, 501) and method == "HEAD":
            method = "GET"
            continue
        if status in (429, 503) and attempt < options.retries:
            asked = _retry_after(answer.retry_after, time.time())
            wait = min(asked if asked is not None else options.backoff * (2**attempt), options.max_wait)
            if not wait < deadline.left():  # the next answer could not come in time: stop now, not at the deadline
                why = f"Retry-After: {_shown(answer.retry_after or '')}" if asked is not None else "back-off"
                return Outcome(
                    False, f"HTTP {status}{where}; retrying after {wait:g} s ({why}) would pass the deadline"
                )
            deadline.doing = "waiting to retry"
            sleep(max(wait, 0.0))
            attempt += 1
            continue
        if 300 <= status < 400:
            return Outcome(False, f"HTTP {status}{where} without a Location header")
        retried = f" after {attempt} retries" if attempt else ""
        return Outcome(False, f"HTTP {status}{where}{retried}")


def _follow(current: _Target, location: str, visited: set[str], limit: int, status: int) -> _Target | Outcome:
    """Where a redirect leads, or why it is not followed."""
    try:
        joined = urllib.parse.urljoin(current.url, location.strip())
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        return Outcome(False, f"redirected to a malformed URL {_shown(location)}: {exc}")
    following = _parse_url(joined)
    if isinstance(following, str):
        kind = scheme(joined)
        if kind not in (None, "http", "https"):
            return Outcome(False, f"redirected to a {kind}: URL ({_shown(joined)}); only http and https are followed")
        return Outcome(False, f"redirected to a malformed URL {_shown(joined)}: {following}")
    if following.url in visited or len(visited) > limit:
        return Outcome(False, f"redirect loop or too many redirects (HTTP {status})")
    visited.add(following.url)
    return following


class LinkCache:
    """Results of online checks by URL, kept for ``ttl`` seconds in <cache_dir>/links.json.

    The cache is a convenience, never a reason to fail: a file that cannot be read or used is reported
    (``problem``) and rebuilt, an entry that is malformed or dated in the future counts as absent, and a
    save that fails is reported too. Saves are atomic (a temporary file renamed over the old one), so two
    runs saving at once leave one of their files whole: the last writer wins.
    """

    def __init__(self, directory: Path, ttl: float, clock: Callable[[], float] = time.time) -> None:
        self.path = directory / "links.json"
        self.ttl = ttl
        self.clock = clock
        self.problem: str | None = None
        """Why the file on disk could not be used as it was (None when it could, or did not exist)."""
        self.entries: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return {}  # the first run
        except OSError as exc:
            self.problem = exc.strerror or str(exc)
            return {}
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..." nested too deep to parse
            self.problem = f"not JSON: {_shown(str(exc), quoted=False)}"
            return {}
        if not isinstance(data, dict):
            self.problem = f"a JSON {_JSON_TYPES.get(type(data), 'value')}, not an object"
            return {}
        now = self.clock()
        entries: dict[str, dict[str, Any]] = {}
        malformed: list[str] = []
        for url, entry in data.items():
            why = _malformed_entry(entry)
            if why is not None:
                malformed.append(f"{_shown(url)}: {why}")
            elif entry["at"] <= now:  # dated in the future (a clock put back): never trusted, so dropped
                entries[url] = entry
        if malformed:
            more = f" and {len(malformed) - 1} more" if len(malformed) > 1 else ""
            self.problem = f"entry {malformed[0]}{more}"
        return entries

    def get(self, url: str) -> Outcome | None:
        """The cached result of ``url`` when it is younger than the TTL."""
        entry = self.entries.get(url)
        if entry is None or not 0 <= self.clock() - entry["at"] < self.ttl:
            return None
        return Outcome(entry["ok"], entry["detail"])

    def put(self, url: str, outcome: Outcome) -> None:
        """Keep ``outcome`` as the result of ``url`` from now on."""
        self.entries[url] = {"ok": outcome.ok, "detail": outcome.detail, "at": self.clock()}

    def save(self) -> str | None:
        """Write atomically; returns why the cache could not be written (None when it was)."""
        try:
            write_atomically(self.path, json.dumps(self.entries, indent=1, sort_keys=True).encode("utf-8"))
        except OSError as exc:
            return exc.strerror or str(exc)
        return None


_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def _malformed_entry(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "not an object"
    for key, kind in (("ok", bool), ("detail", str)):
        if not isinstance(entry.get(key), kind):
            return f"{key!r} is missing or not a {kind.__name__}"
    at = entry.get("at")
    try:  # a JSON integer has no size limit: 1 followed by 400 zeros overflows a float
        finite = not isinstance(at, bool) and isinstance(at, (int, float)) and math.isfinite(at)
    except OverflowError:
        finite = False
    return None if finite else "'at' is missing or not a time"


def _cache_warning(cache: LinkCache, saved: str | None) -> Diagnostic | None:
    if cache.problem is None and saved is None:
        return None
    if saved is None:
        message = f"links cache was unreadable ({cache.problem}); rebuilt"
    elif cache.problem is None:
        message = f"links cache could not be written ({saved}); results of this run were not kept"
    else:
        message = f"links cache was unreadable ({cache.problem}) and could not be rebuilt ({saved})"
    return Diagnostic(str(cache.path), 0, 0, "warning", message, "link.cache")


def check_online(items: Sequence[Item], options: OnlineOptions) -> OnlineReport:
    """External http(s) links of ``items``, checked concurrently, each within ``options.timeout``.

    Findings are by item node id: ``link.dead`` for a URL that does not answer well, ``link.malformed`` for
    one that cannot be requested at all. A cache that could not be read or written is one ``link.cache``
    warning. Never raises.
    """
    report = OnlineReport()
    verdicts: dict[str, tuple[str, str]] = {}  # url -> (rule, message)
    todo: list[str] = []
    for url in sorted({str(i.data.get("url", "")) for i in items}):
        if not url.startswith(("http://", "https://")):
            continue
        target = _parse_url(url)
        if isinstance(target, str):
            verdicts[url] = ("link.malformed", f"malformed URL {url!r}: {target}")
        elif not _skipped(target, options.skip_hosts):
            todo.append(url)
    if todo:
        cache = LinkCache(options.cache_dir, options.cache_ttl)
        outcomes = {url: hit for url in todo if (hit := cache.get(url)) is not None}
        fetching = [url for url in todo if url not in outcomes]
        with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
            for url, fetched in zip(fetching, pool.map(lambda u: fetch(u, options), fetching), strict=True):
                cache.put(url, fetched)
                outcomes[url] = fetched
        warning = _cache_warning(cache, cache.save() if fetching or cache.problem else None)
        if warning is not None:
            report.warnings.append(warning)
        for url, outcome in outcomes.items():
            if not outcome.ok:
                verdicts[url] = ("link.dead", f"{url}: {outcome.detail}")
    for item in items:
        verdict = verdicts.get(str(item.data.get("url", "")))
        if verdict is not None:
            found = [item.diagnostic(verdict[1], verdict[0], at=(*item.path, "url"))]
            kept = apply_ignores(item, found, report_unused=False)
            if kept:
                report.findings[item.nodeid] = kept
    return report


# --------------------------------------------------------------------------- links inside Markdown text
#
# Summaries, step text, notes and descriptions are Markdown: a link written there is a link of the site like any
# other, and gets the same offline checks (and --online). The fields are found from the schemas (markdown_tree) and
# the links by the very engine that renders them (safe.py's field configuration of Python-Markdown), so what is
# checked is exactly what a reader will be able to click: a `[text](url)` inside code is not a link, a reference
# definition is. Unsafe schemes are not repeated here: validation already reports them (markdown.unsafe).

# A field with none of these holds no link: an inline link or image `](`, a reference `][` or `]:`, an autolink `<x:`.
_MAY_LINK = re.compile(r"\]\s*[(\[:]|<[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class MarkdownLinkItem(Item):
    """A link inside a Markdown field: located at its target's characters in the field's text."""

    field_path: PathT = ()
    offset: int = 0

    def diagnostic(
        self,
        message: str,
        rule: str,
        level: Level = "error",
        at: PathT | None = None,
        offset: int | None = None,
        field_name: str = "code",
    ) -> Diagnostic:
        """A diagnostic at the link's target in the Markdown text (whichever place the check names)."""
        line, col = self.doc.locate_in_scalar(self.field_path, self.offset)
        return Diagnostic(self.doc.display, line, col, level, message, rule)


def markdown_link_items(project: Project) -> list[Item]:
    """One item per link written inside a Markdown field of a document."""
    from ..schemas import markdown_fields, markdown_tree

    items: list[Item] = []
    for doc in project.documents:
        if doc.kind not in ("runbook", "catalog") or not isinstance(doc.data, dict):
            continue
        for path, text in markdown_fields(doc.data, markdown_tree(doc.kind)):
            if not _MAY_LINK.search(text):
                continue
            name = "/".join(str(p) for p in path)
            for n, (url, offset) in enumerate(markdown_links(text), 1):
                items.append(
                    MarkdownLinkItem(
                        f"{doc.display}::{name}/link-{n}",
                        doc,
                        path,
                        "link",
                        {"url": url},
                        run=lambda _item: [],
                        field_path=path,
                        offset=offset,
                    )
                )
    return items


def markdown_links(text: str) -> list[tuple[str, int]]:
    """(target, offset in ``text``) of every link in a Markdown field, as the field's renderer reads it.

    Relative targets are paths from the site root (``runbooks/db-failover.md#triage``) and come back normalised
    (``/runbooks/x.md`` and ``runbooks/./x.md`` are ``runbooks/x.md``), as the renderer resolves them. Unsafe
    schemes and ``tel:`` numbers are left out: there is nothing to check offline, and validation reports the
    unsafe ones."""
    found: list[tuple[str, int]] = []
    searched = 0
    for target in _rendered_targets(text):
        at = text.find(target, searched)
        if at < 0:
            at = text.find(target)
        if at >= 0:
            searched = at + len(target)
        kind = scheme(target)
        if kind is None:
            path, hash_, fragment = target.partition("#")
            if path:
                target = posixpath.normpath(path.lstrip("/")) + hash_ + fragment
            elif not fragment:
                continue
        elif kind not in ("http", "https", "mailto") or not is_safe(target):
            continue
        found.append((target, max(at, 0)))
    return found


def _rendered_targets(text: str) -> list[str]:
    """The href of every link in the field's rendered tree, in document order."""
    engine = _link_engine()
    with engine.lock:
        engine.collected = []
        try:
            engine.md.convert(text)
        finally:
            engine.md.reset()
        return list(engine.collected)


class _LinkEngine:
    """safe.py's field engine with one more tree processor, run before the field's own rewrites links."""

    def __init__(self) -> None:
        import threading

        from markdown.treeprocessors import Treeprocessor

        from .. import safe

        self.collected: list[str] = []
        self.lock = threading.Lock()
        self.md = safe._FieldEngine().md  # the same extensions and the same refusals (no raw HTML, no quotes)
        collected = self

        class Collect(Treeprocessor):
            def run(self, root: Any) -> None:
                for element in root.iter("a"):
                    # Images are not collected: a remote one is already an error (the site shows it as a link),
                    # an inline one has nothing to fetch, and a local one names a docs file, not a page.
                    if element.get("href"):
                        collected.collected.append(safe._attribute_value(element.get("href", "")))

        # Treeprocessors run by descending priority: after the inline patterns (20) made the links, before the
        # field's own (5) rewrote their targets for the page they are shown on.
        self.md.treeprocessors.register(Collect(self.md), "runbinder-links", 6)


_LINK_ENGINE: _LinkEngine | None = None


def _link_engine() -> _LinkEngine:
    global _LINK_ENGINE
    if _LINK_ENGINE is None:
        _LINK_ENGINE = _LinkEngine()
    return _LINK_ENGINE
