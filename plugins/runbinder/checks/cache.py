"""Verdicts of external tools (``bash -n``, ShellCheck) kept between runs, so CI, pre-commit and rebuilds pay only
for the commands that changed.

A verdict is stored under the SHA-256 of the tool's name, its version (what ``--version`` prints), the options
that change its answer and the exact text it read: a new tool version or a changed snippet is a new key. The file
(``<cache_dir>/verdicts.json``) is a convenience, never a reason to fail or to trust a wrong answer:

- a file that cannot be read, is not JSON or is not what this module writes is ignored and rewritten, and each
  entry is checked for its shape when it is used (a bad one is a miss);
- writes are atomic (a temporary file renamed over the old one) and merge what another run saved meanwhile, so
  two runs at once leave one whole file and lose at most each other's newest entries;
- only definite answers are kept: a run that hit its deadline or was killed says something about the machine
  at that moment, not about the text.

Entries unused for ``MAX_AGE_DAYS`` are dropped when the file is written.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..atomic import write_atomically
from ..diagnostics import Diagnostic

FILE_NAME = "verdicts.json"
FORMAT = 1
MAX_AGE_DAYS = 30
_DAY = 86_400


# Files this process parsed, by path: (identity of the file then, entries, versions). A long-lived process (mkdocs
# serve) reads the same unchanged file at every rebuild; it is parsed once.
_PARSED: dict[Path, tuple[tuple[int, int, int, int], dict[str, dict[str, Any]], dict[str, str]]] = {}


# Caches whose writing waits (a long-lived process: mkdocs serve), by path: the newest of each. Each save of a file
# rewrites all of it (a quarter of a second at 1,000 runbooks, on every rebuild), so they are written by
# ``write_deferred``: when the server stops, and after a rebuild at most once a minute (a server that is killed
# loses only what its last minute added); a cache opened meanwhile starts from the pending one.
_DEFERRED: dict[Path, VerdictCache] | None = None


def defer_writes() -> None:
    """From now on this process writes its caches only in ``write_deferred``."""
    global _DEFERRED
    if _DEFERRED is None:
        _DEFERRED = {}


_WRITTEN = [0.0]  # time.monotonic() of the last write_deferred


def write_deferred(unless_within: float = 0.0) -> None:
    """Write every cache whose writing waited (a convenience: one that cannot be written costs the next run time),
    unless the last such write was less than ``unless_within`` seconds ago."""
    global _DEFERRED
    if time.monotonic() - _WRITTEN[0] < unless_within:
        return
    _WRITTEN[0] = time.monotonic()
    pending, _DEFERRED = _DEFERRED, None
    try:
        for cache in (pending or {}).values():
            cache.save()
    finally:
        _DEFERRED = {} if pending is not None else None


def file_identity(stat: os.stat_result) -> tuple[int, int, int, int]:
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def _today(clock: Callable[[], float]) -> int:
    return int(clock() // _DAY)


@functools.cache
def code_digest() -> str:
    """A digest of runbinder's own Python sources: what it computed with other code (even in an editable install)
    is under another key."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def diagnostic_row(diagnostic: Diagnostic) -> list[Any]:
    """A finding as a cache file keeps it."""
    return [diagnostic.path, diagnostic.line, diagnostic.col, diagnostic.level, diagnostic.message, diagnostic.rule]


def diagnostics_from_rows(rows: object) -> list[Diagnostic] | None:
    """The findings a cache entry holds (``diagnostic_row``), or None when it is not what was written: a miss."""
    if not isinstance(rows, list):
        return None
    out = []
    for row in rows:
        if not (
            isinstance(row, list)
            and len(row) == 6
            and all(isinstance(row[i], str) for i in (0, 4, 5))
            and all(type(row[i]) is int for i in (1, 2))
            and row[3] in ("error", "warning")
        ):
            return None
        out.append(Diagnostic(*row))
    return out


