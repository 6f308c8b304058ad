# The two commands: `make run` and `make test`. Everything they need is installed by them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test install install-test lint services clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# The run target's processes see HOST and PORT: dev settings build SITE_URL from them unless it is set.
run: export HOST := $(HOST)
run: export PORT := $(PORT)
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	@echo "PeerLearn on http://$(HOST):$(PORT)/ (periodic jobs: manage.py run_periodic, in the background)"
	$(PY) manage.py run_periodic & periodic=$$!; \
	trap 'kill $$periodic 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) portal.asgi:application

services:
	bash scripts/test-services.sh

lint: install-test
	$(VENV)/bin/ruff check .
	DJANGO_ENV=test DATABASE_URL=sqlite:///:memory: $(PY) manage.py makemigrations --check --dry-run

test: install-test services lint
	DJANGO_ENV=test $(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles var .pytest_cache .ruff_cache
