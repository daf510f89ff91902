# Two entry points for a fresh machine: `make run` and `make test`. Both install into .venv first;
# `make test` also installs the Debian packages the browser tests need (when run as root with apt).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests use (each is also the name of the command it installs).
DEBIAN_PACKAGES := chromium docker-compose
# `make check`'s linter, installed into .venv on first use.
RUFF_VERSION := 0.17.6

.PHONY: install system-deps run test check bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# setuptools notes every editable install of a flat layout ("folders named like your package may take
	@# precedence"): that is how this checkout is meant to be used, so the note is not printed.
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do command -v $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "note: missing" $$missing "(apt-get install them); tests that need them are skipped"; fi

run: install
	$(BIN)/mediamon ingest seeds
	@echo
	@echo "The warehouse is data/mediamon.duckdb. To put mediamon (and the duckdb shell) on your PATH:"
	@echo "  . $(VENV)/bin/activate"
	@echo "then try: mediamon sql \"select title, language, word_count from articles\""

# Every tier (pure, warehouse, flows, e2e; see pyproject.toml): what CI runs.
test: install system-deps
	$(BIN)/python -m pytest

# Before a commit: the linter, then the fast tiers (no Prefect run, no `mediamon` process), in under a minute.
check: install $(BIN)/ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -m "pure or warehouse"

$(BIN)/ruff: $(STAMP)
	$(BIN)/python -m pip install --quiet ruff==$(RUFF_VERSION)

bench: install
	$(BIN)/python bench/extraction/run.py
	$(BIN)/python bench/fetch/run.py
	$(BIN)/python bench/dedup/evaluate.py
	$(BIN)/python bench/dedup/run.py

clean:
	rm -rf $(VENV) data
