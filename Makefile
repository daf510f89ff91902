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

# `make run` records its run on a local Prefect server (API and UI on http://127.0.0.1:$(PREFECT_PORT)), started
# once in the background and reused by every later `make run` and by `mediamon` with PREFECT_API_URL set to it: a
# run of the seeds then takes about 3 s instead of the 8-9 s of Prefect's temporary server (docs/deployment.md).
# With PREFECT_API_URL already set, `make run` uses that server and starts none.
PREFECT_PORT ?= 4200
LOCAL_API := http://127.0.0.1:$(PREFECT_PORT)/api
HEALTHY = $(BIN)/python -c "import sys, urllib.request as u; sys.exit(u.urlopen('$(LOCAL_API)/health', timeout=2).read() != b'true')" 2>/dev/null

.PHONY: install system-deps run server server-stop test check bench clean

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

ifdef PREFECT_API_URL
run: install
	$(BIN)/mediamon ingest seeds
else
run: server
	PREFECT_API_URL=$(LOCAL_API) $(BIN)/mediamon ingest seeds
	@echo
	@echo "The run is in the Prefect UI: http://127.0.0.1:$(PREFECT_PORT)/runs (the server keeps running; make server-stop)"
	@echo "To send later runs there too: export PREFECT_API_URL=$(LOCAL_API)"
endif
	@echo
	@echo "The warehouse is data/mediamon.duckdb. To put mediamon (and the duckdb shell) on your PATH:"
	@echo "  . $(VENV)/bin/activate"
	@echo "then try: mediamon sql \"select title, language, word_count from articles\""

# A local Prefect server, started once (analytics off, its database in ~/.prefect as for `prefect server start`).
server: install
	@if $(HEALTHY); then :; else \
		mkdir -p data; \
		echo "starting a Prefect server on http://127.0.0.1:$(PREFECT_PORT), once (log: data/prefect-server.log)"; \
		PREFECT_SERVER_ANALYTICS_ENABLED=false nohup $(BIN)/prefect server start --host 127.0.0.1 \
			--port $(PREFECT_PORT) >data/prefect-server.log 2>&1 & echo $$! >data/prefect-server.pid; \
		for i in $$(seq 240); do if $(HEALTHY); then break; fi; sleep 0.5; done; \
		$(HEALTHY) || { echo "the Prefect server did not answer in 120 s: see data/prefect-server.log"; exit 1; }; \
	fi

# Stops the server `make server` started (not one started otherwise).
server-stop:
	@if [ -f data/prefect-server.pid ]; then kill $$(cat data/prefect-server.pid) 2>/dev/null; rm -f data/prefect-server.pid; fi

# The tests run on every core (pytest-xdist), a module's tests on one worker so its fixtures are built once.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadscope
# The fast tiers' module fixtures are cheap (a warehouse or two): a worker out of tests takes them from the other,
# test by test, instead of waiting for the other's last module (80-88 s against 85-89 s, alternating runs).
PYTEST_FAST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal

# Every tier (pure, warehouse, flows, e2e; see pyproject.toml): what CI runs, with its 15 slowest tests.
test: install system-deps
	$(PYTEST) --durations=15

# Before a commit: the linter, then the fast tiers (no Prefect run, no `mediamon` process), 80-110 s on 2 cores.
check: install $(BIN)/ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(PYTEST_FAST) -q -m "pure or warehouse"

$(BIN)/ruff: $(STAMP)
	$(BIN)/python -m pip install --quiet ruff==$(RUFF_VERSION)

bench: install
	$(BIN)/python bench/extraction/run.py
	$(BIN)/python bench/fetch/run.py
	$(BIN)/python bench/dedup/evaluate.py
	$(BIN)/python bench/dedup/run.py

clean: server-stop
	rm -rf $(VENV) data
