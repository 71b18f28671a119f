"""Placeholders in every spelling, what a runbook assigns itself, and what ShellCheck, the locator, the item selection
and the Markdown links make of them (check on real commands, issue 14)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from runbinder.checks.commands import runbook_contexts
from runbinder.checks.links import markdown_links
from runbinder.checks.runner import CheckOptions, Runner
from runbinder.loader import load_file
from runbinder.placeholders import assigned_names, command_uses, neutral, runbook_uses
from runbinder.render.site import SiteRenderer
from runbinder.validate import load_project

from .conftest import CASES

RUNBOOK = """\
id: unit
title: T
kind: alert-response
service: payments
owner: platform-team
summary: S.
last_reviewed: "2099-01-01"
phases:
  - title: P
    steps:
      - title: S
        commands:
{commands}
"""


def _project(tmp_path: Path, commands: str, extra: str = "", catalog: str | None = None) -> Path:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    base = (CASES / "base-catalog.yaml").read_text(encoding="utf-8")
    (runbooks / "catalog.yaml").write_text(catalog if catalog is not None else base, encoding="utf-8")
    (runbooks / "unit.yaml").write_text(RUNBOOK.format(commands=commands) + extra, encoding="utf-8")
    return runbooks


def _check(runbooks: Path) -> list[tuple[str, int, int]]:
    runner = Runner(load_project(runbooks, None, runbooks.parent), CheckOptions())
    return sorted((d.rule, d.line, d.col) for d in runner.run_all())


# -- spellings


@pytest.mark.parametrize(
    ("code", "names"),
    [
        ("oc logs $POD ${CONTAINER}", ["POD", "CONTAINER"]),
        ("curl https://x.test/items/{id}", ["id"]),
        ("kill <PID>", ["PID"]),
        ("NODE='<instance label from alert>'", ["instance label from alert"]),
        ('oc get pod <"Used By:" field from the above output>', ['"Used By:" field from the above output']),
        ("oc audit --user=${top-user-from-last-command}", ["top-user-from-last-command"]),
        ("oc get -n ${NAMESPACE-openshift-monitoring} pods", ["NAMESPACE"]),  # bash's default value
        ("echo ${x:-fallback}", ["x"]),
        ("cat <<EOF>out\nEOF", []),  # a heredoc and a redirection, not a placeholder
        ("sort <in >out", []),
        ("awk '{print $1}' f", []),  # single quotes: no expansion, no {name}
        ("X=1; echo $X $HOME", []),
    ],
)
def test_placeholder_spellings(code: str, names: list[str]) -> None:
    assert sorted(u.name for u in command_uses(code, "bash")) == sorted(names)


def test_neutral_keeps_every_column() -> None:
    code = "oc delete pod <pod name> -n <namespace> && curl x/{id}"
    flat = neutral(code)
    assert len(flat) == len(code)
    assert flat == "oc delete pod _pod_name_ -n _namespace_ && curl x/_id_"


@pytest.mark.parametrize(
    ("code", "names"),
    [
        ("export NAMESPACE=openshift-cnv", {"NAMESPACE"}),
        ("NODE=$(oc get pods -o name | head -1)", {"NODE"}),
        ("read -r A B", {"A", "B"}),
        ("read -p 'Pod name? ' POD", {"POD"}),
        ("mapfile -t LINES < list.txt", {"LINES"}),
        ("for pod in a b; do :; done", {"pod"}),
        ("oc get pods | while read NODE; do echo; done", {"NODE"}),
        ("export KUBECONFIG", {"KUBECONFIG"}),
        ("local a b", {"a", "b"}),
    ],
)
def test_assigned_names(code: str, names: set[str]) -> None:
    assert assigned_names(code) >= names


def test_earlier_commands_assign_for_later_ones() -> None:
    uses = runbook_uses(
        [("export NAMESPACE=x\nread -r POD", "bash"), ("oc -n $NAMESPACE delete pod $POD $OTHER", "bash")]
    )
    assert [[u.name for u in command] for command in uses] == [[], ["OTHER"]]
    # Not the other way round: a later assignment does not give an earlier command its value.
    later = runbook_uses([("echo $X", "bash"), ("X=1", "bash")])
    assert [[u.name for u in command] for command in later] == [["X"], []]


# -- ShellCheck is told what the runbook knows


def test_shellcheck_context_of_each_command() -> None:
    data = {
        "variables": [{"name": "pod", "description": "d"}],
        "phases": [
            {
                "title": "P",
                "steps": [
                    {
                        "title": "S",
                        "commands": [
                            {"code": "node=$(oc get node -o name)"},
                            {"code": "oc debug $node -- ls /$pod"},
                        ],
                    }
                ],
            }
        ],
    }
    contexts = runbook_contexts(data, ["TOKEN"])
    first = contexts[("phases", 0, "steps", 0, "commands", 0)]
    second = contexts[("phases", 0, "steps", 0, "commands", 1)]
    assert "node" in first.read_later
    assert "node" not in first.given
    assert {"node", "pod", "TOKEN"} <= second.given


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash -n is the syntax reference")
def test_shellcheck_knows_declared_and_earlier_variables(tmp_path: Path) -> None:
    commands = """\
          - code: node=$(oc get nodes -o name | head -1)
          - code: oc debug "$node" -- ls "/host/$pod"
          - code: echo "$unknown"
