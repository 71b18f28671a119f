"""Nothing lost: every command line, checklist item, table cell and list item of the four seed documents
is present in the bundled runbooks' data.

The seeds are in ../shared/seeds (beside the checkout, as in CI). Structure may change (a table row becomes
an escalation level, "Key: value" becomes fields), so a line counts as present when its text is found in
the data's strings, or, for "Key: value" and "Title (condition)" lines, when each part is.
"""

from __future__ import annotations

import os
import re

import pytest
import yaml

from .conftest import ROOT

SEEDS = ROOT.parent / "shared" / "seeds"
SERVICES = {
    "000_3d924c4727a97683.txt": "oauth2-server",
    "001_4667473d566f6546.txt": "authos-api",
    "002_f4c7a3bb8444288c.txt": "identity-otp",
    "004_cff6947dfd689058.txt": "enterprise-auth",
}
# Lines that are navigation or decoration of the source, not content; each with the reason.
NOT_CONTENT = {
    "Table of Contents": "the table of contents of the AuthOS document; its entries are the runbook titles",
    "Alert Trigger": "a label; its bullets are the runbooks' alerts",
    "Symptoms": "a label; its bullets are the runbook's symptoms",
    "Infrastructure Metrics": "a label; its bullets are the service metrics of group Infrastructure",
    "If unresolved after 30 minutes, escalate to": "introduces the escalation levels, whose `when` keeps the condition",
    "Communication Templates": "a heading; the templates are the catalog's templates",
    "Change History": "a heading; its rows are the runbooks' history entries",
    "Version": "a column heading of the change history; its values are the entries' version",
}
_DURATION = re.compile(r"<?\s*(\d+)\s*(minute|hour|day|week)s?", re.IGNORECASE)


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _norm(text: str) -> str:
    text = text.replace("**", "").replace("`", "")
    return re.sub(r"\s+", " ", text).strip().lower()


def _corpus(service: str) -> tuple[str, str]:
    strings: list[str] = []
    for path in [ROOT / "runbooks" / "catalog.yaml", *sorted((ROOT / "runbooks" / service).rglob("*.yaml"))]:
        text = path.read_text(encoding="utf-8")
        strings += _strings(yaml.safe_load(text))
        # Notes for authors (how a source table was modelled) live in YAML comments: kept, not shown to responders.
        comments = [line.strip()[1:].strip() for line in text.splitlines() if line.strip().startswith("#")]
        strings.append(" ".join(comments))
    raw = "\n".join(strings)
    return raw, _norm(raw)


def _present(text: str, raw: str, normed: str) -> bool:
    text = text.strip()
    if not text or _norm(text) in normed or text in raw:
        return True
    link = re.fullmatch(r"\[(.+?)\]\((.+?)\)(.*)", text)
    if link:
        label, target, rest = link.groups()
        parts = [label, rest] if target.startswith("#") else [label, target, rest]  # in-page anchors: the label
        return all(_present(part, raw, normed) for part in parts if part.strip(" -"))
    for separator in (": ", " - "):
        if separator in text:
            return all(_present(part, raw, normed) for part in text.split(separator, 1))
    duration = _DURATION.fullmatch(text)
    if duration:  # "< 1 hour" is stored as the duration 1h
        return f"{duration.group(1)}{duration.group(2)[0].lower()}" in raw.split("\n")
    if ", " in text:  # a list in one cell became a list in the data
        return all(_present(part, raw, normed) for part in text.split(", "))
    condition = re.fullmatch(r"(.+?)\s*\((.+)\)", text)
    return bool(condition) and _present(condition.group(1), raw, normed)


def _seed_lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, kind, text) for every content line: code, checklist, table cell, list item, heading."""
    out: list[tuple[int, str, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        opening = re.match(r"^(`{3,})(\w*)", stripped)
        if opening:
            fence = None if fence is not None else opening.group(2) or "text"
            continue
        if fence is not None:
            if fence != "mermaid" and stripped:  # mermaid charts are checked as flow data below
                out.append((number, "code", stripped))
            continue
        if not stripped or stripped == "---" or set(stripped) <= set("|-: "):
            continue
        if stripped.startswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            out += [(number, "table", c) for c in cells if c]
            continue
        item = re.sub(r"^(#+|[-*] \[ \]|[-*]|\d+\.)\s+", "", stripped)
        item = item.replace("**", "").strip("*_ ").rstrip(":")
        item = re.sub(r"^[^\w\[(<>]+", "", item)  # heading emoji are decoration
        out.append((number, "text", item))
    return out


@pytest.mark.parametrize("seed", sorted(SERVICES), ids=lambda s: SERVICES[s])
def test_seed_content_is_in_the_runbooks(seed: str) -> None:
    if not SEEDS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{SEEDS} is missing; CI runs with shared/ beside the checkout")
        pytest.skip(f"{SEEDS} is not beside this checkout")
    service_dir = ROOT / "runbooks" / SERVICES[seed]
    assert service_dir.is_dir(), f"{service_dir} is missing: seed {seed} has not been converted"
    raw, normed = _corpus(SERVICES[seed])
    missing = []
    for number, kind, line in _seed_lines((SEEDS / seed).read_text(encoding="utf-8")):
        candidates = [line]
        if kind == "code" and re.match(r"^(#|--|//)\s", line):
            candidates.append(line.split(None, 1)[1] if " " in line else line)
        if line in NOT_CONTENT or any(_present(c, raw, normed) for c in candidates):
            continue
        missing.append(f"{seed}:{number}: {kind}: {line}")
    assert missing == []


def test_seed_flowcharts_are_flow_data() -> None:
    """The OAuth2 document's incident process chart is a runbook flow, node for node."""
    seed = SEEDS / "000_3d924c4727a97683.txt"
    if not seed.exists():
        pytest.skip("seeds not present")
    chart = seed.read_text(encoding="utf-8").split("flowchart TD", 1)[1].split("```", 1)[0]
    labels = set(re.findall(r"[\[{]([^\]}]+)[\]}]", chart))
    _, normed = _corpus("oauth2-server")
    assert labels
    assert sorted(label for label in labels if _norm(label) not in normed) == []
