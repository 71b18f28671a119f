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
    result.stdout.fnmatch_lines(["*runbooks/rb.yaml:15:17: error: bash: unexpected EOF*(command.syntax)*"])


def test_schema_problems_fail_the_validate_item(pytester: pytest.Pytester) -> None:
    build_project(CASES / "invalid" / "xref-runbook", pytester.path)
    result = pytester.runpytest("--runbinder", "runbooks", "-p", "no:cacheprovider", "-k", "validate")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*runbooks/refs.yaml:4:10: error: service 'paymnets' does not exist*"])


def test_without_the_option_nothing_is_collected(pytester: pytest.Pytester) -> None:
    build_project(CASES / "valid" / "minimal", pytester.path)
    result = pytester.runpytest("runbooks", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
