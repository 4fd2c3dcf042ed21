# Every target creates .venv and installs the project into it when needed, so a fresh clone
# needs nothing but python3 >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint imports dev clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m bulkgen_pipeline.cli.demo

# Three pytest-xdist workers on two cores: some tests wait on servers and subprocesses, but each
# worker also collects the whole suite (~13 CPU-s), and the API tests no longer wait on servers.
# How tests are shared out between them: pytest_xdist_make_scheduler in tests/conftest.py.
# BULKGEN_TEST_CPU=FILE make test writes each test's CPU-seconds to FILE.
# Bytecode first: the suite starts some sixty Python processes (the workers, `bulkgen` commands,
# servers), and where PYTHONDONTWRITEBYTECODE is set (CI machines) each one compiled the
# package's modules again, ~0.5 CPU-s apiece.
test: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 bulkgen_pipeline tests
	$(BIN)/python -m pytest -q -n 3

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

lint: imports
	$(BIN)/ruff check bulkgen_pipeline tests benchmarks
	$(BIN)/mypy bulkgen_pipeline

# The layer contracts in pyproject.toml's [tool.importlinter] (README "Development").
imports: $(STAMP)
	$(BIN)/lint-imports

dev: $(STAMP)
	$(BIN)/bulkgen dev

clean:
	rm -rf $(VENV) .bulkgen .pytest_cache
