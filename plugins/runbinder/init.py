"""``runbinder init DIR``: a runbook site a team can adopt in minutes."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from .schemas import schema_dir

SCAFFOLD = Path(__file__).parent / "scaffold"
# Dotfiles are stored without their dot so packaging tools do not skip them.
RENAMES = {"gitignore": ".gitignore", "pre-commit-config.yaml": ".pre-commit-config.yaml"}
GENERATORS = ("mkdocs", "properdocs")
"""What the site is built with. ProperDocs (the continuation of MkDocs 1.x) reads the same configuration under its
own name, properdocs.yml, and runs the same plugin; without that name it notes a legacy file name on every build."""


def plan(target: Path, generator: str = "mkdocs") -> list[tuple[Path, Path]]:
    """(source, destination) for every file init writes: the scaffold and a copy of the schemas for editors."""
    renames = {**RENAMES, **({"mkdocs.yml": "properdocs.yml"} if generator == "properdocs" else {})}
    pairs = []
    for source in sorted(SCAFFOLD.rglob("*")):
        if source.is_file():
            rel = source.relative_to(SCAFFOLD)
            name = renames.get(rel.name, rel.name) if rel.parent == Path(".") else RENAMES.get(rel.name, rel.name)
            pairs.append((source, target / rel.parent / name))
    for schema in sorted(schema_dir().glob("*.schema.json")):
        pairs.append((schema, target / "schemas" / schema.name))
    return pairs


class InitError(Exception):
    """Writing stopped part-way (a permission, a full disk, a file or link that appeared meanwhile)."""

    def __init__(self, written: list[Path], reason: str) -> None:
        super().__init__(reason)
        self.written = written
        self.reason = reason


def init(target: Path, generator: str = "mkdocs") -> list[Path]:
    """Write the scaffold into ``target`` for ``generator`` (one of GENERATORS); refuses (FileExistsError) before
    writing if any file exists.

    Nothing is written outside ``target``: a file or folder that is a symbolic link (dangling or not) counts as
    existing, each file is created exclusively without following links, and every folder created or used must
    resolve inside ``target``. If writing fails part-way, InitError lists what was written."""
    if generator not in GENERATORS:
        raise ValueError(f"unknown generator {generator!r}")
    pairs = plan(target, generator)
    existing = [dest for _, dest in pairs if os.path.lexists(dest)]
    existing += [folder for folder in _folders(target, pairs) if os.path.islink(folder)]
    if existing:
        raise FileExistsError(", ".join(str(p) for p in sorted(set(existing))))
    written: list[Path] = []
    today = date.today().isoformat()
    try:
        target.mkdir(parents=True, exist_ok=True)
        root = target.resolve()
        for source, dest in pairs:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.parent.resolve().is_relative_to(root):
                raise InitError(written, f"{dest.parent} leads outside {target}")
            data = source.read_bytes()
            if source.suffix == ".yaml":  # the example runbook was reviewed today, by whoever creates the site
                data = data.replace(b"__TODAY__", today.encode())
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            fd = os.open(dest, flags, 0o644)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            written.append(dest)
    except OSError as exc:
        raise InitError(written, f"{exc.filename or target}: {exc.strerror or exc}") from exc
    return written


def _folders(target: Path, pairs: list[tuple[Path, Path]]) -> set[Path]:
    """Every folder inside ``target`` that init would write into."""
    folders = set()
    for _, dest in pairs:
        folder = dest.parent
        while folder != target and target in folder.parents:
            folders.add(folder)
            folder = folder.parent
    return folders
