# ReconPro Back Office · Manage Devices
#   make demo   install, migrate, load demo data and serve on http://127.0.0.1:8000
#   make test   install and run every test (SQLite, then PostgreSQL)
#   make lint   ruff, mypy and import-linter
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help install demo serve test test-sqlite lint format bench clean

help:
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' || { \
	  echo "Python >= 3.12 is needed (Django 6). Found: $$($(PYTHON) --version 2>&1)."; \
	  echo "Install Python 3.13 (for example 'pyenv install 3.13.0'; .python-version selects it) or run 'make PYTHON=python3.13 ...'."; \
	  exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed ## create the virtualenv and install pinned dependencies

demo: install ## migrate, load demo data and serve the Back Office (Ctrl-C stops)
	@scripts/demo.sh

test: install ## run every test on SQLite and on a throwaway PostgreSQL
	@scripts/test.sh

test-sqlite: install ## run every test on SQLite only (quick)
	BACKOFFICE_TESTING=1 $(PY) -m pytest

lint: install ## ruff (lint and format check), mypy and import-linter (app layers)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	BACKOFFICE_TESTING=1 $(VENV)/bin/mypy
	PYTHONPATH=src $(VENV)/bin/lint-imports

format: install ## apply ruff's formatting and fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## remove the virtualenv and local data (var/)
	rm -rf $(VENV) var
