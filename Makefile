# The two commands of the quick start, `make demo` and `make test`, need only Python 3.11 and make:
# the first use creates .venv and installs edqueue into it; later uses reuse it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: demo test lint format clean docs bench lock audit

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/edqueue demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/mypy --strict src
	$(BIN)/bandit -c pyproject.toml --quiet --recursive src

# Every test, and the branch coverage of the rules (at least 95 %).
test: lint
	HYPOTHESIS_PROFILE=$${HYPOTHESIS_PROFILE:-ci} $(BIN)/pytest \
		--cov=edqueue.rules --cov-branch --cov-report=term:skip-covered --cov-fail-under=95

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	touch $(DOCS_STAMP)

# The site, into site/; --strict fails on any broken link, anchor, cross-reference or snippet.
# The pages' examples run in `make test` (tests/test_docs.py).
docs: $(DOCS_STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# The national benchmarks of docs/performance.md: a table of figures next to baselines
# measured in the same run (under 20 minutes on 2 cores). Knobs: BENCH_SCALE=0.1 for a
# quick run, BENCH_ARGS="--only build,position", and the others in benchmarks/run.py.
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

format: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist site

AUDIT_STAMP := $(VENV)/.audit-installed

$(AUDIT_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,audit]'
	touch $(AUDIT_STAMP)

# requirements.lock: the runtime dependencies, resolved, pinned and hashed (tools/lock.py).
lock: $(STAMP)
	$(BIN)/python tools/lock.py

# pip-audit on the locked runtime dependencies. It reads the advisories from PyPI or OSV,
# so it needs the network; offline it fails saying it could not reach them.
audit: $(AUDIT_STAMP)
	$(BIN)/pip-audit --strict --require-hashes --disable-pip -r requirements.lock
