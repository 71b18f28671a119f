"""`runbinder alerts --write-urls`: runbook_url set in place, and nothing else in the file changed."""

from __future__ import annotations

import difflib
import re
import stat
from pathlib import Path

import pytest

from runbinder.rules import load_rule_bytes
from runbinder.rules_write import RewriteError, UrlEdit, rewrite, write_atomically

from .test_alerts import HERE, SITE_URL, golden, project, run

URL_LINE = re.compile(r"^\s*runbook_url: ")


@pytest.fixture
def fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project(tmp_path))
    return tmp_path


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines removed and added between two texts."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def test_dry_run_prints_the_diff_and_writes_nothing(fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.read_bytes() for p in (fixture / "rules").iterdir()}
    args = ["alerts", "runbooks", "--rules", "rules/*.yaml", "--site-url", SITE_URL, "--write-urls", "--dry-run"]
    code, out, err = run(capsys, *args)
    assert code == 0
    golden("write-urls.diff", out)
    assert err == "would set 3 runbook_url(s) in 2 file(s)\n"
    assert {p.name: p.read_bytes() for p in (fixture / "rules").iterdir()} == before


def test_rewritten_files_differ_only_in_runbook_url(fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    originals = {p.name: p.read_text(encoding="utf-8") for p in (fixture / "rules").iterdir()}
    code, out, err = run(
        capsys, "alerts", "runbooks", "--rules", "rules/*.yaml", "--site-url", SITE_URL, "--write-urls"
    )
    assert code == 1  # what --write-urls cannot fix remains: rules without a runbook, one claimed twice
    assert "(alert.runbook-url)" not in out
    assert "set 2 runbook_url(s) in rules/node.rules.yaml" in err
    for name, before in originals.items():
        after = (fixture / "rules" / name).read_text(encoding="utf-8")
        removed, added = changed_lines(before, after)
        assert all(URL_LINE.match(line) for line in removed), removed
        assert all(URL_LINE.match(line) or line.strip() == "annotations:" for line in added), added
    node = (fixture / "rules" / "node.rules.yaml").read_text(encoding="utf-8")
    assert (
        "          runbook_url: 'https://runbooks.example.com/alerts.html#alert-DiskFilling'\n" in node
    )  # quotes kept
    assert "        labels: {severity: critical}\n        annotations:\n          summary: Disk almost full.\n" in node
    assert "          runbook_url: https://runbooks.example.com/alerts.html#alert-DiskFilling\n" in node
    # A second run has nothing left to write.
    code, out, err = run(capsys, "alerts", "runbooks", "--rules", "rules", "--site-url", SITE_URL, "--write-urls")
    assert "set " not in err


def test_a_manifest_like_kube_prometheus_keeps_its_layout() -> None:
    """kube-prometheus' layout: sequences not indented under their key, long lines, block scalars with comments,
    several documents; a runbook_url already right is left as it is."""
    text = (HERE / "rules" / "kube-prometheusRule.yaml").read_text(encoding="utf-8")
    found = load_rule_bytes(text.encode(), Path("k.yaml"), "k.yaml")
    edits = [UrlEdit(r.document, r.where, f"{SITE_URL}alerts.html#alert-{r.name}") for r in found.rules]
    new = rewrite(found, edits)
    assert changed_lines(text, new) == (
        [],
        [
            "        runbook_url: https://runbooks.example.com/alerts.html#alert-HighLatency",
            "        runbook_url: https://runbooks.example.com/alerts.html#alert-Watchdog",
        ],
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "x: &a {runbook_url: old}\ngroups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations: *a\n"
            "  - alert: B\n    expr: up\n    annotations: *a\n",
            "setting runbook_url here would also change line 1",
        ),
        (
            "groups:\n    - name: g\n      rules:\n        - alert: A\n          expr: up\n",  # two indentations
            "setting runbook_url here would also change line",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    annotations: [not, a, mapping]\n",
            "the annotations of alert 'A' are not a mapping",
        ),
    ],
)
def test_a_file_that_would_change_elsewhere_is_left_alone(text: str, reason: str) -> None:
    found = load_rule_bytes(text.encode(), Path("r.yaml"), "r.yaml")
    edits = [UrlEdit(r.document, r.where, "https://x.example/alerts.html#alert-A") for r in found.rules[:1]]
    with pytest.raises(RewriteError, match=re.escape(reason)):
        rewrite(found, edits)


def test_empty_documents_crlf_and_a_closing_marker_survive() -> None:
    text = "---\n---\n# rules\ngroups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n...\n"
    for source in (text, text.replace("\n", "\r\n")):
        found = load_rule_bytes(source.encode(), Path("r.yaml"), "r.yaml")
        new = rewrite(found, [UrlEdit(found.rules[0].document, found.rules[0].where, "https://x/a.html#alert-A")])
        newline = "\r\n" if "\r\n" in source else "\n"
        assert new == source.replace(
            f"    expr: up{newline}",
            f"    expr: up{newline}    annotations:{newline}      runbook_url: https://x/a.html#alert-A{newline}",
        )


def test_writes_are_atomic_keep_the_mode_and_refuse_a_file_changed_since(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("groups: []\n", encoding="utf-8")
    path.chmod(0o640)
    found = load_rule_bytes(path.read_bytes(), path, "r.yaml")
    write_atomically(found, "groups: [] # new\n")
    assert path.read_text(encoding="utf-8") == "groups: [] # new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["r.yaml"]  # no temporary file left behind
    with pytest.raises(RewriteError, match="changed on disk since it was read"):
        write_atomically(found, "groups: []\n")  # `found` holds the old bytes
    assert path.read_text(encoding="utf-8") == "groups: [] # new\n"


def test_a_refused_file_is_a_located_error_and_the_others_are_written(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = fixture / "rules" / "shared.yaml"
    text = (
        "common: &shared\n  summary: Shared annotations.\ngroups:\n- name: g\n  rules:\n  - alert: NodeDown\n"
        "    expr: up == 0\n    labels: {severity: critical}\n    annotations: *shared\n"
        "  - alert: DiskFilling\n    expr: up == 0\n    labels: {severity: critical}\n    annotations: *shared\n"
    )
    shared.write_text(text, encoding="utf-8")
    args = ["alerts", "runbooks", "--rules", "rules/*.yaml", "--site-url", SITE_URL, "--write-urls"]
    code, out, err = run(capsys, *args)
    assert code == 1
    assert (
        "rules/shared.yaml:9:5: error: runbook_url not written in this file: alert 'NodeDown' would change in "
        "more than its runbook_url (annotations shared through an anchor and alias?); set the runbook_url by hand "
        "(rules.rewrite)"
    ) in out.splitlines()
    assert shared.read_text(encoding="utf-8") == text
    assert "set 2 runbook_url(s) in rules/node.rules.yaml" in err
