"""What `mkdocs build` made, kept for the next build: its generated pages (``<cache_dir>/pages.json``), its
loaded runbook and catalog files (``documents.json``) and print.html (``print.html``).

A second build of an unchanged project makes no page again: at 1,000 runbooks, making them costs more than a
second of the build. The file holds one entry, the pages of the last build, under a digest of everything they were
made from (``site_key``): runbinder's code, the versions of the libraries that shape their HTML, the date, the link
style, the pages links may name, every runbook, catalog and site file, the shared pages' text and the schemas.
Anything else is a miss, and the pages are made as usual. A file's data is kept under its path, name and the
digest of its bytes, and only when it loaded without any problem; validation across files (references, variables)
still runs on every build. print.html is kept under a digest of the site key, the printing options and every
page MkDocs rendered (its URL and HTML).

The pages' Markdown is put into the site as it is, and kept data stands for what a file says, so an entry must be
one this machine's user wrote: each file is signed (keyed BLAKE2b) with a key that is kept outside the project, in
the user's cache folder (``$XDG_CACHE_HOME/runbinder/pages.key``, readable by the user only), never in
``.runbinder-cache``. A file that was planted, restored from another machine, truncated or written by another
version is not ours and is ignored.
Like every cache here it is a convenience: a file that cannot be read or written costs the next build time, never
the build. Without a key (a home that cannot be written) nothing is kept.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import math
import os
import secrets
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import safe
from ..atomic import write_atomically
from ..loader import Document
from ..schemas import schema_dir
from . import blocks as b

if TYPE_CHECKING:
    from .base import Renderer

FILE_NAME = "pages.json"
DOCUMENTS = "documents.json"
PRINT_PAGE = "print.html"
_MAGIC = b"runbinder-pages 1 "
_KEY_BYTES = 32
# Libraries whose output reaches the pages' and print.html's HTML (segno draws print.html's QR codes).
_LIBRARIES = ("markdown", "pymdown-extensions", "nh3", "pygments", "segno")


def key_file() -> Path:
    """Where this user's signing key is kept: beside other programs' caches, not in the project."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runbinder" / "pages.key"


def signing_key() -> bytes | None:
    """This user's key, made on first use (readable by the user only); None when it can be neither read nor made."""
    path = key_file()
    for _ in range(2):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            try:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another build made it meanwhile: read that one
                continue
            except OSError:
                return None
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(_KEY_BYTES))
            continue
        except OSError:
            return None
        return data if len(data) == _KEY_BYTES else None
    return None


@functools.cache
def _versions() -> str:
    from ..checks.cache import code_digest

    parts = [code_digest()]
    for name in _LIBRARIES:
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} -")
    schemas = hashlib.sha256()
    for path in sorted(schema_dir().glob("*.json")):
        schemas.update(path.name.encode() + b"\0" + path.read_bytes())
    parts.append(schemas.hexdigest())
    return "\n".join(parts)


def site_key(renderer: Renderer) -> str:
    """A digest of everything the generated pages (shared pages aside) are made from."""
    digest = hashlib.sha256()
    for part in (_versions(), renderer.context_digest(), renderer.runbooks_digest()):
        digest.update(part.encode("utf-8", errors="surrogatepass") + b"\n")
    for path, source in sorted(renderer.index.files.items()):
        if path.endswith(".md"):  # shared pages: their links make backlinks on runbook pages
            try:
                digest.update(path.encode() + b"\0" + Path(source).read_bytes() + b"\0")
            except OSError:
                digest.update(path.encode() + b"\0unreadable\0")
    return digest.hexdigest()


def _sign(key: bytes, payload: bytes | memoryview) -> bytes:
    return hashlib.blake2b(payload, key=key, digest_size=32).hexdigest().encode()


def _read_bytes(path: Path) -> bytes | None:
    """What ``path`` holds when this user signed it, else None (the signature is checked in place: print.html is
    tens of megabytes, copied once)."""
    key = signing_key()
    if key is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    end = data.find(b"\n")
    if end < 0 or not data.startswith(_MAGIC):
        return None
    if not hmac.compare_digest(data[len(_MAGIC) : end], _sign(key, memoryview(data)[end + 1 :])):
        return None
    return data[end + 1 :]


def _read_signed(path: Path) -> Any:
    """The JSON in ``path`` when this user signed it, else None."""
    payload = _read_bytes(path)
    try:
        return json.loads(payload) if payload is not None else None
    except ValueError:
        return None


def _write_signed(path: Path, entry: Any) -> None:
    """Write ``entry`` as JSON signed with this user's key (nothing without one; a failure only costs time)."""
    _write_bytes(path, json.dumps(entry, separators=(",", ":")).encode("ascii"))


def _write_bytes(path: Path, payload: bytes) -> None:
    key = signing_key()
    if key is None:
        return
    with contextlib.suppress(OSError):
        write_atomically(path, _MAGIC + _sign(key, payload) + b"\n" + payload, sync=False)


