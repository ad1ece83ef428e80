# seqexp: `make run` (set up if needed, then the default job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install run test test-slow lint bench ui clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/seqexp

test: install
	$(BIN)/pytest

test-slow: install
	$(BIN)/pytest -m slow

lint: install
	$(BIN)/ruff check seqexp tests bench scripts

bench: install
	$(BIN)/python bench/bench_windows.py

ui: install
	$(BIN)/mlflow ui --backend-store-uri "$${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db}"

clean:
	rm -rf outputs multirun mlruns mlflow.db .pytest_cache
