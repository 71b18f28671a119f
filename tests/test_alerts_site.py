"""The alert addresses in the built site, the other faces of `runbinder alerts`, and hostile rule text on the page."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from runbinder.alerts import classify
from runbinder.render.lists import alerts_page
from runbinder.render.site import SiteRenderer
from runbinder.rules import load_rule_bytes
from runbinder.validate import load_project, safe_view

from .conftest import CASES, ROOT, build_project, mkdocs_build
from .hostile import MARKDOWN_PAYLOADS, PLAIN_PAYLOADS
from .test_alerts import SITE_URL, project, run
from .test_safe import _site_markdown, assert_inert, elements


def site_project(tmp_path: Path) -> Path:
    """The fixture project as a site: mkdocs.yml with alert_rules and site_url."""
    project(tmp_path)
    (tmp_path / "docs").mkdir()
    config = {
        "site_name": "Alerts",
        "site_url": SITE_URL,
        "use_directory_urls": False,
        "theme": {"name": "material", "font": False},
        "plugins": ["search", {"runbinder": {"checks": "off", "print_page": False, "alert_rules": ["rules/*.yaml"]}}],
        "validation": {"omitted_files": "warn", "unrecognized_links": "warn", "anchors": "warn"},
    }
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp_path


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)


def ids_of(page: Path) -> set[str]:
    parser = _Ids()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.ids


def test_every_written_url_resolves_in_the_built_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = site_project(tmp_path)
    monkeypatch.chdir(site)
    _, _, err = run(capsys, "alerts", "runbooks", "--rules", "rules/*.yaml", "--site-url", SITE_URL, "--write-urls")
    assert "set 2 runbook_url(s) in rules/node.rules.yaml" in err
    result = mkdocs_build(site)
    assert result.returncode == 0, result.stderr
    assert "(alert.no-runbook)" in result.stderr  # findings are build warnings
    urls = []
    for rules in (site / "rules").glob("*.yaml"):
        for document in yaml.safe_load_all(rules.read_text(encoding="utf-8")):
            for group in (document or {}).get("spec", document or {}).get("groups", []) if document else []:
                urls += [
                    r["annotations"]["runbook_url"] for r in group["rules"] if "runbook_url" in r.get("annotations", {})
                ]
    written = [u for u in urls if u.startswith(SITE_URL)]
    assert len(written) == 5  # NodeDown, DiskFilling (two), KubePodCrashLooping, HighLatency
    for url in written:
        parts = urlsplit(url)
        page = site / "site" / parts.path.removeprefix(urlsplit(SITE_URL).path)
        assert page.is_file(), url
        assert parts.fragment in ids_of(page), url
    # The runbooks' "Triggered by" links lead to the same addresses, and the index shows each alert's rules.
    html = (site / "site" / "runbooks" / "disk-filling.html").read_text(encoding="utf-8")
    assert 'href="../alerts.html#alert-DiskFilling"' in html
    index = (site / "site" / "alerts.html").read_text(encoding="utf-8")
    assert "instance:node_filesystem_avail:ratio &lt; 0.05" in index
    assert "severity critical, for 5m" in index
    assert "Disk almost full." in index


def test_strict_build_fails_on_alert_findings(tmp_path: Path) -> None:
    result = mkdocs_build(site_project(tmp_path), "--strict")
    assert result.returncode != 0
    assert "rules/node.rules.yaml:43:16: error: alert 'TargetDown' (severity=warning) has no runbook" in result.stderr


def test_alerts_page_keeps_hostile_rule_text_inert(tmp_path: Path) -> None:
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    payloads = [p for _, p in PLAIN_PAYLOADS + MARKDOWN_PAYLOADS]
    rules = [
        {
            "alert": payload,
            "expr": payload,
            "for": payload,
            "labels": {"severity": payload},
            "annotations": {"summary": payload, "runbook_url": payload},
        }
        for payload in payloads
    ]
    text = yaml.safe_dump({"groups": [{"name": payloads[0], "rules": rules}]})
    found = load_rule_bytes(text.encode(), tmp_path / "r.yaml", "<script>r.yaml")
    base = (runbooks / "payments-down.yaml").read_text(encoding="utf-8")
    alerts = [{"name": p, "condition": p, "labels": {"severity": p}} for p in payloads[:8]]
    (runbooks / "payments-down.yaml").write_text(base + yaml.safe_dump({"alerts": alerts}), encoding="utf-8")
    index = safe_view(load_project(runbooks, None, tmp_path)).index
    coverage = classify(index, [found], site_url=SITE_URL)
    assert len(coverage.rules) == len(payloads)
    page = alerts_page(SiteRenderer(index, today=date(2026, 11, 22), directory_urls=False), coverage)
    converted = _site_markdown(tmp_path).convert(page.markdown)
    assert_inert(converted)
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", converted, re.S)
    assert len(headings) == len(set(payloads))
    shown = "".join(elements(converted).text)
    for payload in PLAIN_PAYLOADS:
        assert " ".join(payload[1].split()) in shown
    assert all(re.fullmatch(r"alert-[a-z0-9-]+", i) for i in re.findall(r'<h2 id="([^"]+)"', converted))


def test_hostile_alert_names_cannot_forge_output_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    name = "X\n::error file=evil::forged\u202e ##[command]x"
    (tmp_path / "r.yaml").write_text(
        yaml.safe_dump({"groups": [{"name": "g", "rules": [{"alert": name, "expr": "up"}]}]}), encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    for fmt in ("text", "github", "json"):
        _, out, _ = run(capsys, "alerts", str(runbooks), "--rules", "r.yaml", "--format", fmt)
        assert all(
            not line.lstrip().startswith("::") or line.startswith("::error file=r.yaml") for line in out.splitlines()
        )
        if fmt != "github":  # a github line is a workflow command already; its message is GitHub-escaped
            assert "##[" not in out
        assert "\u202e" not in out


def test_pytest_items_one_per_rule(pytester: pytest.Pytester) -> None:
    project(pytester.path)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    result = pytester.runpytest("--runbinder", "--runbinder-rules", "rules/*.yaml", "rules", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=6)
    result.stdout.fnmatch_lines(
        [
            "*FAILED rules/kube-prometheusRule.yaml::HighLatency*",
            "*FAILED rules/kube-prometheusRule.yaml::Watchdog*",
            "*FAILED rules/node.rules.yaml::DiskFilling?critical?*",
        ]
    )
    result.stdout.fnmatch_lines(["*rules/node.rules.yaml:43:16: error: alert 'TargetDown' (severity=warning) has no*"])


def test_the_pre_commit_hook_runs_runbinder_alerts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    hook = hooks["runbinder-alerts"]
    assert hook["pass_filenames"] is False
    assert re.search(hook["files"], "monitoring/rules.yaml")
    site = project(tmp_path)
    # What pre-commit runs: the entry, then the user's args (no file names).
    command = [*hook["entry"].split(), "runbooks", "--rules", "rules/*.yaml"]
    assert command[0] == "runbinder"
    result = subprocess.run(
        [sys.executable, "-m", "runbinder", *command[1:]],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "(alert.no-runbook)" in result.stdout
