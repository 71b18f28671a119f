"""Publishing a built site in one step: build into a staging folder beside it, swap it in only on success.

MkDocs empties ``site_dir`` before it builds; a build that then fails (a crashing plugin, ``--strict`` warnings,
Ctrl-C, ``kill -9``, a full disk) would leave a half-written or empty site where the last good one was. With a
stage, MkDocs empties and fills a fresh folder instead, and the published folder changes only in ``commit``: by
one atomic exchange of the two directories where the system offers it (Linux ``renameat2(RENAME_EXCHANGE)``),
else by two renames. Folders left by killed builds are removed by the next build.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

STAGING = ".runbinder-staging-"
OLD = ".runbinder-old-"


@dataclass
class Stage:
    """A build in progress: ``staging`` is filled, ``target`` is the published site."""

    target: Path
    staging: Path

    @classmethod
    def begin(cls, target: Path, keep_existing: bool = False) -> Stage:
        """A fresh staging folder beside ``target`` (on the same file system, so the swap is a rename).

        ``keep_existing`` copies the published site first, for builds that only rewrite changed pages
        (``mkdocs build --dirty``)."""
        target = Path(os.path.abspath(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGING}{os.getpid()}-", dir=target.parent))
        if keep_existing and target.is_dir():
            shutil.copytree(target, staging, symlinks=True, dirs_exist_ok=True)
        return cls(target, staging)

    def commit(self) -> None:
        """Make the staged site the published one, then remove the old one."""
        if not os.path.lexists(self.target):
            os.rename(self.staging, self.target)
            return
        if _exchange(self.staging, self.target):
            shutil.rmtree(self.staging, ignore_errors=True)  # now holds the previous site
            return
        old = Path(tempfile.mkdtemp(prefix=f".{self.target.name}{OLD}{os.getpid()}-", dir=self.target.parent))
        os.rmdir(old)
        os.rename(self.target, old)
        try:
            os.rename(self.staging, self.target)
        except OSError:
            os.rename(old, self.target)  # put the previous site back before reporting
            raise
        shutil.rmtree(old, ignore_errors=True)

    def abandon(self) -> None:
        """Throw the staged build away; the published site was never touched."""
        shutil.rmtree(self.staging, ignore_errors=True)


def sweep(target: Path) -> list[Path]:
    """Remove staging and old folders beside ``target`` left by builds whose process is gone."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            for marker in (STAGING, OLD):
                prefix = f".{target.name}{marker}"
                if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False):
                    pid = entry.name[len(prefix) :].split("-", 1)[0]
                    if pid.isdigit() and not _alive(int(pid)):
                        shutil.rmtree(entry.path, ignore_errors=True)
                        removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux 3.15+, most local file systems); False where that is not offered."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(b))


def strict_warnings() -> int:
    """How many warnings the generator counted so far in this build (MkDocs and ProperDocs abort a ``--strict``
    build after the last ``on_post_build`` if there are any, so a site with them must not be published). MkDocs
    counts on the ``mkdocs`` logger, ProperDocs on ``properdocs``, each with its own ``CountHandler``."""
    total = 0
    for name in ("mkdocs", "properdocs"):
        for handler in logging.getLogger(name).handlers:
            if type(handler).__name__ == "CountHandler" and hasattr(handler, "get_counts"):
                total += sum(count for _, count in handler.get_counts())
    return total
