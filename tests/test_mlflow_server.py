"""A real `mlflow server` on 127.0.0.1: a job logs to it over HTTP and is read back; an
unreachable server stops seqexp before training, in one line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SMALL_JENA
from tests.test_end_to_end import seqexp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
        stdout=open(root / "server.log", "wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not start:\n"
                                   + (root / "server.log").read_text()[-2000:])
            time.sleep(0.5)
        yield uri
    finally:  # stop the server (and its workers) by its own process group id
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=5)  # uvicorn's graceful stop took 20 s here
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.slow  # several TensorFlow processes: make test-slow (keeps make test <= 5 min)
def test_job_logs_to_a_tracking_server(tmp_path, jena_csv, mlflow_server):
    out = seqexp("dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA, "model=dense",
                 "trainer.epochs=2", "trainer.steps_per_epoch=2", "trainer.batch_size=32",
                 f"tracking.uri={mlflow_server}", "tracking.experiment=over-http", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    client = MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name("over-http")
    (run,) = client.search_runs([exp.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["model.name"] == "dense"
    assert {"naive_val_mae", "best_val_mae", "val_skill"} <= set(run.data.metrics)
    assert len(client.get_metric_history(run.info.run_id, "val_mae")) == 2
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "learning_curves.png", "model_summary.txt"} <= names
    local = client.download_artifacts(run.info.run_id, "model_summary.txt", str(tmp_path))
    assert "Dense" in Path(local).read_text()


def test_unreachable_server_fails_fast_in_one_line(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    out = seqexp("trainer.epochs=1", f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 2
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith(f"seqexp: error: the MLflow tracking server {uri} is unreachable")
    assert "Epoch 1" not in out.stdout  # nothing was trained
    assert time.monotonic() - start < 60