def print_key(renderer: Renderer, settings: str, rendered: Mapping[str, tuple[str, str]]) -> str:
    """A digest of everything print.html is made from: the project (``site_key``), the printing ``settings`` and
    every rendered page's URL and HTML."""
    digest = hashlib.blake2b(digest_size=32)
    digest.update(f"{site_key(renderer)}\n{settings}\n".encode("utf-8", errors="surrogatepass"))
    for src, (url, content) in sorted(rendered.items()):
        digest.update(f"{len(src)}:{src}{len(url)}:{url}{len(content)}:".encode("utf-8", errors="surrogatepass"))
        digest.update(content.encode("utf-8", errors="surrogatepass"))
    return digest.hexdigest()


def load_print_page(directory: Path, key: str) -> bytes | None:
    """The print.html kept under ``key``, or None."""
    payload = _read_bytes(directory / PRINT_PAGE)
    kept_key, _, page = payload.partition(b"\n") if payload is not None else (b"", b"", b"")
    return page if kept_key == key.encode() else None


def save_print_page(directory: Path, key: str, page: bytes) -> None:
    """Keep print.html under ``key``."""
    _write_bytes(directory / PRINT_PAGE, key.encode() + b"\n" + page)


def load(directory: Path, site: str) -> dict[str, b.Page] | None:
    """The kept pages made from exactly what ``site`` digests, their fragments put into ``safe.FRAGMENTS``; None
    when there are none (or none this user wrote)."""
    entry = _read_signed(directory / FILE_NAME)
    if not isinstance(entry, dict) or entry.get("site") != site:
        return None
    nonce, fragments, rows = entry.get("nonce"), entry.get("fragments"), entry.get("pages")
    if not (isinstance(nonce, str) and isinstance(fragments, dict) and isinstance(rows, list)):
        return None
    # The markers carry the nonce of the process that wrote them; this process knows them by its own.
    old, new = "rbfrag" + nonce, "rbfrag" + safe.FRAGMENTS.nonce
    pages = {}
    for row in rows:
        if not (isinstance(row, list) and len(row) == 4 and all(isinstance(v, str) for v in row[:3])):
            return None
        path, title, markdown, searchable = row
        pages[path] = b.Page(path, title, markdown.replace(old, new), searchable=searchable is True)
    safe.FRAGMENTS.store.update({k: v for k, v in fragments.items() if isinstance(v, str)})
    return pages


def save(directory: Path, site: str, pages: dict[str, b.Page]) -> None:
    """Keep ``pages`` (with the fragments they carry) for the next build made from what ``site`` digests. A
    convenience: when it cannot be written, the next build makes its pages again."""
    store = safe.FRAGMENTS.store
    used: dict[str, str] = {}
    for page in pages.values():
        for marker in safe.FRAGMENTS.pattern.finditer(page.markdown):
            used[marker.group(1)] = store.get(marker.group(1), "")
    entry: dict[str, Any] = {
        "site": site,
        "nonce": safe.FRAGMENTS.nonce,
        "pages": [[page.path, page.title, page.markdown, page.searchable] for page in pages.values()],
        "fragments": used,
    }
    _write_signed(directory / FILE_NAME, entry)


def load_documents(directory: Path) -> dict[Path, Document]:
    """The files the last build loaded without a problem, by path, as ``load_project``'s ``cache`` takes them: one
    is used only while its name and the digest of its bytes are unchanged."""
    entry = _read_signed(directory / DOCUMENTS)
    if not isinstance(entry, dict) or entry.get("versions") != _versions():
        return {}
    out = {}
    for path, row in (entry.get("files") or {}).items():
        if not (isinstance(row, list) and len(row) == 4 and row[2] in ("catalog", "runbook")):
            continue
        display, digest, kind, data = row
        if isinstance(display, str) and isinstance(digest, str) and isinstance(data, dict):
            out[Path(path)] = Document(
                Path(path), display, kind, data=data, digest=digest, schema_diagnostics=[], invalid_paths=[]
            )
    return out


def save_documents(
    directory: Path, documents: Iterable[Document], known: Mapping[Path, Document], merge: bool = False
) -> None:
    """Keep every file that loaded without a problem and whose data JSON holds exactly (``known``: what was read
    back; nothing is written when they are the same files). ``merge``: ``documents`` are some of the project's files
    (`runbinder check FILE`): the other files kept stay kept."""
    clean = [d for d in documents if d.data is not None and not d.diagnostics and d.schema_diagnostics == []]
    clean = [d for d in clean if not d.invalid_paths and _plain(d.data)]
    if merge:
        loaded = {d.path for d in documents}
        clean += [d for path, d in known.items() if path not in loaded]
    if {d.path: (d.display, d.digest) for d in clean} == {p: (d.display, d.digest) for p, d in known.items()}:
        return
    files = {str(d.path): [d.display, d.digest, d.kind, d.data] for d in clean}
    _write_signed(directory / DOCUMENTS, {"versions": _versions(), "files": files})


def _plain(data: Any) -> bool:
    """Whether ``data`` holds nothing JSON would change: string keys, finite numbers."""
    if isinstance(data, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in data.items())
    if isinstance(data, list):
        return all(_plain(v) for v in data)
    if isinstance(data, float):
        return math.isfinite(data)
    return data is None or isinstance(data, (str, int, bool))
