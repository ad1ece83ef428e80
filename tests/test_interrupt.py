"""SIGTERM during training ends the run KILLED with its metrics and checkpoint; resuming it
continues in the same MLflow run from the last completed epoch, with no gap or duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SMALL_JENA
from tests.test_end_to_end import only_run, seqexp

SLOW_EPOCHS = ["trainer.epochs=8", "trainer.steps_per_epoch=25", "trainer.batch_size=32",
               "trainer.verbose=0", "model=gru", "tracking.system_metrics=false"]


def start_job(tmp_path, jena_csv, uri: str, epochs_logged: int):
    """Start a slow job; return it and its run id once it has logged ``epochs_logged``."""
    args = ["dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA, *SLOW_EPOCHS,
            f"tracking.uri={uri}"]
    job = subprocess.Popen([sys.executable, "-m", "seqexp.cli.run", *args], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    client = MlflowClient(tracking_uri=uri)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.5)
        try:
            exp = client.get_experiment_by_name("seqexp")
            runs = client.search_runs([exp.experiment_id]) if exp else []
        except Exception:  # the store is still being created
            continue
        if runs and len(client.get_metric_history(runs[0].info.run_id,
                                                  "val_mae")) >= epochs_logged:
            return job, runs[0].info.run_id
    job.kill()
    raise AssertionError(f"the job never logged {epochs_logged} epochs")


def test_sigterm_then_resume(tmp_path, jena_csv, new_store):
    uri = new_store(tmp_path / "store.db")
    client = MlflowClient(tracking_uri=uri)
    job, run_id = start_job(tmp_path, jena_csv, uri, epochs_logged=2)
    job.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    _, stderr = job.communicate(timeout=60)
    assert time.monotonic() - stopped < 30  # it exits promptly
    assert job.returncode == 130, stderr[-2000:]
    assert f"continue it with trainer.resume={run_id}" in stderr.strip().splitlines()[-1]

    _, run = only_run(uri)
    assert run.info.status == "KILLED"
    done = sorted(m.step for m in client.get_metric_history(run_id, "val_mae"))
    assert 2 <= len(done) < 8 and done == list(range(1, len(done) + 1))
    backup = run.data.tags["seqexp.checkpoint_dir"]
    assert os.path.isdir(os.path.join(backup, "backup"))

    out = seqexp(f"trainer.resume={run_id}", f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    _, run = only_run(uri)  # still one run: the same one, continued
    assert run.info.status == "FINISHED" and run.info.run_id == run_id
    steps = [m.step for m in client.get_metric_history(run_id, "val_mae")]
    assert sorted(steps) == list(range(1, 9))  # no gap, no duplicate
    assert run.data.metrics["epochs_run"] == 8
    best = min(m.value for m in client.get_metric_history(run_id, "val_mae"))
    assert abs(run.data.metrics["best_val_mae"] - best) < 1e-9


@pytest.mark.slow  # several TensorFlow processes: make test-slow (keeps make test <= 5 min)
def test_resume_of_a_finished_or_unknown_run_is_refused(tmp_path, jena_csv, new_store):
    uri = new_store(tmp_path / "store.db")
    out = seqexp("dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA, "model=dense",
                 "trainer.epochs=1", "trainer.steps_per_epoch=2", f"tracking.uri={uri}",
                 cwd=tmp_path)
    assert out.returncode == 0
    _, run = only_run(uri)
    again = seqexp(f"trainer.resume={run.info.run_id}", f"tracking.uri={uri}", cwd=tmp_path)
    assert again.returncode == 2
    assert "already FINISHED" in again.stderr.strip().splitlines()[-1]
    unknown = seqexp("trainer.resume=0123456789abcdef", f"tracking.uri={uri}", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "no recorded config.yaml" in unknown.stderr.strip().splitlines()[-1]


@pytest.mark.slow  # several TensorFlow processes: make test-slow (keeps make test <= 5 min)
def test_sigkill_leaves_a_dead_run_that_the_report_flags_and_ends(tmp_path, jena_csv, new_store):
    uri = new_store(tmp_path / "store.db")
    job, run_id = start_job(tmp_path, jena_csv, uri, epochs_logged=1)
    job.kill()
    job.communicate(timeout=60)
    report = [sys.executable, "-m", "seqexp.cli.report", "--uri", uri, "--out", str(tmp_path / "r")]
    shown = subprocess.run(report, capture_output=True, text=True, timeout=120)
    assert "RUNNING (dead)" in shown.stdout, shown.stdout + shown.stderr
    ended = subprocess.run([*report, "--end-dead"], capture_output=True, text=True, timeout=120)
    assert run_id in ended.stdout, ended.stdout + ended.stderr
    run = MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.info.status == "FAILED" and "died" in run.data.tags["error"]
