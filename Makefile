# The two commands a new user needs:  make demo  ·  make test
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-all bench clean

# no wheel cache: the install is ~3.6 GB already, and a CI disk may be small; a cached copy of each wheel downloaded from PyPI only adds to it
export PIP_NO_CACHE_DIR := 1

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	bash scripts/fetch_media_data.sh
	touch $(STAMP)

install: $(STAMP)

demo: install  ## set up, make sample data from real photos, index it, search it
	$(BIN)/mmrag demo mmrag-demo

test: install  ## the default test run (CPU only); installs the system tools it uses when it can
	bash scripts/install_system_tools.sh
	$(BIN)/python -m pytest -q

test-all: install  ## also the slow tests (real LLM answers, long media)
	bash scripts/install_system_tools.sh
	$(BIN)/python -m pytest -q -m "slow or not slow"

clean:
	rm -rf mmrag-demo mmrag-index .pytest_cache
