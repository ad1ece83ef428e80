"""seqexp's Optuna sweeper, in process: the search space from Hydra's sweep syntax, the study's
bookkeeping across restarts (trials of a dead process retried, n_trials counting finished
ones), and a trial's job reporting per epoch and being pruned."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from seqexp.sweeps import pruning, search, space
from tests.conftest import compose_cfg


def test_search_space_from_hydra_sweep_syntax():
    dists, fixed = space.search_space(
        {"model": "choice(gru, lstm)", "model.units": "range(8, 40, 8)",
         "trainer.learning_rate": "tag(log, interval(0.0001, 0.01))",
         "trainer.seed": "interval(0, 3)", "model.dropout": "range(0.0, 0.5, 0.25)"},
        ["trainer.epochs=3", "model.units=choice(4, 8)"])
    assert dists["model"] == CategoricalDistribution(["gru", "lstm"])
    assert dists["model.units"] == CategoricalDistribution([4, 8])  # the command line wins
    assert dists["trainer.learning_rate"] == FloatDistribution(0.0001, 0.01, log=True)
    assert dists["trainer.seed"] == FloatDistribution(0.0, 3.0)  # Hydra's intervals: floats
    assert dists["model.dropout"] == FloatDistribution(0.0, 0.25, step=0.25)
    assert fixed == ["trainer.epochs=3"]
    ints, _ = space.search_space({"model.units": "range(8, 40, 8)"}, [])
    assert ints["model.units"] == IntDistribution(8, 32, step=8)


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_trials_of_a_dead_process_are_retried_and_not_counted(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="s", storage=search.open_storage(url))
    dist = {"x": FloatDistribution(0, 1)}
    for value in (0.3, 0.1):
        trial = study.ask(dist)
        study.tell(trial, value)
    dead = study.ask(dist)  # left RUNNING by a process that is gone
    dead.set_user_attr("seqexp.pid", _dead_pid())
    dead.set_user_attr("seqexp.host", __import__("socket").gethostname())
    mine = study.ask(dist)  # RUNNING in this (live) process: left alone
    mine.set_user_attr("seqexp.pid", __import__("os").getppid())
    mine.set_user_attr("seqexp.host", __import__("socket").gethostname())
    assert search.Search.finished(study) == 2

    reopened = optuna.load_study(study_name="s", storage=search.open_storage(url))
    assert search.Search.retry_dead(reopened) == [dead.number]
    trials = reopened.get_trials()
    assert trials[dead.number].state == TrialState.FAIL
    assert trials[mine.number].state == TrialState.RUNNING
    assert search.Search.finished(reopened) == 2  # the failed one is retried, not counted
    retry = reopened.ask(dist)  # the enqueued retry: same parameters
    assert retry.params == trials[dead.number].params
    assert retry.user_attrs[search.RETRY_OF] == dead.number
    reopened.tell(retry, 0.2)
    assert search.Search.finished(reopened) == 3
    assert search.default_storage(f"sqlite:///{tmp_path}/m/mlflow.db") == \
        f"sqlite:///{tmp_path}/m/mlflow.optuna.db"


def test_a_trial_is_reported_per_epoch_and_pruned(tmp_path, monkeypatch):
    import keras

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    pruner = {"_target_": "optuna.pruners.MedianPruner", "n_startup_trials": 1,
              "n_warmup_steps": 1}
    study = optuna.create_study(study_name="s", storage=search.open_storage(url))
    first = study.ask()
    for epoch in range(5):
        first.report(0.1, step=epoch)
    study.tell(first, 0.1)
    trial = study.ask()
    monkeypatch.setenv(search.STORAGE_ENV, url)
    monkeypatch.setenv(search.STUDY_ENV, "s")
    monkeypatch.setenv(search.PRUNER_ENV, json.dumps(pruner))

    class FakeRun:
        tags: dict = {}

        def set_tags(self, tags):
            self.tags.update(tags)

    run = FakeRun()
    cfg = compose_cfg(f"sweep.trial={trial.number}", validate=False)
    callback = pruning.callback(cfg, run, "val_loss")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((8, 3), "float32"), np.full((8, 1), 50.0, "float32")  # far off: worse
    history = model.fit(x, y, validation_data=(x, y), epochs=5, verbose=0,
                        callbacks=[callback])
    assert len(history.history["loss"]) == 2  # epoch 1 is warm-up; pruned after epoch 2
    frozen = optuna.load_study(study_name="s", storage=url).get_trials()[trial.number]
    assert sorted(frozen.intermediate_values) == [0, 1]
    assert frozen.intermediate_values[1] == pytest.approx(history.history["val_loss"][1])
    assert frozen.user_attrs["seqexp.pruned"] is True
    assert run.tags == {"optuna.trial": trial.number, "optuna.study": "s",
                        "optuna.state": "PRUNED"}
    assert pruning.callback(compose_cfg(validate=False), run, "val_loss") is None


def test_a_continued_study_does_not_replay_its_seeded_draws(tmp_path, monkeypatch):
    """Restarted with the same seed, TPE would draw the first trials' parameters again."""
    from omegaconf import OmegaConf

    for name in (search.STORAGE_ENV, search.STUDY_ENV, search.PRUNER_ENV):
        monkeypatch.setenv(name, "")  # restored after the test
    cfg = OmegaConf.create({"storage": f"sqlite:///{tmp_path / 'optuna.db'}",
                            "study_name": "s", "direction": "minimize",
                            "sampler": {"_target_": "optuna.samplers.TPESampler", "seed": 42},
                            "pruner": {"_target_": "optuna.pruners.NopPruner"}})
    dist = {"x": FloatDistribution(0, 1)}
    first, _ = search.Search(cfg).study()
    draws = []
    for _ in range(2):
        trial = first.ask(dist)
        first.tell(trial, trial.params["x"])
        draws.append(trial.params["x"])
    again, _ = search.Search(cfg).study()
    assert again.ask(dist).params["x"] not in draws
    fresh = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=42))
    assert fresh.ask(dist).params["x"] == draws[0]  # what a plain restart would have drawn
