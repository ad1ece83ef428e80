"""Every console command is as quiet as ``seqexp``: bad input is one line ``<command>: error:
...`` and exit code 2, with no TensorFlow, MLflow, urllib3 or matplotlib lines around it;
``SEQEXP_DEBUG=1`` lets the libraries talk. Run through the installed commands themselves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def command(name: str, *args: str, cwd: Path, env: dict | None = None):
    full_env = {**os.environ, "MPLCONFIGDIR": str(cwd / "mpl"), **(env or {})}
    full_env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run([str(BIN / name), *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=180)


def assert_one_line(out, name: str, *needles: str) -> None:
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1, out.stdout + out.stderr
    assert lines[0].startswith(f"{name}: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("name, args, needles", [
    ("seqexp-report", ["--bogus"], ["unrecognized arguments: --bogus", "seqexp-report --help"]),
    ("seqexp-book", ["--seeds", "0"], ["--seeds must be at least 1"]),
    ("seqexp-book", ["--jena", "nope.zip"], ["--jena nope.zip does not exist"]),
    ("seqexp-cache", ["--clear", "nosuchfolder"], ["no cache folder nosuchfolder"]),
    ("seqexp-ui", ["--port", "abc"], ["invalid int value: 'abc'"]),
    ("seqexp-flush", [], ["required: folder"]),
    ("seqexp-flush", ["nofolder"], ["holds no pending.json"]),
    ("seqexp-rerun", [], ["required: run_id"]),
])
def test_bad_input_is_one_line(tmp_path, name, args, needles):
    out = command(name, *args, cwd=tmp_path)
    assert_one_line(out, name, *needles)


@pytest.mark.slow  # MLflow imported, a store opened (seconds each): make test-slow
def test_generate_on_a_missing_store_or_unknown_run_stays_quiet(tmp_path, new_store):
    """A reader never creates an empty store; the run is looked up before Keras is imported,
    so no absl/cudart start-up lines come before the error."""
    out = command("seqexp-generate", "nosuchrun", "--uri", "sqlite:///gone.db", cwd=tmp_path)
    assert_one_line(out, "seqexp-generate", "no MLflow store at sqlite:///", "gone.db: no such")
    assert not (tmp_path / "gone.db").exists()
    uri = new_store(tmp_path / "s.db")
    out = command("seqexp-generate", "nosuchrun", "--uri", uri, cwd=tmp_path)
    assert_one_line(out, "seqexp-generate", "no run nosuchrun in this MLflow store")


def test_store_creation_and_the_font_cache_notice_are_silent_unless_debugging(tmp_path):
    """The lines MLflow logs creating a store and matplotlib's font-cache notice (it comes
    when building takes over 5 s), at their own loggers with MLflow's handler installed,
    are filtered by console.quiet(), which every command calls first; SEQEXP_DEBUG=1 shows
    them."""
    code = ("from seqexp import console\nconsole.quiet()\nimport logging, mlflow\n"
            "logging.getLogger('mlflow.store.db.utils').info("
            "'Creating initial MLflow database tables...')\n"
            "logging.getLogger('matplotlib.font_manager').warning("
            "'Matplotlib is building the font cache; this may take a moment.')\n"
            "logging.getLogger('mlflow.store.db.utils').warning('a real problem')\n")
    quiet = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                           text=True, timeout=180)
    assert quiet.returncode == 0 and quiet.stdout == "", quiet.stderr
    assert quiet.stderr.strip().splitlines()[-1].endswith("a real problem"), quiet.stderr
    assert len(quiet.stderr.strip().splitlines()) == 1, quiet.stderr
    env = {**os.environ, "SEQEXP_DEBUG": "1"}
    loud = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert "Creating initial MLflow database tables" in loud.stderr, loud.stderr
    assert "building the font cache" in loud.stderr, loud.stderr


JOB = """
import logging, sys
import hydra
from seqexp.config import schemas
schemas.register()

@hydra.main(version_base="1.3", config_path="pkg://seqexp.conf", config_name="config")
def job(cfg):
    log = logging.getLogger("seqexp.data.download")
    log.info("cache hit: /cache/raw-imdb/abc.npz")
    log.warning("ignoring unreadable cache entry /cache/x.npz")

sys.argv = ["seqexp", "hydra.run.dir=out"]
job()
"""


@pytest.mark.parametrize("debug", [False, True])
def test_seqexp_info_lines_go_to_the_job_log_not_the_terminal(tmp_path, debug):
    """Hydra's job logging with seqexp's config: INFO (cache hits, what seqexp-book printed
    per job) in the job's .log file, warnings on the terminal too."""
    env = {**os.environ, "SEQEXP_DEBUG": "1" if debug else ""}
    out = subprocess.run([sys.executable, "-c", JOB], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "ignoring unreadable cache entry" in out.stdout
    assert ("cache hit" in out.stdout) is debug, out.stdout
    (log,) = (tmp_path / "out").glob("*.log")
    assert "cache hit: /cache/raw-imdb/abc.npz" in log.read_text()


def test_the_backend_loads_quietly_and_without_scikit_learn(tmp_path):
    """console.load_backend() after console.quiet() (what every command does) imports Keras
    (and TensorFlow with its device probe) with no absl/cudart lines on stderr, and without
    scikit-learn (Keras imports it only for keras.wrappers: ~1.2 s of every job's start);
    scikit-learn still imports afterwards."""
    code = ("import sys\nfrom seqexp import console\nconsole.quiet()\nconsole.load_backend()\n"
            "import keras\nprint('sklearn' in sys.modules, keras.backend.backend())\n"
            "import sklearn.base\nprint(sklearn.base.BaseEstimator.__name__)\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("SEQEXP_DEBUG", "TF_CPP_MIN_LOG_LEVEL")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", os.environ.get("KERAS_BACKEND", "tensorflow"),
                                  "BaseEstimator"], out.stdout
    assert out.stderr == "", out.stderr
