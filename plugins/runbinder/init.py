"""``runbinder init DIR``: a runbook site a team can adopt in minutes."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from .schemas import schema_dir

SCAFFOLD = Path(__file__).parent / "scaffold"
# Dotfiles are stored without their dot so packaging tools do not skip them.
RENAMES = {"gitignore": ".gitignore", "pre-commit-config.yaml": ".pre-commit-config.yaml"}


def plan(target: Path) -> list[tuple[Path, Path]]:
    """(source, destination) for every file init writes: the scaffold and a copy of the schemas for editors."""
    pairs = []
    for source in sorted(SCAFFOLD.rglob("*")):
        if source.is_file():
            rel = source.relative_to(SCAFFOLD)
            pairs.append((source, target / rel.parent / RENAMES.get(rel.name, rel.name)))
    for schema in sorted(schema_dir().glob("*.schema.json")):
        pairs.append((schema, target / "schemas" / schema.name))
    return pairs


def init(target: Path) -> list[Path]:
    """Write the scaffold into ``target``; refuses (FileExistsError) before writing if any file exists."""
    pairs = plan(target)
    existing = [dest for _, dest in pairs if dest.exists()]
    if existing:
        raise FileExistsError(", ".join(str(p) for p in existing))
    written = []
    today = date.today().isoformat()
    for source, dest in pairs:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".yaml":  # the example runbook was reviewed today, by whoever creates the site
            dest.write_text(source.read_text(encoding="utf-8").replace("__TODAY__", today), encoding="utf-8")
        else:
            shutil.copyfile(source, dest)
        written.append(dest)
    return written
