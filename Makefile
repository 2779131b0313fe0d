# Two commands for a fresh machine: `make run` and `make test` (see README).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv: the one on PATH if it works, else ~/.local/bin/uv (installed by the `uv` target below).
UV ?= $(shell if uv --version >/dev/null 2>&1; then command -v uv; else echo $(HOME)/.local/bin/uv; fi)
# Python 3.12: an installed one (pyenv's, or python3.12 on PATH); otherwise uv brings its own.
PYENV_PY := $(shell root=$$(pyenv root 2>/dev/null) && ls -d $$root/versions/3.12*/bin/python 2>/dev/null | sort -V | tail -1)
export UV_PYTHON ?= $(or $(PYENV_PY),$(shell command -v python3.12 2>/dev/null),3.12)
export UV_LINK_MODE ?= copy
PY := .venv/bin/python
MANAGE := $(PY) manage.py
CSS := theme/static/css/dist/styles.css
# the OpenID provider the single sign-on tests start (tests/oidc_provider/server.js); defined up
# here because make expands a rule's prerequisites where the rule is read
OIDC_PROVIDER_MODULES := tests/oidc_provider/node_modules/.package-lock.json

.PHONY: help run test test-citus lint install uv deps css browser collectstatic db-stop clean

help:
	@echo "make run   - install everything, start the hub with demo data on http://127.0.0.1:8000/"
	@echo "make test  - install everything, lint, run the whole test suite"
	@echo "make test-citus - the whole test suite on a Citus cluster (coordinator + 2 workers) on loopback"

run: install
	DEBUG=$${DEBUG:-1} $(MANAGE) run_hub

test: install $(OIDC_PROVIDER_MODULES)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen pytest

# Citus: uses the one installed for the PostgreSQL found, else builds ../shared/vendor's source (or
# CITUS_SOURCE); the cluster runs as an unprivileged user and is stopped even when tests fail.
test-citus: install $(OIDC_PROVIDER_MODULES)
	UV=$(UV) tests/citus/run-tests.sh

install: deps css

uv:
	@if ! $(UV) --version >/dev/null 2>&1; then \
		echo "Installing uv..."; \
		python3 -m pip install --user --quiet uv 2>/dev/null \
		|| python3 -m pip install --user --quiet --break-system-packages uv 2>/dev/null \
		|| curl -LsSf https://astral.sh/uv/install.sh | env UV_INSTALL_DIR=$(HOME)/.local/bin sh; \
	fi

deps: uv
	$(UV) sync --frozen

NODE_MODULES := theme/static_src/node_modules/.package-lock.json

# `npm install`, not `npm ci`: npm 11 leaves other platforms' optional packages out of the lock,
# which `npm ci` then rejects; install still honours the locked versions.
$(NODE_MODULES): theme/static_src/package.json theme/static_src/package-lock.json
	cd theme/static_src && npm install --no-audit --no-fund --loglevel=error

$(OIDC_PROVIDER_MODULES): tests/oidc_provider/package.json tests/oidc_provider/package-lock.json
	cd tests/oidc_provider && npm install --no-audit --no-fund --loglevel=error

$(CSS): $(NODE_MODULES) theme/static_src/src/styles.css $(shell find templates */templates static/js -name '*.html' -o -name '*.js' 2>/dev/null)
	cd theme/static_src && npm run --silent build

css: deps $(CSS)

collectstatic: css
	$(MANAGE) collectstatic --noinput

# the embedded server's data folder (as in hub/settings.py)
PG_DIR ?= $(or $(EMBEDDED_POSTGRES_DIR),$(CURDIR)/.data/postgres)

db-stop:
	@# joins the server as its last handle and leaves: the server stops unless a hub process still runs
	-@$(PY) -c "import pathlib; from hub import embedded_postgres as pg; pg.start(pathlib.Path('$(PG_DIR)'))"
	@if $(PY) -c "import pathlib, sys; from hub import embedded_postgres as pg; sys.exit(0 if pg.wait_until_stopped(pathlib.Path('$(PG_DIR)')) else 1)"; \
	then echo "Embedded PostgreSQL stopped."; else echo "Still in use by a running hub process."; fi

clean:
	rm -rf .venv theme/static_src/node_modules tests/oidc_provider/node_modules theme/static/css/dist staticfiles
