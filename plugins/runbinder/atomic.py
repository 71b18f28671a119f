"""Files written in one step: a temporary file beside the target, then a rename. A reader (or the next run, after a
crash or a kill) sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, sync: bool = True, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically, with permissions ``mode`` (mkstemp's own are owner-only). ``sync``
    puts the bytes on disk before the rename, so a power cut cannot publish an empty file. A link at ``path`` is
    replaced itself, never followed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
