"""Pruning on the bundled Jena sample (issue 17): the same seeded search with the median
pruner trains fewer epochs than without, reaches the same best configuration, and each
pruned trial is a FINISHED child run tagged ``optuna.state=PRUNED`` with its epochs logged.
Two searches of real training: slow (make test-slow)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow

SEARCH = ["hparams_search=jena-optuna", "hydra.sweeper.n_trials=6",
          "hydra.sweeper.params={model: 'choice(gru)', model.units: 'choice(8, 16)', "
          "trainer.learning_rate: 'tag(log, interval(0.00001, 0.1))'}",
          "trainer.epochs=4", "trainer.steps_per_epoch=6", "trainer.verbose=0",
          "tracking.log_model=false", "tracking.system_metrics=false"]


def search(folder, *more: str):
    folder.mkdir()
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    out = subprocess.run([sys.executable, "-m", "seqexp.cli.run", *SEARCH, *more,
                          f"tracking.uri={uri}"], cwd=folder, capture_output=True, text=True,
                         timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("seqexp")
    children = [r for r in client.search_runs([exp.experiment_id])
                if r.data.tags.get("mlflow.parentRunId")]
    assert len(children) == 6 and {r.info.status for r in children} == {"FINISHED"}
    return client, children, out


def test_pruning_trains_fewer_epochs_for_the_same_best(tmp_path):
    _, full, _ = search(tmp_path / "none")
    client, pruned, out = search(tmp_path / "median", "hydra/sweeper/pruner=median",
                                 "hydra.sweeper.pruner.n_startup_trials=2")
    epochs = {name: sum(r.data.metrics["epochs_run"] for r in runs)
              for name, runs in (("none", full), ("median", pruned))}
    assert epochs["none"] == 6 * 4 and epochs["median"] < epochs["none"]
    stopped = [r for r in pruned if r.data.tags.get("optuna.state") == "PRUNED"]
    assert stopped and "pruned after epoch" in out.stdout
    for run in stopped:
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_mae")]
        assert steps == list(range(1, int(run.data.metrics["epochs_run"]) + 1))
    assert "PRUNED" in out.stdout and "COMPLETE" in out.stdout  # the leaderboard's trial column

    def best(runs):
        top = min(runs, key=lambda r: r.data.metrics["best_val_mae"])
        return (top.data.params["model.units"], top.data.params["trainer.learning_rate"],
                top.data.metrics["best_val_mae"])

    # TPE's first trials are seeded random draws: both searches try the same configurations,
    # and the one the full search finds best is not pruned
    assert best(pruned)[:2] == best(full)[:2]
    assert best(pruned)[2] == pytest.approx(best(full)[2], rel=1e-3)
