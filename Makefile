# seqexp: `make run` (set up if needed, then the default job) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install run test test-slow test-backends lint bench ui clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# seqexp's own Optuna sweeper replaces hydra-optuna-sweeper (optuna<3), which an older
	@# install of this venv may hold: it would register hydra/sweeper=optuna too
	$(BIN)/python -m pip uninstall --quiet --yes hydra-optuna-sweeper 2>/dev/null || true
	@# setuptools' notice that an editable install of a mapped folder (conf/ as seqexp.conf)
	@# uses a meta path finder is information only: not shown
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/seqexp

# The fast suite on TEST_WORKERS processes (pytest-xdist; each test has its own tmp folder,
# cache folder and store). The slow suite stays serial: its kill and load tests time processes.
TEST_WORKERS ?= 2
test: install
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

test-slow: install
	$(BIN)/pytest -m slow --durations=15

# The jax and torch backends on CPU, TensorFlow unimportable (CI's backend matrix; see
# tests/test_backends.py). torch is pinned: this machine holds its 2.13.0 CPU wheel, while an
# unpinned `pip install torch` pulls a multi-GB CUDA build.
BACKENDS_STAMP := $(VENV)/.backends-stamp
$(BACKENDS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet 'torch==2.13.0' 'jax>=0.10,<0.11'
	touch $(BACKENDS_STAMP)

test-backends: $(BACKENDS_STAMP)
	@for backend in jax torch; do \
	  echo "== KERAS_BACKEND=$$backend"; \
	  KERAS_BACKEND=$$backend $(BIN)/pytest -m backends tests/test_backends.py -q || exit 1; \
	done

lint: install
	$(BIN)/ruff check seqexp tests bench scripts

bench: install
	$(BIN)/python bench/bench_windows.py

# MLflow's UI on the store the runs went to; prints the runs table's address (seqexp-ui --help)
ui: install
	$(BIN)/seqexp-ui

clean:
	rm -rf outputs multirun mlruns mlflow.db mlflow.db.lock .pytest_cache
