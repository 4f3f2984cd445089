# Tangram: `make run` serves the product on SQLite from nothing; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DEMO   ?= 1
export DATABASE_URL ?= sqlite+aiosqlite:///./var/tangram.db

.PHONY: run test bench lint install dev-install schemas screenshots vendor clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
dev-install: $(VENV)/.dev-installed

run: install
	@mkdir -p var
	$(BIN)/tangram run crm --host $(HOST) --port $(PORT) $(if $(filter 0,$(DEMO)),--no-demo,--demo)

test: dev-install
	$(BIN)/pytest -q

bench: dev-install
	$(BIN)/python -m tests.benchmarks

lint: dev-install
	$(BIN)/ruff check engine builder_ui tests
	$(BIN)/lint-imports

schemas: install
	$(BIN)/tangram schemas --out docs/schemas

# Screenshots of the main pages for docs/ (both languages, 1280 and 375 px) from a running `make run`.
screenshots: dev-install
	BASE=http://$(HOST):$(PORT) $(BIN)/python -m tests.e2e.screenshots

# Refresh the vendored browser files from the npm registry (pins and hashes in builder_ui/static/vendor/vendor.lock.json).
vendor: install
	$(BIN)/python -m builder_ui.vendor

clean:
	rm -rf $(VENV) var .pytest_cache
