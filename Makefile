# make run: a working app on SQLite with no keys and no network.
# make test: the whole suite on 3 workers (PostgreSQL too when TEST_DATABASE_URL is set).
# make lint: ruff (lint and format check) and mypy. make lock: re-pin requirements*.lock after a change to pyproject.toml.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app tokenapp
HOST ?= 127.0.0.1
PORT ?= 5000
LINTED := tokenapp tests bench $(wildcard stripe_standin)
# uv resolves once for every platform and Python >= 3.11 (markers in the file) and hashes every file.
COMPILE := $(PY) -m uv pip compile pyproject.toml --quiet --universal --python-version 3.11 --generate-hashes $(LOCK_ARGS)

.PHONY: run test lint format lock install install-dev bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Installs exactly what the lock files pin (hashes checked); pyproject.toml only keeps the allowed ranges.
$(VENV)/.installed: requirements.lock pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(FLASK) db upgrade
	$(FLASK) seed
	$(FLASK) serve --host $(HOST) --port $(PORT)

# pytest-xdist workers. The suite spends about a fifth of its time waiting (subprocesses, webhooks, timers), so
# on a 2-core machine a third worker fills those waits (145 s -> 131 s); PYTEST_WORKERS=0 runs every test in one process.
PYTEST_WORKERS ?= 3
test: install-dev
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: install-dev
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m mypy

format: install-dev
	$(PY) -m ruff check --fix $(LINTED)
	$(PY) -m ruff format $(LINTED)

# The dev lock first (a superset), then the runtime lock constrained to it, so both pin the same versions.
# Existing pins are kept where they still fit; `make lock LOCK_ARGS=--upgrade` moves everything to the newest.
lock: install-dev
	$(COMPILE) --extra dev -o requirements-dev.lock
	$(COMPILE) -c requirements-dev.lock -o requirements.lock

bench: install-dev
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
