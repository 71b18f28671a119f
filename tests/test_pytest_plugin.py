"""`pytest --runbinder`: failures read like test failures, named after the command, with located messages."""

from __future__ import annotations

import pytest

from .conftest import CASES, build_project


def test_commands_are_test_items(pytester: pytest.Pytester) -> None:
    build_project(CASES / "invalid" / "check-bad-bash", pytester.path)
    result = pytester.runpytest("--runbinder", "runbooks", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*FAILED runbooks/rb.yaml::p/s/command-1*",
            "*FAILED runbooks/rb.yaml::p/s/command-2*",
        ]
    )
    # bash reports the line; the column is that line's start inside the | block (its own indentation is code).
    result.stdout.fnmatch_lines(["*runbooks/rb.yaml:15:15: error: bash: unexpected EOF*(command.syntax)*"])


def test_schema_problems_fail_the_validate_item(pytester: pytest.Pytester) -> None:
    build_project(CASES / "invalid" / "xref-runbook", pytester.path)
    result = pytester.runpytest("--runbinder", "runbooks", "-p", "no:cacheprovider", "-k", "validate")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*runbooks/refs.yaml:4:10: error: service 'paymnets' does not exist*"])


def test_without_the_option_nothing_is_collected(pytester: pytest.Pytester) -> None:
    build_project(CASES / "valid" / "minimal", pytester.path)
    result = pytester.runpytest("runbooks", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_broken_project_gives_located_failures_never_tracebacks(pytester: pytest.Pytester) -> None:
    # A catalog with schema errors (the case that used to crash `pytest --runbinder`), YAML its loader refuses,
    # values the schema accepts but nothing can use, and a reserved id.
    runbooks = build_project(CASES / "invalid" / "check-invalid-catalog", pytester.path)
    (runbooks / "tags.yaml").write_text("id: tags\ntitle: !!int abc\nkind: \x07\n", encoding="utf-8")
    (runbooks / "syntax.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    minimal = (CASES / "valid" / "minimal" / "payments-down.yaml").read_text()
    (runbooks / "dates.yaml").write_text(
        minimal.replace("id: payments-down", "id: index") + 'last_reviewed: "2023-02-30"\n', encoding="utf-8"
    )
    result = pytester.runpytest("--runbinder", "runbooks", "-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    for frame in ("Traceback", "ERROR collecting", 'File "', "internal error", "def runtest"):
        assert frame not in output
    # One validate item per file; every file's schema-valid parts are checked too (a reference error elsewhere
    # no longer holds a file's commands back), only schema-invalid parts wait, as located check.skipped notes.
    result.assert_outcomes(passed=5, failed=8)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED runbooks/catalog.yaml::validate - *",
            "runbooks/catalog.yaml:44:21: error: services?0?.severity_scale: expected a list, found the number 2*",
            "runbooks/tags.yaml:3:7: error: control character U+0007 is not allowed in YAML*(yaml.character)",
            "runbooks/syntax.yaml:2:1: error: *(yaml.syntax)",
            "runbooks/dates.yaml:2:5: error: runbook id 'index' is reserved*(id.reserved)",
            "runbooks/dates.yaml:15:16: error: last_reviewed: '2023-02-30' is not a real date*(value.date)",
            "runbooks/broken.yaml:7:1: error: unknown property 'severity_scale'*",
            "FAILED runbooks/rb.yaml::p/s/command-2 - *",
            "runbooks/rb.yaml:14:19: error: bash: syntax error: unexpected end of file (command.syntax)",
            "FAILED runbooks/rb.yaml::p/s/command-3 - *",
        ]
    )
