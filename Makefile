# Two commands: `make demo` (the main job, local, no servers) and `make test` (every test).
# Both bootstrap the one virtual environment at .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Metaflow refuses to run as root without a user name; CI runs as root.
export METAFLOW_USER ?= $(if $(filter-out root,$(USER)),$(USER),mlplatform)
export MPLBACKEND := Agg

.PHONY: demo test lint bench clean help

help:
	@echo "make demo   - generate AppsFlyer-shaped data and run the classification template locally"
	@echo "make test   - install everything and run every test"
	@echo "make lint   - ruff + mypy"
	@echo "make bench  - benchmarks (see docs/benchmarks.md)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@$(PYTHON) -m venv --help >/dev/null 2>&1 && $(PYTHON) -c 'import ensurepip' 2>/dev/null \
	  || { echo "installing python3-venv"; apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first and pinned: its CPU build is on these machines' disk, while the plain `torch`
# a dependency would ask for pulls gigabytes of CUDA libraries (Keras needs a backend).
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

# System packages the tests start or drive as real programs, each installed only when missing:
# OpenLDAP (slapd, without a system instance: the tests build their own directory in a temp
# folder) and its tools, PostgreSQL (the tests run a throwaway cluster with initdb), and
# Debian's chromium (the dashboard test and the docs' diagrams; Playwright's and puppeteer's own
# browser downloads do not work here), and curl and jq, which the docs' shell examples use.
SYSTEM_STAMP := $(VENV)/.system-packages
$(SYSTEM_STAMP): $(BIN)/python
	@missing=""; \
	{ command -v slapd >/dev/null 2>&1 || test -x /usr/sbin/slapd; } || missing="$$missing slapd ldap-utils"; \
	{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } \
	  || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	command -v jq >/dev/null 2>&1 || missing="$$missing jq"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing"; \
	  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

# From npm, pinned by package-lock.json: JupyterHub's proxy (configurable-http-proxy) and
# mermaid-cli, which renders the docs' diagrams. mermaid-cli drives Debian's chromium
# (SYSTEM_STAMP): puppeteer's own browser download does not work here, so it is skipped.
NODE_STAMP := node_modules/.installed
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "installing nodejs and npm"; \
	  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null; }
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-fund --no-audit --loglevel=error
	@touch $@

demo: $(STAMP)
	$(BIN)/mlplatform run examples/pipelines/appsflyer_d7_purchase.yaml

# The deployment checks' tools, pinned in deploy/tools/, each set in its own environment:
# checkov ships its own `hcl2` module and breaks python-hcl2 (which the tests use) beside it.
# Terraform itself comes with the machine image; without it those checks skip, saying why.
DEPLOY_VENV := .venv-deploy
CHECKOV_VENV := .venv-checkov
TOOL_STAMPS := $(DEPLOY_VENV)/.installed $(CHECKOV_VENV)/.installed

.venv-%/.installed: deploy/tools/requirements-%.txt | $(BIN)/python
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/pip install -q --upgrade pip
	.venv-$*/bin/pip install -q -r $<
	@touch $@

test: $(STAMP) $(SYSTEM_STAMP) $(NODE_STAMP) $(TOOL_STAMPS)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

# Great Expectations pins its own stack, so the validation benchmark runs it from its own venv.
GE_VENV := .venv-ge

$(GE_VENV)/.installed:
	$(PYTHON) -m venv $(GE_VENV)
	$(GE_VENV)/bin/pip install -q 'great_expectations>=1.5'
	@touch $@

bench: $(STAMP) $(GE_VENV)/.installed $(SYSTEM_STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/templates.py
	$(BIN)/python benchmarks/tuning.py
	$(BIN)/python benchmarks/validation.py
	$(BIN)/python benchmarks/users.py
	$(BIN)/python benchmarks/monitoring_sql.py --out benchmarks/results/monitoring_sql.json
	$(BIN)/python benchmarks/monitoring_client.py --work benchmarks/results/monitoring-runs --runs 200 --out benchmarks/results/monitoring_client.json

clean:
	rm -rf $(VENV) $(GE_VENV) $(DEPLOY_VENV) $(CHECKOV_VENV) node_modules .metaflow mlplatform-runs .pytest_cache .mypy_cache .ruff_cache
