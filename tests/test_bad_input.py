"""Bad input on the command line: one clear line naming the problem and the fix, exit code 2,
no MLflow run left RUNNING, no cache file half-written. Loader-level cases (corrupt archives,
malformed GloVe, wrong npz arrays...) are in the data and encoder tests."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from seqexp.data import download
from seqexp.errors import SeqexpError
from tests.conftest import SMALL_JENA
from tests.test_end_to_end import seqexp


def assert_clean_failure(out, tmp_path: Path, uri: str | None, *needles: str) -> str:
    assert out.returncode == 2, out.stdout[-1500:] + out.stderr[-1500:]
    lines = [line for line in out.stderr.splitlines() if line.startswith("seqexp: error:")]
    assert len(lines) == 1, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    if uri and Path(uri.removeprefix("sqlite:///")).exists():
        client = MlflowClient(tracking_uri=uri)
        for exp in client.search_experiments():
            for run in client.search_runs([exp.experiment_id]):
                assert run.info.status != "RUNNING"
    assert not list((tmp_path / "cache").rglob("*.tmp"))
    return lines[0]


@pytest.mark.parametrize("args, needles", [
    (["model=nope"], ["Could not find 'model/nope'", "gru"]),
    (["trainer.epochs=abc"], ["trainer.epochs=abc", "could not be converted to Integer"]),
    (["trainer.epochs=0"], ["trainer.epochs=0 is too small", ">= 1"]),
    (["trainer.optimizer=adagrad"], ["trainer.optimizer=adagrad is not allowed",
                                     "choose one of rmsprop, adam, sgd"]),
    (["dataset.delay=-1"], ["dataset.delay=-1 is too small"]),
    (["dataset.lookback=3"], ["smaller than dataset.step=6", "raise lookback"]),
    (["dataset.val=[100,16000]"], ["dataset.train and dataset.val overlap"]),
    (["encoder=glove"], ["encoder=glove cannot encode dataset=jena-sample",
                         "use encoder=numeric"]),
    (["dataset=raw-imdb", "encoder=onehot", "model=gru"], ["encoder.mode=sequence"]),
    (["dataset=raw-imdb", "encoder=onehot", "encoder.mode=sequence", "encoder.weighting=nb",
      "model=gru"], ["encoder.weighting=nb weights the columns of a bag",
                     "encoder.weighting=none"]),
    (["tracking.uri=''"], ["tracking.uri is empty", "tracking.uri=null"]),
    (["model=stacked", "model.units=[]", "model.activation=[]"], ["must list at least 1 value(s)"]),
    (["model=conv", "model.filters=[32,0]"], ["every entry must be >= 1"]),
    (["+trainer.epoch=3"], ["unknown key trainer.epoch; did you mean trainer.epochs?"]),
    (["+foo=bar"], ["unknown key foo: the top level has dataset", "+extra.note="]),
    (["+book.foo=1"], ["cannot add +book.foo=1", "parent key is null"]),
])
def test_config_errors(tmp_path, args, needles):
    out = seqexp(*args, cwd=tmp_path)
    assert_clean_failure(out, tmp_path, None, *needles)
    assert not (tmp_path / "mlflow.db").exists()  # refused before anything was recorded


def bad_csv(tmp_path, jena_csv, name, edit) -> Path:
    path = tmp_path / f"{name}.csv"
    edit(pd.read_csv(jena_csv)).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case, needles", [
    ("renamed", ["lacks column(s) 'T (degC)'", "dataset.target"]),
    # the same path for another data error (the message itself is test_jena's): slow
    pytest.param("short", ["reaches row 3200", "lower dataset.train/val/test"],
                 marks=pytest.mark.slow),
])
def test_data_errors_record_a_failed_run(tmp_path, jena_csv, case, needles, new_store):
    edits = {"renamed": lambda f: f.rename(columns={"T (degC)": "T"}),
             "short": lambda f: f.iloc[:3000]}
    path = bad_csv(tmp_path, jena_csv, case, edits[case])
    uri = new_store(tmp_path / "s.db")
    out = seqexp("dataset=jena", f"dataset.path={path}", *SMALL_JENA, f"tracking.uri={uri}",
                 cwd=tmp_path)
    line = assert_clean_failure(out, tmp_path, uri, *needles)
    # the one line is all: no TensorFlow, absl, CUDA or MLflow start-up lines around it
    assert out.stderr.strip().splitlines() == [line] and not out.stdout.strip(), out.stderr
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("seqexp").experiment_id])
    assert run.info.status == "FAILED" and needles[0] in run.data.tags["error"]


def test_non_writable_tracking_location(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.access(locked, os.W_OK):  # root ignores permissions: use a path that cannot exist
        target = "sqlite:////proc/seqexp/store.db"
    else:
        target = f"sqlite:///{locked / 'store.db'}"
    out = seqexp("trainer.epochs=1", f"tracking.uri={target}", cwd=tmp_path)
    assert_clean_failure(out, tmp_path, None, "cannot open the MLflow store",
                         "tracking.uri")


@pytest.mark.parametrize("sweep", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_a_file_that_is_not_a_store(tmp_path, sweep):
    """A job or a sweep on a sqlite URI whose file is not an MLflow store: one line (the
    sweep's parent-run callback said it as a Hydra warning with SQL, and each job ended in a
    traceback), and the file is left as it was."""
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"not a database, a user's file\n" * 200)
    before = bad.read_bytes()
    args = ["-m", "model=gru,dense"] if sweep else []
    out = seqexp(*args, "trainer.epochs=1", f"tracking.uri=sqlite:///{bad}", cwd=tmp_path)
    assert_clean_failure(out, tmp_path, None, "cannot open the MLflow store",
                         "file is not a database", "check tracking.uri")
    assert "UserWarning" not in out.stderr and "Launching" not in out.stderr
    assert bad.read_bytes() == before


@pytest.mark.slow  # several TensorFlow processes: make test-slow (keeps make test <= 5 min)
def test_nan_loss_fails_the_run_with_the_reason(tmp_path, jena_csv, new_store):
    uri = new_store(tmp_path / "s.db")
    out = seqexp("dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA, "model=dense",
                 "trainer.learning_rate=1e30", "trainer.optimizer=sgd", "trainer.epochs=3",
                 "trainer.steps_per_epoch=3", f"tracking.uri={uri}", cwd=tmp_path)
    line = assert_clean_failure(out, tmp_path, uri, "training diverged",
                                "lower trainer.learning_rate")
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("seqexp").experiment_id])
    assert run.info.status == "FAILED" and "diverged" in run.data.tags["error"]
    assert "epoch" in line
    # its last backed-up epoch diverged: resuming it is refused, cleanly
    again = seqexp(f"trainer.resume={run.info.run_id}", f"tracking.uri={uri}", cwd=tmp_path)
    assert_clean_failure(again, tmp_path, uri, "diverged in epoch", "start a new run")


class _Files(http.server.SimpleHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        _Files.hits.append(self.path)
        super().do_GET()


def test_download_with_a_wrong_checksum_retries_once_and_keeps_nothing(tmp_path):
    served = tmp_path / "www"
    served.mkdir()
    (served / "jena.csv.zip").write_bytes(b"definitely not the expected bytes")
    handler = lambda *a, **kw: _Files(*a, directory=str(served), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Files.hits.clear()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jena.csv.zip"
        with pytest.raises(SeqexpError, match="does not match its sha256 twice.*dataset.path"):
            download.download(url, "dataset.path", sha256="0" * 64)
    finally:
        server.shutdown()
    assert _Files.hits == ["/jena.csv.zip", "/jena.csv.zip"]  # retried once
    assert not (tmp_path / "cache" / "downloads" / "jena.csv.zip").exists()
