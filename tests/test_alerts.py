"""`runbinder alerts`: rules and runbooks kept in step, on fixtures of every shape (tests/alerts/).

The fixture project (tests/alerts/project, with the base catalog) and rule files (tests/alerts/rules: a plain rule
file with comments, a multi-document manifest bundle with two PrometheusRules) cover every classification: a rule
with a runbook and the right runbook_url, one name per severity (disjoint labels), one name per namespace scope
(disjoint regular expressions), two runbooks claiming one rule, rules without a runbook (a name no runbook lists,
and labels every runbook excludes), runbook alerts no rule fires, missing and wrong runbook_urls.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from runbinder.cli import main

from .conftest import CASES, build_project

HERE = Path(__file__).parent / "alerts"
EXPECTED = HERE / "expected"
SITE_URL = "https://runbooks.example.com/"


def project(tmp_path: Path) -> Path:
    """The fixture project and rule files under ``tmp_path`` (runbooks/, rules/); returns ``tmp_path``."""
    build_project(HERE / "project", tmp_path)
    shutil.copytree(HERE / "rules", tmp_path / "rules")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def golden(name: str, text: str) -> None:
    path = EXPECTED / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.fixture
def fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(project(tmp_path))
    return tmp_path


def test_text_output_classifies_every_rule_with_located_findings(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "alerts", "runbooks", "--rules", "rules/*.yaml", "--site-url", SITE_URL)
    assert code == 1
    golden("alerts.txt", out + err)


def test_json_lists_every_rule_and_every_runbook_alert(fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "alerts", "runbooks", "--rules", "rules/*.yaml", "--site-url", SITE_URL, "--format", "json"
    )
    assert code == 1
    golden("alerts.json", out)
    report = json.loads(out)
    statuses = {
        (r["alert"], r["labels"].get("severity")): (r["status"], r["runbook_url"]["status"]) for r in report["rules"]
    }
    assert statuses == {
        ("NodeDown", "critical"): ("ok", "ok"),
        ("DiskFilling", "warning"): ("ok", "wrong"),
        ("DiskFilling", "critical"): ("ok", "missing"),
        ("DiskFilling", "info"): ("alert.no-runbook", "not-checked"),
        ("TargetDown", "warning"): ("alert.no-runbook", "not-checked"),
        ("KubePodCrashLooping", "warning"): ("ok", "ok"),
        ("HighLatency", "warning"): ("alert.ambiguous", "missing"),
        ("Watchdog", "none"): ("alert.no-runbook", "not-checked"),
    }
    crash = next(r for r in report["rules"] if r["alert"] == "KubePodCrashLooping")
    assert crash["runbooks"] == ["pods-apps", "pods-platform"]  # one per namespace scope, no ambiguity
    assert len(report["runbook_alerts"]) == 9
    stale = {(a["runbook"], a["status"]) for a in report["runbook_alerts"] if a["status"] != "ok"}
    assert stale == {("node-down", "runbook.no-rule"), ("targets-down", "runbook.no-rule")}
    assert report["summary"]["rules"] == 8
    assert report["summary"]["recording_rules"] == 1
    assert report["summary"]["names_at_several_severities"] == 1


def test_github_annotations(fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "alerts", "runbooks", "--rules", "rules", "--format", "github")
    assert (
        "::error file=rules/node.rules.yaml,line=43,col=16,title=alert.no-runbook::alert 'TargetDown' "
        "(severity=warning) has no runbook: no runbook lists it under alerts; did you mean the runbook alert "
        "'TargetsDown'?"
    ) in out.splitlines()


def test_without_a_site_url_a_runbook_url_must_end_with_the_alert_address(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "alerts", "runbooks", "--rules", "rules/*.yaml", "--format", "json")
    urls = {r["alert"]: r["runbook_url"] for r in json.loads(out)["rules"] if r["alert"] == "NodeDown"}
    assert urls["NodeDown"] == {
        "status": "ok",
        "found": "https://runbooks.example.com/alerts.html#alert-NodeDown",
        "expected": "alerts.html#alert-NodeDown",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rules", "nothing/*.yaml"], "runbinder alerts: --rules 'nothing/*.yaml': no such file"),
        (["--rules", "rules", "--write-urls"], "--write-urls needs --site-url"),
        (["--rules", "rules", "--dry-run"], "--dry-run goes with --write-urls"),
    ],
)
def test_usage_errors_exit_2(fixture: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = run(capsys, "alerts", "runbooks", *args)
    assert code == 2
    assert message in err


def test_a_project_without_catalog_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "alerts", str(tmp_path), "--rules", str(HERE / "rules"))
    assert code == 2
    assert "no catalog.yaml here or above" in err


def test_check_runs_the_same_checks_with_rules(fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "runbooks", "--rules", "rules/*.yaml", "--select", "alert,runbook")
    assert code == 1
    rules = sorted({line.rsplit("(", 1)[1].rstrip(")") for line in out.splitlines()} - {"xref.alert"})
    assert rules == ["alert.ambiguous", "alert.no-runbook", "alert.runbook-url", "runbook.no-rule"]
    code, _, err = run(capsys, "check", "runbooks", "--rules", "missing.yaml")
    assert code == 2
    assert "--rules 'missing.yaml': no such file" in err


def test_strict_fails_on_warnings_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    (tmp_path / "rules.yaml").write_text("groups: []\n", encoding="utf-8")
    text = (runbooks / "payments-down.yaml").read_text(encoding="utf-8")
    (runbooks / "payments-down.yaml").write_text(text + "alerts:\n  - name: Gone\n", encoding="utf-8")
    code, out, _ = run(capsys, "alerts", str(runbooks), "--rules", str(tmp_path / "rules.yaml"))
    assert code == 0
    assert "(runbook.no-rule)" in out
    assert run(capsys, "alerts", str(runbooks), "--rules", str(tmp_path / "rules.yaml"), "--strict")[0] == 1
