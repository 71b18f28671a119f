"""The test environment is pinned: every distribution `make venv` installs for runbinder[test] (and, transitively,
what those need) has its version in constraints.txt, so an upstream release cannot change what CI runs."""

from __future__ import annotations

import re
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .conftest import ROOT


def _pinned() -> set[str]:
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    return {canonicalize_name(m.group(1)) for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", text, re.M)}


def _needed(name: str, extras: frozenset[str], seen: dict[str, frozenset[str]]) -> None:
    key = canonicalize_name(name)
    if key in seen and extras <= seen[key]:
        return
    extras = extras | seen.get(key, frozenset())
    seen[key] = extras
    for line in metadata.requires(name) or []:
        requirement = Requirement(line)
        environments = [{"extra": e} for e in extras] or [{"extra": ""}]
        if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
            _needed(requirement.name, frozenset(requirement.extras), seen)


def test_every_installed_dependency_is_pinned() -> None:
    seen: dict[str, frozenset[str]] = {}
    _needed("runbinder", frozenset({"test"}), seen)
    needed = set(seen) - {"runbinder"}
    assert len(needed) > 40  # the walk followed the extras (binder, test) and what they need
    assert sorted(needed - _pinned()) == []


def test_the_lock_holds_the_upper_bound_mkdocs_needs() -> None:
    text = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    version = re.search(r"^mkdocs==(\d+)\.", text, re.M)
    assert version is not None
    assert int(version.group(1)) < 2  # MkDocs 2.0 removes the plugin system
    assert re.search(r'"mkdocs>=[^"]*<2', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
