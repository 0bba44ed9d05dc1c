# Leadflow: `make run` to try it, `make test` to check it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: install install-dev run test test-sqlite test-postgres lint bench clean

# The virtual environment with the package and its pinned dependencies.
install: $(STAMP)
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install-dev: $(DEVSTAMP)
$(DEVSTAMP): $(STAMP) requirements-dev.lock
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $@

# The product on SQLite under ./var with the demo workspace, web server and worker.
run: install
	$(BIN)/leadflow serve --demo

# The whole suite on SQLite, then again on PostgreSQL when LEADFLOW_DATABASE_URL names one.
test: install-dev
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$LEADFLOW_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; fi

test-sqlite:
	env -u LEADFLOW_DATABASE_URL LEADFLOW_DATA_DIR=$$(mktemp -d) $(BIN)/pytest $(PYTEST_ARGS)

test-postgres:
	LEADFLOW_DATA_DIR=$$(mktemp -d) $(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	env -u LEADFLOW_DATABASE_URL LEADFLOW_DATA_DIR=$$(mktemp -d) $(BIN)/leadflow makemigrations --check --dry-run

# Hot-path benchmarks on the local PostgreSQL (each script takes --database-url);
# tracking.py needs wrk (apt-get install wrk).
bench: install-dev
	$(BIN)/python bench/contacts_list.py
	$(BIN)/python bench/tracking.py
	$(BIN)/python bench/import_list.py
	$(BIN)/python bench/import_kinds.py

clean:
	rm -rf $(VENV) var
