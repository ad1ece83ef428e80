"""The MLflow store going away mid-training: a real `mlflow server` on 127.0.0.1 stopped
while a job trains. Training goes on with its per-epoch metrics kept in the run's folder;
when the server comes back they are logged, each epoch once; when it never comes back the
job ends in one line naming the folder and `seqexp-flush`, which uploads them later."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SMALL_JENA
from tests.test_mlflow_server import free_port

pytestmark = pytest.mark.slow
EPOCHS = 8


def start_server(root: Path, port: int) -> subprocess.Popen:
    root.mkdir(exist_ok=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
        stdout=open(root / "server.log", "ab"), stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((root / "server.log").read_text()[-2000:])
        time.sleep(0.5)


def stop_server(server: subprocess.Popen) -> None:
    """Gone at once (a crash; SIGTERM would let it drain for many seconds)."""
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def start_job(tmp_path: Path, jena_csv, uri: str):
    err = tmp_path / "job.err"
    job = subprocess.Popen(
        [sys.executable, "-m", "seqexp.cli.run", "dataset=jena", f"dataset.path={jena_csv}",
         *SMALL_JENA, "model=gru", f"trainer.epochs={EPOCHS}", "trainer.steps_per_epoch=25",
         "trainer.batch_size=32", "trainer.verbose=0", f"tracking.uri={uri}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=open(err, "w"), text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    client = MlflowClient(tracking_uri=uri)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.5)
        exp = client.get_experiment_by_name("seqexp")
        runs = client.search_runs([exp.experiment_id]) if exp else []
        if runs and client.get_metric_history(runs[0].info.run_id, "val_mae"):
            return job, runs[0].info.run_id, err
    job.kill()
    raise AssertionError("the job never logged an epoch: " + err.read_text()[-2000:])


def assert_whole(uri: str, run_id: str) -> None:
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(run_id, "val_mae")]
    assert sorted(steps) == list(range(1, EPOCHS + 1))  # every epoch, exactly once
    assert {"best_val_mae", "val_skill", "naive_val_mae"} <= set(run.data.metrics)
    best = min(m.value for m in client.get_metric_history(run_id, "val_mae"))
    assert run.data.metrics["best_val_mae"] == pytest.approx(best)
    names = {a.path for a in client.list_artifacts(run_id)}
    assert {"config.yaml", "learning_curves.png", "best.weights.h5"} <= names
    # the description, kept in the run's folder while the store was away
    assert "vs naive baseline" in run.data.tags.get("mlflow.note.content", "")
    # what a normal end records for MLflow's UI: the dataset as input, the logged model
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["jena"]
    (model,) = client.search_logged_models([run.info.experiment_id],
                                           filter_string=f"source_run_id = '{run_id}'")
    assert model.name == "model"


def assert_quiet_outage(log: str, stdout: str, uri: str, run_id: str, back: bool) -> None:
    """One warning line while the store is away, one "back" line when it returns; none of
    urllib3's Retrying or MLflow's system-metrics warnings; seqexp's closing line with the
    run's address, not MLflow's "View run" lines."""
    assert log.count("seqexp: warning: the MLflow store is unavailable") == 1, log
    assert log.count("the MLflow store is back") == (1 if back else 0), log
    for noise in ("Retrying", "system metrics", "Failed to get mlflow run", "urllib3"):
        assert noise not in log, log
    assert "View run" not in stdout and "View experiment" not in stdout, stdout
    if back:
        experiment = MlflowClient(tracking_uri=uri).get_run(run_id).info.experiment_id
        assert stdout.strip().splitlines()[-1] == (
            f"seqexp: run {run_id} FINISHED: {uri}/#/experiments/{experiment}/runs/{run_id}")


def test_server_stopped_and_restarted_mid_run_loses_no_metric(tmp_path, jena_csv):
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    server = start_server(tmp_path / "server", port)
    try:
        job, run_id, err = start_job(tmp_path, jena_csv, uri)
        stop_server(server)
        deadline = time.monotonic() + 120  # the job notices at its next epoch end
        while "store is unavailable" not in err.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert job.poll() is None, err.read_text()[-2000:]  # still training
        job.send_signal(signal.SIGSTOP)  # hold the job while the server starts again
        server = start_server(tmp_path / "server", port)
        job.send_signal(signal.SIGCONT)
        stdout, _ = job.communicate(timeout=600)
        log = err.read_text()
        assert job.returncode == 0, log[-3000:]
        assert "training goes on" in log and "store is back" in log
        assert_whole(uri, run_id)
        assert_quiet_outage(log, stdout, uri, run_id, back=True)
    finally:
        stop_server(server)


def test_server_that_never_comes_back_leaves_an_upload_for_seqexp_flush(tmp_path, jena_csv):
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    server = start_server(tmp_path / "server", port)
    job, run_id, err = start_job(tmp_path, jena_csv, uri)
    stop_server(server)
    stdout, _ = job.communicate(timeout=600)
    assert_quiet_outage(err.read_text(), stdout, uri, run_id, back=False)
    last = err.read_text().strip().splitlines()[-1]
    assert job.returncode == 2, err.read_text()[-3000:]
    assert last.startswith(f"seqexp: error: the MLflow store {uri} is unavailable")
    folder = Path(last.rsplit("seqexp-flush ", 1)[1])
    assert folder.name == run_id and (folder / "best.weights.h5").is_file()
    assert json.loads((folder / "pending.json").read_text())["status"] == "FINISHED"
    server = start_server(tmp_path / "server", port)
    try:
        flush = [str(Path(sys.executable).with_name("seqexp-flush")), str(folder)]
        out = subprocess.run(flush, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stderr == "", out.stderr  # TensorFlow's start-up lines filtered too
        assert_whole(uri, run_id)  # FINISHED, with description, model and dataset
        experiment = MlflowClient(tracking_uri=uri).get_run(run_id).info.experiment_id
        assert f"seqexp: run {run_id} FINISHED: {uri}/#/experiments/{experiment}/runs/" \
            f"{run_id}" in out.stdout.splitlines() and "View run" not in out.stdout
        assert not (folder / "pending.json").exists()
        again = subprocess.run(flush, capture_output=True, text=True, timeout=300)
        assert again.returncode == 2 and "nothing waits" in again.stderr
    finally:
        stop_server(server)