def tool_version(executable: str) -> str | None:
    """The first line ``executable --version`` prints (bash and ShellCheck both answer it), or None."""
    try:
        result = subprocess.run(
            [executable, "--version"], capture_output=True, timeout=10, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = result.stdout.decode("utf-8", errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if result.returncode != 0 or not lines:
        return None
    # ShellCheck prints "ShellCheck - shell script analysis tool" first and the version on the next line.
    return " / ".join(lines[:2])[:200]


class VerdictCache:
    """Tool verdicts by key, loaded from and saved to ``<directory>/verdicts.json``."""

    def __init__(
        self,
        directory: Path,
        clock: Callable[[], float] = time.time,
        name: str = FILE_NAME,
        max_age_days: int = MAX_AGE_DAYS,
    ) -> None:
        self.path = directory / name
        self.max_age_days = max_age_days
        """Entries unused for longer are dropped when the file is written: 1 for keys that hold the date or change
        with every edit of the site, so the file stays the size of one day's work."""
        self.clock = clock
        self.entries: dict[str, dict[str, Any]] = {}
        self.versions: dict[str, str] = {}  # executable identity (path, size, mtime) -> what --version printed
        self.changed = False
        self.problem: str | None = None
        """Why the file on disk could not be used (None when it could, or did not exist); it is rewritten."""
        self._load()

    # -- keys

    def version(self, executable: str) -> str | None:
        """The tool's version, asked once per installed binary: the answer is kept with the binary's size and
        modification time, so an unchanged tool is not started just to say its version."""
        try:
            stat = os.stat(executable)
        except OSError:
            return None
        identity = f"{os.path.realpath(executable)}:{stat.st_size}:{stat.st_mtime_ns}"
        known = self.versions.get(identity)
        if known is not None:
            return known
        found = tool_version(executable)
        if found is not None:
            self.versions[identity] = found
            self.changed = True
        return found

    @staticmethod
    def key(tool: str, version: str, options: str, text: str) -> str:
        """The key of one verdict: everything that decides the tool's answer."""
        digest = hashlib.sha256()
        for part in (tool, version, options, text):
            encoded = part.encode("utf-8", errors="surrogatepass")
            digest.update(len(encoded).to_bytes(8, "big"))
            digest.update(encoded)
        return digest.hexdigest()

    # -- entries

    def get(self, key: str) -> Any:
        """The stored verdict, or None."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        today = _today(self.clock)
        if entry.get("t") != today:
            entry["t"] = today
            self.changed = True
        return entry.get("v")

    def put(self, key: str, verdict: Any) -> None:
        """Keep a definite verdict (JSON-serialisable)."""
        self.entries[key] = {"v": verdict, "t": _today(self.clock)}
        self.changed = True

    # -- the file

    def _load(self) -> None:
        pending = _DEFERRED.get(self.path) if _DEFERRED is not None else None
        if pending is not None:  # what this process kept and has not written yet
            self.entries, self.versions = dict(pending.entries), dict(pending.versions)
            self.changed, self.problem = pending.changed, pending.problem
            return
        loaded = self._read(self.path)
        if loaded is None:
            return
        self.entries, self.versions = loaded

    def _read(self, path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]] | None:
        try:
            with open(path, "rb") as file:
                identity = file_identity(os.fstat(file.fileno()))
                known = _PARSED.get(path)
                if known is not None and known[0] == identity:  # parsed before, unchanged since (mkdocs serve)
                    return dict(known[1]), dict(known[2])
                text = file.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.problem = exc.strerror or str(exc)
            return None
        found = self._parse(text)
        if found is not None:
            _PARSED[path] = (identity, *found)
            return dict(found[0]), dict(found[1])
        return None

    def _parse(self, text: bytes) -> tuple[dict[str, dict[str, Any]], dict[str, str]] | None:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            self.problem = "not JSON"
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            self.problem = "not a verdict cache of this version"
            return None
        raw_entries, raw_versions = data.get("entries"), data.get("versions")
        entries = {
            k: v
            for k, v in (raw_entries.items() if isinstance(raw_entries, dict) else ())
            if isinstance(k, str) and isinstance(v, dict) and "v" in v and isinstance(v.get("t"), int)
        }
        versions = {
            k: v for k, v in (raw_versions.items() if isinstance(raw_versions, dict) else ()) if isinstance(v, str)
        }
        return entries, versions

    def save(self) -> str | None:
        """Write atomically if anything changed, merged with what another run saved meanwhile; returns why it
        could not be written (None when it was, or there was nothing to write)."""
        if not self.changed and self.problem is None:
            return None
        if _DEFERRED is not None:
            _DEFERRED[self.path] = self
            return None
        other = self._read(self.path) if self.path.exists() else None
        entries, versions = dict(other[0]) if other else {}, dict(other[1]) if other else {}
        entries.update(self.entries)
        versions.update(self.versions)
        oldest = _today(self.clock) - self.max_age_days
        entries = {k: v for k, v in entries.items() if v["t"] >= oldest}
        data = json.dumps({"format": FORMAT, "versions": versions, "entries": entries}, separators=(",", ":"))
        try:
            write_atomically(self.path, data.encode("utf-8"))
            # What was written need not be parsed again by this process (another run replacing the file meanwhile
            # only costs it the verdicts that run added).
            _PARSED[self.path] = (file_identity(os.stat(self.path)), entries, versions)
        except OSError as exc:
            return exc.strerror or str(exc)
        self.changed = False
        self.problem = None
        return None
