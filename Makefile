# Two entry points for a fresh machine: `make run` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/mediamon ingest seeds

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/extraction/run.py
	$(BIN)/python bench/fetch/run.py

clean:
	rm -rf $(VENV) data
