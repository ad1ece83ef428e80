"""Issue 8 point 1, stress: 20 kills of a small Jena run at random moments (SIGTERM and
SIGKILL mixed: during training, validation, the backup and the MLflow write), each followed
by ``trainer.resume=<id>``; the finished run's history holds every epoch exactly once, the
same step set as an uninterrupted run, and its best score is that history's best."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SMALL_JENA
from tests.test_end_to_end import seqexp

EPOCHS = 120
KILLS = 20
ARGS = [*SMALL_JENA, f"trainer.epochs={EPOCHS}", "trainer.steps_per_epoch=10",
        "trainer.batch_size=32", "trainer.verbose=0", "model=gru"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def steps(client, run_id) -> list[int]:
    return [m.step for m in client.get_metric_history(run_id, "val_mae")]


def wait_for_progress(job, client, uri, run_id, logged: int, deadline: float):
    """Wait until the job has logged an epoch beyond ``logged``; return its run id (None if
    the job ended first)."""
    while time.monotonic() < deadline and job.poll() is None:
        time.sleep(0.2)
        try:
            if run_id is None:
                exp = client.get_experiment_by_name("seqexp")
                runs = client.search_runs([exp.experiment_id]) if exp else []
                if not runs:
                    continue
                run_id = runs[0].info.run_id
            if len(steps(client, run_id)) > logged:
                return run_id
        except Exception:  # the store is being created or written
            continue
    return run_id


@pytest.mark.slow
def test_twenty_random_kills_then_resume(tmp_path, jena_csv):
    rng = random.Random(8)
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    client = MlflowClient(tracking_uri=uri)
    run_id, kills, deadline = None, [], time.monotonic() + 900
    while len(kills) < KILLS:
        args = (["dataset=jena", f"dataset.path={jena_csv}", *ARGS] if run_id is None
                else [f"trainer.resume={run_id}"])
        job = subprocess.Popen([sys.executable, "-m", "seqexp.cli.run", *args,
                                f"tracking.uri={uri}"], cwd=tmp_path, env=ENV, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        logged = len(steps(client, run_id)) if run_id else 0
        run_id = wait_for_progress(job, client, uri, run_id, logged, deadline)
        time.sleep(rng.uniform(0.0, 0.8))  # somewhere in the next epoch or two
        how = rng.choice([signal.SIGTERM, signal.SIGKILL])
        if job.poll() is None:
            job.send_signal(how)
        _, err = job.communicate(timeout=120)
        assert time.monotonic() < deadline, "the stress test ran out of time"
        if job.returncode == 0:
            break  # it finished before the kill landed
        assert job.returncode in (130, -signal.SIGKILL), err[-3000:]
        assert run_id is not None, err[-3000:]
        kills.append((how.name, job.returncode, len(steps(client, run_id))))
        done = sorted(steps(client, run_id))
        assert done == list(range(1, len(done) + 1)), (kills, done)  # never a gap or a duplicate
    assert len(kills) == KILLS, kills
    out = seqexp(f"trainer.resume={run_id}", f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    history = client.get_metric_history(run_id, "val_mae")
    assert sorted(m.step for m in history) == list(range(1, EPOCHS + 1))
    assert run.data.metrics["epochs_run"] == EPOCHS
    assert run.data.metrics["best_val_mae"] == pytest.approx(min(m.value for m in history))

    whole_uri = f"sqlite:///{tmp_path / 'whole.db'}"
    whole = seqexp("dataset=jena", f"dataset.path={jena_csv}", *ARGS,
                   f"tracking.uri={whole_uri}", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    other = MlflowClient(tracking_uri=whole_uri)
    (uninterrupted,) = other.search_runs([other.get_experiment_by_name("seqexp").experiment_id])
    assert sorted(steps(other, uninterrupted.info.run_id)) == sorted(m.step for m in history)
    print(f"kills (signal, exit, epochs logged): {kills}")
