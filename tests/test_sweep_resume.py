"""Sweeps killed and resumed (issue 17), each a real multi-process run: slow (make test-slow).

A 6-job sweep stopped by SIGTERM during job 3, or SIGKILL during job 4, and resumed with
``sweep.resume=last``: one parent FINISHED, 6 children FINISHED, the jobs finished before the
kill keep their run ids and train no new epoch, the interrupted one has each step once. The
same on the joblib launcher (the sweep process itself stopped while its workers train), and a
12-trial Optuna search stopped after 5 trials: 12 finished trials in the study and in MLflow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SMALL_JENA

pytestmark = pytest.mark.slow

JOBS = ["trainer.epochs=3", "trainer.steps_per_epoch=4", "trainer.batch_size=32",
        "trainer.verbose=0", "tracking.log_model=false", "tracking.system_metrics=false"]


def start(*args: str, cwd) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.Popen([sys.executable, "-m", "seqexp.cli.run", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def runs(uri: str):
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("seqexp")
    if exp is None:
        return client, [], []
    found = client.search_runs([exp.experiment_id])
    parents = [r for r in found if r.data.tags.get("seqexp.sweep") == "true"]
    ids = {p.info.run_id for p in parents}
    return client, parents, [r for r in found if r.data.tags.get("mlflow.parentRunId") in ids]


def epochs_of(client, run) -> list[int]:
    return sorted(m.step for m in client.get_metric_history(run.info.run_id, "val_mae"))


def stop_when(proc: subprocess.Popen, uri: str, finished: int, signum: int,
              timeout: float = 900) -> str:
    """Send ``signum`` once ``finished`` children are FINISHED and another one has logged an
    epoch (it trains: it has a backup to continue from); the stopped sweep's stderr."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        try:
            client, _, children = runs(uri)
            done = [c for c in children if c.info.status == "FINISHED"]
            training = [c for c in children if c.info.status == "RUNNING"
                        and epochs_of(client, c)]
        except Exception:  # the store being written at this moment: look again
            done, training = [], []
        if len(done) >= finished and training:
            proc.send_signal(signum)
            return proc.communicate(timeout=300)[1]
        time.sleep(0.5)
    proc.kill()
    pytest.fail("the sweep never reached the point to stop it")


def resumed_sweep(tmp_path, jena_csv, new_store, signum: int, finished: int,
                  launcher: list[str], jobs: list[str]):
    uri = new_store(tmp_path / "sweep.db")
    args = ["-m", *jobs, "dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA, *JOBS,
            *launcher, f"tracking.uri={uri}"]
    stopped = stop_when(start(*args, cwd=tmp_path), uri, finished, signum)
    if signum == signal.SIGTERM:  # the last line says how to continue
        last = stopped.strip().splitlines()[-1]
        assert last.startswith("seqexp: the sweep stopped before its end; continue it with: "
                               "seqexp -m ") and last.endswith("sweep.resume=" + runs(uri)[1][
                                   0].info.run_id), last
    client, (parent,), before = runs(uri)
    done_before = {c.info.run_id: epochs_of(client, c) for c in before
                   if c.info.status == "FINISHED"}
    history = {run_id: [(m.step, m.timestamp) for m in client.get_metric_history(
        run_id, "val_mae")] for run_id in done_before}
    interrupted = [c for c in before if c.info.status != "FINISHED"]
    assert len(done_before) >= finished and interrupted

    out = subprocess.run([sys.executable, "-m", "seqexp.cli.run", *args, "sweep.resume=last"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stderr[-3000:]
    client, (again,), children = runs(uri)
    assert again.info.run_id == parent.info.run_id and again.info.status == "FINISHED"
    assert len(children) == 6 and {c.info.status for c in children} == {"FINISHED"}
    assert len({c.data.tags["seqexp.job_digest"] for c in children}) == 6
    for run_id in done_before:  # reused: same run, no new epoch
        assert [(m.step, m.timestamp) for m in client.get_metric_history(
            run_id, "val_mae")] == history[run_id]
    ids = {c.info.run_id for c in children}
    assert set(done_before) <= ids
    trained = [c for c in interrupted if c.info.run_id in ids]
    assert trained, "the interrupted job continued in its own child run"
    for child in children:
        assert epochs_of(client, child) == [1, 2, 3]  # every step once
    assert again.data.metrics["sweep.jobs"] == 6
    return out, parent


def test_sweep_stopped_by_sigterm_during_job_3_resumes(tmp_path, jena_csv, new_store):
    out, parent = resumed_sweep(tmp_path, jena_csv, new_store, signal.SIGTERM, 2, [],
                                ["model=gru,dense", "trainer.seed=0,1,2"])
    assert out.stderr.count("FINISHED, reused") >= 2
    assert "continues from its backup" in out.stderr


def test_sweep_killed_during_job_4_resumes(tmp_path, jena_csv, new_store):
    out, parent = resumed_sweep(tmp_path, jena_csv, new_store, signal.SIGKILL, 3, [],
                                ["model=gru,dense", "trainer.seed=0,1,2"])
    assert out.stderr.count("FINISHED, reused") >= 3


def test_joblib_sweep_stopped_resumes(tmp_path, jena_csv, new_store):
    """The sweep process itself gets SIGTERM while two workers train: the parent ends FAILED
    with the line saying how to continue; the resume finishes the sweep on joblib too."""
    out, parent = resumed_sweep(tmp_path, jena_csv, new_store, signal.SIGTERM, 1,
                                ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                                ["model=gru,dense", "trainer.seed=0,1,2"])
    assert "FINISHED, reused" in out.stderr


def test_optuna_search_stopped_after_5_trials_resumes_to_12(tmp_path, jena_csv, new_store):
    import optuna

    from seqexp.sweeps.search import Search

    uri = new_store(tmp_path / "search.db")
    args = ["hparams_search=jena-optuna", "hydra.sweeper.n_trials=12",
            "hydra.sweeper.params={model.units: 'choice(4, 8, 16)', "
            "trainer.learning_rate: 'tag(log, interval(0.0001, 0.01))'}",
            "model=gru", "dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA, *JOBS,
            f"tracking.uri={uri}"]
    stopped = stop_when(start(*args, cwd=tmp_path), uri, 5, signal.SIGTERM)
    assert "sweep.resume=" in stopped.strip().splitlines()[-1]
    out = subprocess.run([sys.executable, "-m", "seqexp.cli.run", *args, "sweep.resume=last"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]
    study = optuna.load_study(study_name="seqexp-jena",
                              storage=f"sqlite:///{tmp_path}/search.optuna.db")
    assert Search.finished(study) == 12
    client, (parent,), children = runs(uri)
    assert parent.info.status == "FINISHED"
    assert len(children) == 12 and {c.info.status for c in children} == {"FINISHED"}
    numbers = [int(c.data.tags["optuna.trial"]) for c in children]
    assert len(set(numbers)) == 12  # no trial counted twice
    complete = {t.number: t for t in study.get_trials()
                if t.state == optuna.trial.TrialState.COMPLETE}
    assert set(numbers) == set(complete)
    for child in children:
        assert epochs_of(client, child) == [1, 2, 3]
        assert complete[int(child.data.tags["optuna.trial"])].value == pytest.approx(
            child.data.metrics["best_val_mae"])