"""
    extra = "variables:\n  - name: pod\n    description: The pod.\n  - name: unknown\n    description: Not set.\n"
    found = _check(_project(tmp_path, commands, extra))
    # node: assigned by the first command and read by the second (no SC2034 there, no SC2154 here); pod and
    # unknown: declared (no SC2154); oc is not in the inventory (the only findings).
    assert [f for f in found if f[0].startswith("shellcheck")] == []
    assert [f[0] for f in found] == ["command.tool", "command.tool"]


# -- errors inside a command are located at their character


def test_locate_in_scalar_block_with_indented_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        'commands:\n  - code: |\n      {\n        "a": 1,,\n      }\n  - code: \'{"ip": "x",}\'\n'
        '  - code: plain text here\n  - code: "a\\tb"\n',
        encoding="utf-8",
    )
    doc = load_file(path)
    block = doc.data["commands"][0]["code"]
    # The second comma of line 4: 6 columns of block indentation, then the value's own 2 spaces and `"a": 1,`.
    assert doc.locate_in_scalar(("commands", 0, "code"), block.index(",,") + 1) == (4, 16)
    # One-line quoted and plain scalars without escapes: exact (after the opening quote).
    assert doc.locate_in_scalar(("commands", 1, "code"), 11) == (6, 23)  # the closing brace
    assert doc.locate_in_scalar(("commands", 2, "code"), 6) == (7, 17)
    # A scalar written with an escape: its start (the source and the value no longer line up).
    assert doc.locate_in_scalar(("commands", 3, "code"), 2) == (8, 11)


# -- every rule reports what it checked


def test_reference_errors_no_longer_hide_commands(tmp_path: Path) -> None:
    runbooks = _project(tmp_path, "          - code: kubectl -n web delete pod x\n", "related: [nowhere]\n")
    found = _check(runbooks)
    assert ("command.destructive", 13, 19) in found


def test_schema_invalid_parts_are_skipped_and_said(tmp_path: Path) -> None:
    commands = "          - code: [not, text]\n          - code: kubectl delete pod x\n"
    project = load_project(_project(tmp_path, commands), None, tmp_path)
    runner = Runner(project, CheckOptions())
    assert [i.nodeid for i in runner.items if i.kind == "command"] == ["runbooks/unit.yaml::p/s/command-2"]
    notes = [(d.rule, d.line, d.col, d.level) for d in runner.skipped]
    assert notes == [("check.skipped", 13, 19, "warning")]


# -- links inside Markdown text


def test_markdown_links_are_read_by_the_renderer() -> None:
    text = (
        "See [triage](/runbooks/db.md#triage), <https://status.example.com/a?b=1&c=2> and [ref][r]; "
        "`[code](not-a-link.md)` is code, [js](javascript:alert(1)) is validation's, [call](tel:+15550100).\n\n"
        "[r]: runbooks/./other.md"
    )
    links = markdown_links(text)
    assert [url for url, _ in links] == [
        "runbooks/db.md#triage",
        "https://status.example.com/a?b=1&c=2",
        "runbooks/other.md",
    ]
    assert [text[at : at + 9] for _, at in links] == ["/runbooks", "https://s", "runbooks/"]


def test_markdown_links_are_checked_like_other_links(tmp_path: Path) -> None:
    runbooks = _project(tmp_path, "          - code: echo ok\n")
    text = (runbooks / "unit.yaml").read_text(encoding="utf-8")
    text = text.replace("summary: S.", "summary: Read [this](runbooks/gone.md) and [that](runbooks/unit.md#p).")
    (runbooks / "unit.yaml").write_text(text, encoding="utf-8")
    assert _check(runbooks) == [("link.broken", 6, 22)]  # at the link target, inside the plain scalar


# -- severity targets are optional


def test_a_level_without_targets_renders_no_target(tmp_path: Path) -> None:
    catalog = (CASES / "base-catalog.yaml").read_text(encoding="utf-8").replace("    response_time: 1h\n", "", 1)
    runbooks = _project(tmp_path, "          - code: echo ok\n", catalog=catalog)
    project = load_project(runbooks, None, tmp_path)
    assert [d for d in project.diagnostics if d.level == "error"] == []
    pages = SiteRenderer(project.index, today=date(2026, 11, 22)).pages()
    rows = [line for line in pages["index.md"].markdown.splitlines() if line.startswith("| [<span") and "sev2" in line]
    assert len(rows) == 1
    assert [cell.strip() for cell in rows[0].split("|")[-3:-1]] == ["", ""]  # nothing to respond or resolve within
    assert pages["severity.md"].markdown.count("Response") >= 1  # sev1 keeps its target
