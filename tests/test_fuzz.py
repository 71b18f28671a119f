"""A short seeded fuzz run (tests/fuzz.py) in the suite: `make fuzz` runs the long one."""

from __future__ import annotations

from .fuzz import DIAGNOSTIC, Mutator, load_base, output_problems, run

SEED = 20261122
MUTANTS = 200
# Lighter than `make fuzz`: every mutant's changed files are checked as pre-commit would, the whole project on
# every fifth; a third of the mutants are rendered (those that validate).
PLAN = (
    "validate,check-changed,check:5,render:3,validate-json:5,validate-github:5,"
    "validate-subprocess:80,check-subprocess:200,build:100"
)


def test_seeded_mutants_keep_the_promise() -> None:
    report = run(MUTANTS, SEED, PLAN)
    assert report.failures == [], report.text()
    assert report.mutants == MUTANTS
    # Real processes too, not only in-process runs.
    assert report.runs["validate-subprocess"] >= 2
    assert report.runs["check-subprocess"] >= 1
    assert report.runs["build"] >= 2  # real mkdocs builds of mutants: built pages inert, failed builds lose nothing
    # The mutations reach every layer: the loader's refusals, the schema, values, ids and references, and check.
    reached = set(report.rules)
    for rule in (
        "yaml.syntax",
        "yaml.tag",
        "yaml.value",
        "yaml.character",
        "yaml.duplicate-key",
        "schema.type",
        "schema.required",
        "schema.additionalProperties",
        "id.duplicate",
        "id.reserved",
        "xref.service",
        "command.syntax",
    ):
        assert rule in reached, f"no mutant reached {rule}: {sorted(reached)}"


def test_mutants_are_reproducible() -> None:
    mutator = Mutator(load_base())
    first = [mutator.mutant(7, i) for i in range(30)]
    again = [mutator.mutant(7, i) for i in range(30)]
    assert [(m.steps, m.changes) for m in first] == [(m.steps, m.changes) for m in again]
    assert len({tuple(m.steps) for m in first}) == 30


def test_the_checks_catch_what_they_are_for() -> None:
    # The harness is only as good as its assertions: each broken promise is noticed.
    assert output_problems(3, "", "runbinder: internal error: ValueError: x\n") == [
        "exit status 3",
        "'internal error' in the output",
        "unexpected stderr line: 'runbinder: internal error: ValueError: x'",
    ]
    forged = "runbooks/a.yaml:1:1: error: x (r)\n::error file=evil::forged\n"
    assert any("not a diagnostic line" in p for p in output_problems(1, forged, ""))
    assert any("position 0:1" in p for p in output_problems(1, "runbooks/a.yaml:0:1: error: x (yaml.syntax)\n", ""))
    assert output_problems(1, "runbooks/a.yaml:0:0: error: x (file.binary)\n", "") == []
    assert output_problems(0, "runbooks/a.yaml:2:1: error: x (r)\n", "") == ["exit status 0 with errors"]
    assert any("UTF-8" in p for p in output_problems(1, "runbooks/\udcff.yaml:1:1: error: x (r)\n", ""))
    assert DIAGNOSTIC.match("runbooks/a:b.yaml:3:4: warning: it (x) broke (shellcheck.SC2086)")
