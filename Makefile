# The two commands a newcomer needs: `make site` and `make test`.
# Both create .venv on first use; nothing is installed outside it.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv site serve validate check lint types test bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("runbinder needs Python >= 3.10" if sys.version_info < (3, 10) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

## Validate the bundled runbooks, build the site into site/ and print the binder to site/binder.pdf
## (the binder needs a Chromium; without one, make site says how to get one and still succeeds).
site: venv
	$(BIN)/runbinder validate runbooks
	$(BIN)/mkdocs build --strict
	$(BIN)/runbinder binder runbooks -o site/binder.pdf --skip-without-chromium

## Preview the site at http://127.0.0.1:8000, rebuilding when a runbook changes.
serve: venv
	$(BIN)/mkdocs serve

validate: venv
	$(BIN)/runbinder validate runbooks

## Validate, then check every command and link and the review dates.
check: venv
	$(BIN)/runbinder check runbooks

lint: venv
	$(BIN)/ruff check plugins tests
	$(BIN)/ruff format --check plugins tests

types: venv
	$(BIN)/mypy

## Lint, type checks and the whole test suite.
test: lint types
	$(BIN)/python -m pytest

## Benchmarks (bench/run.py): medians and side-by-side ratios, written to bench/results.json.
## BENCH_ARGS=--quick runs fewer repetitions and skips N = 5,000.
BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf site .pytest_cache .mypy_cache .ruff_cache build dist
