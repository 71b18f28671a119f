"""Links: those written in the YAML, every href/src/#fragment of a built site, and (opt-in) external URLs."""

from __future__ import annotations

import fnmatch
import json
import os
import posixpath
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..urls import is_safe, scheme
from ..validate import Project, iter_items
from . import Item, PathT, apply_ignores

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
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, int, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("name"):
            self.ids.add(str(values["name"]))
        for attr in ("href", "src"):
            value = values.get(attr)
            if value is not None and not (tag == "link" and values.get("rel") in ("canonical", "alternate")):
                line, col = self.getpos()
                self.refs.append((attr, value, line, col + 1))


def check_site(site_dir: Path, display_root: str | None = None) -> list[Diagnostic]:
    """Every relative href/src and #fragment in every HTML file under ``site_dir`` resolves. No network."""
    pages: dict[str, _Page] = {}
    for path in sorted(site_dir.rglob("*.html")):
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8", errors="replace"))
        pages[path.relative_to(site_dir).as_posix()] = parser
    shown = display_root or str(site_dir)
    out = []
    for rel, page in pages.items():
        for attr, value, line, col in page.refs:
            parts = urllib.parse.urlsplit(value)
            if parts.scheme or value.startswith("//"):
                if not is_safe(value) and value != "javascript:void(0)":  # Material's inert share button
                    out.append(
                        Diagnostic(f"{shown}/{rel}", line, col, "error", f"{attr} uses {parts.scheme}:", "site.scheme")
                    )
                continue
            ref_path = urllib.parse.unquote(parts.path)
            if not ref_path:
                target = rel
            elif ref_path.startswith("/"):  # root-relative, as in MkDocs' 404 page
                target = posixpath.normpath(ref_path.lstrip("/"))
            else:
                target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), ref_path))
            if parts.path.endswith("/") or (parts.path and (site_dir / target).is_dir()):
                target = posixpath.join(target, "index.html")
            if target.startswith("../") or not (site_dir / target).exists():
                out.append(
                    Diagnostic(
                        f"{shown}/{rel}", line, col, "error", f"{attr}={value!r}: {target} does not exist", "site.link"
                    )
                )
                continue
            fragment = urllib.parse.unquote(parts.fragment)
            if fragment and target in pages and fragment not in pages[target].ids:
                out.append(
                    Diagnostic(
                        f"{shown}/{rel}",
                        line,
                        col,
                        "error",
                        f"{attr}={value!r}: no element with id {fragment!r} in {target}",
                        "site.anchor",
                    )
                )
    return out


# --------------------------------------------------------------------------- online


@dataclass
class OnlineOptions:
    """How external URLs are checked."""

    timeout: float = 10.0
    retries: int = 3
    backoff: float = 1.0
    max_wait: float = 30.0
    workers: int = 8
    cache_dir: Path = Path(".runbinder-cache")
    cache_ttl: float = 24 * 3600.0
    skip_hosts: Sequence[str] = DEFAULT_SKIP_HOSTS


@dataclass
class Outcome:
    """What an external URL answered."""

    ok: bool
    detail: str


def _skipped(url: str, skip_hosts: Iterable[str]) -> bool:
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    return any(fnmatch.fnmatchcase(host, pattern) for pattern in skip_hosts)


class _NoRedirectLoop(urllib.request.HTTPRedirectHandler):
    max_redirections = 10


def fetch(url: str, options: OnlineOptions, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """HEAD (then GET when HEAD is refused) with retries and back-off on 429 and 503, honouring Retry-After."""
    opener = urllib.request.build_opener(_NoRedirectLoop())
    attempt = 0
    method = "HEAD"
    while True:
        request = urllib.request.Request(url, method=method, headers={"User-Agent": "runbinder-link-check"})
        try:
            with opener.open(request, timeout=options.timeout) as response:
                return Outcome(True, f"HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            if exc.code in (405, 501) and method == "HEAD":
                method = "GET"
                continue
            if exc.code in (429, 503) and attempt < options.retries:
                retry_after = exc.headers.get("Retry-After", "") if exc.headers else ""
                wait = float(retry_after) if retry_after.isdigit() else options.backoff * (2**attempt)
                sleep(min(wait, options.max_wait))
                attempt += 1
                continue
            if 300 <= exc.code < 400:
                return Outcome(False, f"redirect loop or too many redirects (HTTP {exc.code})")
            return Outcome(False, f"HTTP {exc.code}")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Outcome(False, f"no answer: {reason}")


class LinkCache:
    """Results of online checks by URL, kept for ``ttl`` seconds in .runbinder-cache/links.json."""

    def __init__(self, directory: Path, ttl: float) -> None:
        self.path = directory / "links.json"
        self.ttl = ttl
        try:
            self.entries: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    def get(self, url: str) -> Outcome | None:
        entry = self.entries.get(url)
        if not isinstance(entry, dict) or time.time() - float(entry.get("at", 0)) > self.ttl:
            return None
        return Outcome(bool(entry["ok"]), str(entry["detail"]))

    def put(self, url: str, outcome: Outcome) -> None:
        self.entries[url] = {"ok": outcome.ok, "detail": outcome.detail, "at": time.time()}

    def save(self) -> None:
        """Write atomically: a crash never leaves a truncated cache."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".links-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.entries, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.path)


def check_online(items: Sequence[Item], options: OnlineOptions) -> dict[str, list[Diagnostic]]:
    """External http(s) links of ``items``, checked concurrently; results by item node id."""
    cache = LinkCache(options.cache_dir, options.cache_ttl)
    urls = sorted(
        {
            str(i.data["url"])
            for i in items
            if str(i.data.get("url", "")).startswith(("http://", "https://"))
            and not _skipped(str(i.data["url"]), options.skip_hosts)
        }
    )
    outcomes: dict[str, Outcome] = {}
    for url in urls:
        cached = cache.get(url)
        if cached is not None:
            outcomes[url] = cached
    todo = [u for u in urls if u not in outcomes]
    with ThreadPoolExecutor(max_workers=max(1, options.workers)) as pool:
        for url, fetched in zip(todo, pool.map(lambda u: fetch(u, options), todo), strict=True):
            cache.put(url, fetched)
            outcomes[url] = fetched
    if todo:
        cache.save()
    results: dict[str, list[Diagnostic]] = {}
    for item in items:
        url = str(item.data.get("url", ""))
        outcome = outcomes.get(url)
        if outcome is not None and not outcome.ok:
            found = [item.diagnostic(f"{url}: {outcome.detail}", "link.dead", at=(*item.path, "url"))]
            results[item.nodeid] = apply_ignores(item, found, report_unused=False)
    return results
