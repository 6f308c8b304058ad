# The two commands: `make run` and `make test`. Everything they need is installed by them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-fast install install-test lint lock services clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Every package is pinned with its hashes (compiled from the .in files by `make lock`); pip refuses anything else.
$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --require-hashes -r requirements-test.txt
	touch $@

# The JS linter (Biome) from the npm registry, at the version package-lock.json records. Development only.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test node_modules/.installed

# Refresh the pins: the newest release each .in range allows (Django's patch releases carry security fixes).
# Run `make test` after it.
LOCK := $(VENV)/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock: install-test
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-test.in -o requirements-test.txt

# The run target's processes see HOST and PORT: dev settings build SITE_URL from them unless it is set.
run: export HOST := $(HOST)
run: export PORT := $(PORT)
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	@echo "PeerLearn on http://$(HOST):$(PORT)/ (in the background: manage.py run_periodic for the periodic jobs, manage.py run_worker for background tasks)"
	$(PY) manage.py run_periodic & periodic=$$!; \
	$(PY) manage.py run_worker & worker=$$!; \
	trap 'kill $$periodic $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) -m portal.serve -b $(HOST) -p $(PORT) portal.asgi:application

services:
	bash scripts/test-services.sh

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	node_modules/.bin/biome lint static/js
	DJANGO_ENV=test DATABASE_URL=sqlite:///:memory: $(PY) manage.py makemigrations --check --dry-run

# pytest-xdist workers (0: one process). Each has its own test database, channel-layer and page-cache
# prefix; the tests holding live calls take turns on one worker (--dist loadgroup, kept in collection order so a
# worker runs its rolled-back database tests before the ones that commit and flush).
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder
test: install-test services lint
	DJANGO_ENV=test $(VENV)/bin/pytest $(XDIST) $(PYTEST_ARGS)

# The edit-test loop: everything but the tests that drive a browser or start servers (a few minutes).
test-fast: install-test services
	DJANGO_ENV=test $(VENV)/bin/pytest $(XDIST) -m "not browser and not servers" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) node_modules staticfiles var .pytest_cache .ruff_cache
