"""Rule files as other people write them, and label matchers as Alertmanager reads them.

Hostile or broken rule files give located errors (the runbook loader's guards, on every document of the stream),
never a traceback; matchers match, anchor and tell runbooks apart the way Alertmanager would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runbinder import rules_match
from runbinder.cli import main
from runbinder.rules import load_rule_bytes
from runbinder.sitemap import alert_target, alert_url
from runbinder.validate import load_project

from .conftest import CASES, build_project


def first(text: str | bytes) -> str:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    found = load_rule_bytes(raw, Path("r.yaml"), "r.yaml")
    assert found.diagnostics, "expected a problem"
    return found.diagnostics[0].text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up: 1\n",
            "r.yaml:5:13: error: mapping values are not allowed in this context; is there a ': ' inside an unquoted "
            "value? Quote it or use a | block (yaml.syntax)",
        ),
        ("groups:\n\t- name: g\n", "r.yaml:2:1: error: tab character: YAML indentation must use spaces (yaml.tab)"),
        (
            "groups: !!python/object:os.system {}\n",
            "r.yaml:1:9: error: tag !!python/object:os.system is not allowed: rule files are read as plain data "
            "(no custom or Python tags) (yaml.tag)",
        ),
        (
            "groups: []\n---\nkind: PrometheusRule\nspec: !include other.yaml\n",
            "r.yaml:4:7: error: tag !include is not allowed: rule files are read as plain data (no custom or Python "
            "tags) (yaml.tag)",
        ),
        (
            "".join(
                f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n" for a, b in zip("xabcd", "abcde", strict=True)
            ).replace("*x", "x")
            + "f: [*e, *e, *e]\n",
            "r.yaml:5:4: error: aliases expand this document to more than 200,000 nodes (an alias bomb?) (yaml.alias)",
        ),
        (
            "groups: " + "[" * 100 + "]" * 100 + "\n",
            "r.yaml:1:72: error: nesting is deeper than 64 levels (yaml.depth)",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    alert: B\n    expr: up\n",
            "r.yaml:5:5: error: duplicate key 'alert': YAML keeps only the last value, so an earlier one would be "
            "lost (yaml.duplicate-key)",
        ),
        (b"groups:\n- name: \xff\n", "r.yaml:2:9: error: file is not valid UTF-8 (byte 0xff) (file.encoding)"),
        (b"groups: []\n\x00", "r.yaml:0:0: error: file looks binary (it contains NUL bytes) (file.binary)"),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: !!int abc\n",
            "r.yaml:5:11: error: 'abc' is not a valid !!int value; correct it, or quote it if you meant text "
            "(yaml.value)",
        ),
        ("- a\n- b\n", "r.yaml:1:1: error: expected a mapping at the top level, found a list (rules.shape)"),
        (
            "name: x\n",
            "r.yaml:1:1: error: neither a Prometheus rule file (groups:) nor a Kubernetes PrometheusRule manifest "
            "(kind: PrometheusRule) (rules.shape)",
        ),
        ("groups: {a: 1}\n", "r.yaml:1:9: error: groups must be a list, found a mapping (rules.shape)"),
        (
            "groups:\n- just text\n",
            "r.yaml:2:3: error: each entry of groups must be a mapping, found text 'just text' (rules.shape)",
        ),
        ("groups:\n- rules: []\n", "r.yaml:2:3: error: a rule group needs a name (rules.shape)"),
        (
            "groups:\n- name: g\n  rules:\n  - expr: up\n",
            "r.yaml:4:5: error: a rule needs alert: (an alerting rule) or record: (a recording rule) (rules.shape)",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: [A]\n    expr: up\n",
            "r.yaml:4:12: error: the alert's name must be text, found a list (rules.shape)",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n",
            "r.yaml:4:12: error: alert 'A' has no expr: the expression that fires it (rules.shape)",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    labels:\n      severity: {level: 1}\n",
            "r.yaml:7:17: error: label 'severity' must be text, found a mapping (rules.shape)",
        ),
        (
            "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for: [5m]\n",
            "r.yaml:6:10: error: for must be a duration such as 5m, found a list (rules.shape)",
        ),
        (
            "kind: PrometheusRule\nspec: []\n",
            "r.yaml:2:7: error: a PrometheusRule needs a spec mapping with groups (rules.shape)",
        ),
    ],
)
def test_broken_and_hostile_rule_files_give_located_errors(text: str | bytes, expected: str) -> None:
    assert first(text) == expected


def test_a_huge_rule_file_is_refused_unparsed() -> None:
    found = load_rule_bytes(b"#" * (16 * 1024 * 1024 + 1), Path("big.yaml"), "big.yaml")
    assert [d.text() for d in found.diagnostics] == [
        "big.yaml:0:0: error: file is larger than 16 MiB; refusing to parse it (file.size)"
    ]


def test_deep_block_nesting_is_measured_before_libyaml() -> None:
    text = "".join(" " * i + "a:\n" for i in range(200))
    assert first(text) == "r.yaml:65:65: error: nesting is deeper than 64 levels (yaml.depth)"


def test_several_documents_other_kinds_and_recording_rules() -> None:
    text = (
        "---\n---\nkind: ConfigMap\ndata: {groups: x}\n---\nkind: PrometheusRule\nspec:\n  groups:\n"
        "  - name: g\n    rules:\n    - record: r\n      expr: sum(x)\n    - alert: A\n      expr: 1\n      for: 5m\n"
        "      labels: {severity: 2, page: true}\n---\ngroups:\n- name: h\n  rules:\n  - alert: B\n    expr: up\n"
    )
    found = load_rule_bytes(text.encode(), Path("m.yaml"), "m.yaml")
    assert found.diagnostics == []
    assert found.recording == 1
    assert [(r.document, r.where, r.name, r.expr, r.labels, r.line) for r in found.rules] == [
        (2, ("spec", "groups", 0, "rules", 1), "A", "1", {"severity": "2", "page": "true"}, 13),
        (3, ("groups", 0, "rules", 0), "B", "up", {}, 21),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up: 1\n",
        "groups: !!python/object/apply:os.system ['echo RBPWNED']\n",
        "groups: " + "[" * 5000 + "]" * 5000 + "\n",
    ],
)
def test_the_cli_reports_a_broken_rule_file_and_exits_1(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text(text, encoding="utf-8")
    code = main(["alerts", str(runbooks), "--rules", str(rules)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.startswith(f"{rules}:")
    assert "Traceback" not in out + err
    assert "internal error" not in err


# --------------------------------------------------------------------------- matchers


@pytest.mark.parametrize(
    ("text", "label", "op", "value"),
    [
        ('severity="critical"', "severity", "=", "critical"),
        ("severity = critical", "severity", "=", "critical"),
        ('namespace=~"openshift-.*"', "namespace", "=~", "openshift-.*"),
        ("team!~db|dba", "team", "!~", "db|dba"),
        ('msg!="say \\"hi\\"\\n"', "msg", "!=", 'say "hi"\n'),
        ('"odd label"=x', "odd label", "=", "x"),
        ("env=", "env", "=", ""),
    ],
)
def test_matchers_parse_as_alertmanager_writes_them(text: str, label: str, op: str, value: str) -> None:
    matcher = rules_match.parse(text)
    assert (matcher.label, matcher.op, matcher.value) == (label, op, value)


def test_matchers_match_whole_values_and_an_absent_label_is_empty() -> None:
    regex = rules_match.parse('namespace=~"openshift-.*"')
    assert regex.matches("openshift-monitoring")
    assert not regex.matches("my-openshift-app")  # anchored at the start
    assert not rules_match.parse("severity=~crit").matches("critical")  # and at the end
    assert rules_match.parse('team!="db"').matches(None)
    assert rules_match.parse('team=""').matches(None)
    assert not rules_match.parse("team=~.+").matches(None)


def test_decide_knows_static_labels_and_defers_the_rest() -> None:
    matchers = (rules_match.parse("severity=critical"), rules_match.parse('namespace=~"kube-.*"'))
    assert rules_match.decide(matchers, {"severity": "warning"}) is False
    assert rules_match.decide(matchers, {"severity": "critical"}) is None  # namespace comes from the series
    assert rules_match.decide(matchers, {"severity": "critical", "namespace": "kube-system"}) is True
    assert rules_match.decide(matchers, {"severity": None, "namespace": "kube-system"}) is None  # templated


@pytest.mark.parametrize(
    ("a", "b", "disjoint"),
    [
        (["severity=critical"], ["severity=warning"], True),
        (["severity=critical"], ["severity!=critical"], True),
        (['namespace=~"openshift-.*"'], ['namespace!~"openshift-.*"'], True),
        (["severity=~critical|page"], ["severity=~warning|info"], True),
        (["severity=~critical|page"], ["severity=page"], False),
        (["severity=critical"], ['severity=~"crit.*"'], False),
        (["severity=info"], ['severity=~"crit.*"'], True),
        (['namespace=~"a-.*"'], ['namespace=~"b-.*"'], False),  # not provable: reported as an overlap
        ([], ["severity=critical"], False),
        (["team=db"], ["severity=critical"], False),
    ],
)
def test_disjoint_matchers(a: list[str], b: list[str], disjoint: bool) -> None:
    left, right = [rules_match.parse(t) for t in a], [rules_match.parse(t) for t in b]
    assert rules_match.disjoint(left, right) is disjoint
    assert rules_match.disjoint(right, left) is disjoint


def _project(tmp_path: Path, alerts_a: str, alerts_b: str) -> list[str]:
    runbooks = build_project(CASES / "valid" / "minimal", tmp_path)
    base = (runbooks / "payments-down.yaml").read_text(encoding="utf-8")
    (runbooks / "payments-down.yaml").write_text(base + alerts_a, encoding="utf-8")
    (runbooks / "other.yaml").write_text(base.replace("payments-down", "other") + alerts_b, encoding="utf-8")
    return [d.text() for d in load_project(runbooks, None, tmp_path).diagnostics]


def test_validation_does_not_warn_when_matchers_tell_runbooks_apart(tmp_path: Path) -> None:
    found = _project(
        tmp_path / "a",
        "alerts:\n  - name: Disk\n    labels:\n      severity: critical\n",
        "alerts:\n  - name: Disk\n    matchers: ['severity!=critical']\n",
    )
    assert found == []
    found = _project(
        tmp_path / "b",
        "alerts:\n  - name: Disk\n    labels:\n      severity: critical\n",
        "alerts:\n  - name: Disk\n    matchers: ['team=db']\n",
    )
    assert found == [
        "runbooks/payments-down.yaml:16:11: warning: alert 'Disk' is also handled by runbooks/other.yaml; "
        "a responder will not know which runbook to open (xref.alert)"
    ]


def test_validation_locates_bad_matchers(tmp_path: Path) -> None:
    found = _project(
        tmp_path,
        "alerts:\n  - name: Disk\n    matchers:\n      - 'namespace=~\"(unclosed\"'\n      - severity\n",
        "alerts:\n  - name: Disk\n    labels:\n      bad-label: x\n      severity: 1\n",
    )
    assert sorted(found) == [
        "runbooks/other.yaml:18:7: error: alerts[0].labels: 'bad-label' is not a valid label name: letters, digits "
        "and underscores, not starting with a digit (a Prometheus label name) (schema.pattern)",
        "runbooks/other.yaml:19:17: error: alerts[0].labels.severity: expected a string, found the number 1 (quote "
        "it if you meant text) (schema.type)",
        "runbooks/payments-down.yaml:18:9: error: alerts[0].matchers[0]: regular expression '(unclosed' does not "
        "compile: missing ), unterminated subpattern at position 0 (value.matcher)",
        "runbooks/payments-down.yaml:19:9: error: alerts[0].matchers[1]: 'severity' is not a valid matcher: label, "
        'operator (=, !=, =~, !~) and value, e.g. severity!="info" or namespace=~"kube-.*" (schema.pattern)',
    ]


# --------------------------------------------------------------------------- addresses


def test_every_alert_has_one_stable_address() -> None:
    assert alert_target("KubePodCrashLooping") == ("alerts.md", "alert-KubePodCrashLooping")
    assert alert_url("NodeDown") == "alerts.html#alert-NodeDown"
    assert (
        alert_url("NodeDown", "https://x.example/runbooks") == "https://x.example/runbooks/alerts.html#alert-NodeDown"
    )
    assert (
        alert_url("NodeDown", "https://x.example/", directory_urls=True) == "https://x.example/alerts/#alert-NodeDown"
    )
    # Other names: a readable slug and a hash of the exact name, so names differing in case or punctuation differ.
    odd = [alert_target(n)[1] for n in ("AuthOS: database down", "authos database down", "🚨", "<script>")]
    assert odd[0].startswith("alert-authos-database-down-")
    assert odd[1].startswith("alert-authos-database-down-")
    assert len(set(odd)) == 4
    assert all(set(a) <= set("abcdefghijklmnopqrstuvwxyz0123456789-") for a in odd)
    assert alert_target("KubeCPUOvercommit") != alert_target("KubeCpuOvercommit")


def test_rule_patterns_are_files_folders_and_globs_relative_to_a_base(tmp_path: Path) -> None:
    from runbinder.rules import expand

    base = tmp_path / "site [x]"  # brackets in the base folder are not a glob
    (base / "rules" / "team").mkdir(parents=True)
    for name in ("a.yaml", "team/b.yml", "team/notes.txt"):
        (base / "rules" / name).write_text("groups: []\n", encoding="utf-8")
    found, empty = expand(["rules/**/*.y*ml", "rules", "rules/a.yaml", "nothing/*.yaml", "gone.yaml"], base)
    assert [p.relative_to(base).as_posix() for p in found] == ["rules/a.yaml", "rules/team/b.yml"]
    assert empty == ["nothing/*.yaml", "gone.yaml"]
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "c.yaml").write_text("groups: []\n", encoding="utf-8")
    assert expand([str(plain / "*.yaml")], base)[0] == [plain / "c.yaml"]  # an absolute glob ignores the base
