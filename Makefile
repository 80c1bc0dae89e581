# Two commands matter: `make run` and `make test` (see README). Everything else helps them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run demo test lint format bench migrate clean

run: $(VENV)/.run-installed
	$(BIN)/omnigate serve

demo: $(VENV)/.run-installed
	$(BIN)/omnigate serve --simulate

test: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

migrate: $(VENV)/.run-installed
	$(BIN)/omnigate migrate

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.run-installed

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
