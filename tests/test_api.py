"""The Python API (``seqexp.compose/run/sweep/leaderboard/ui_address``): the CLI's config and
errors, runs recorded in MLflow as ``seqexp`` records them and read back, nothing left behind
in the process between jobs."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from seqexp import api
from seqexp.errors import SeqexpError
from tests.conftest import SMALL_JENA

TINY = ["trainer.epochs=2", "trainer.steps_per_epoch=2", "trainer.batch_size=16",
        "trainer.verbose=0", "tracking.log_model=false", "tracking.system_metrics=false"]


def jena(path, uri, *more):
    return ["dataset=jena", f"dataset.path={path}", *SMALL_JENA, *TINY, f"tracking.uri={uri}",
            *more]


def test_the_api_is_the_package_s_top_level_and_shadows_no_module():
    import seqexp

    assert seqexp.run is api.run and seqexp.SeqexpError is SeqexpError
    package = Path(seqexp.__file__).parent
    for name in seqexp.__all__:
        assert not (package / name).is_dir() and not (package / f"{name}.py").is_file(), name


def test_import_and_compose_load_no_heavy_library():
    code = ("import sys, seqexp\n"
            "cfg = seqexp.compose('model=dense', 'trainer.epochs=3')\n"
            "print(cfg.model.name, cfg.trainer.epochs, 'hydra' in cfg,\n"
            "      [m for m in ('tensorflow', 'keras', 'mlflow') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.split("\n")[0] == "dense 3 False []", out.stdout + out.stderr


@pytest.mark.parametrize("overrides, line", [
    (["trainer.optimizer=adagrad"],
     "trainer.optimizer=adagrad is not allowed: choose one of rmsprop, adam, sgd"),
    (["dataset=jena", "encoder=glove"],
     "encoder=glove cannot encode dataset=jena (numbers): use encoder=numeric"),
    (["trainer.epochs=0"], "trainer.epochs=0 is too small"),
])
def test_compose_raises_the_command_s_one_line(overrides, line):
    with pytest.raises(SeqexpError) as info:
        api.compose(*overrides)
    assert str(info.value).startswith(line) and "\n" not in str(info.value)
    from hydra.core.global_hydra import GlobalHydra

    assert not GlobalHydra.instance().is_initialized()


def test_runs_in_one_process_are_recorded_and_leak_nothing(tmp_path, jena_csv, new_store):
    import keras
    import matplotlib
    import matplotlib.pyplot as plt
    import mlflow
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    uri = new_store(tmp_path / "api.db")
    mine = signal.signal(signal.SIGINT, lambda *_: None)
    random.seed(7)
    np.random.seed(7)
    before = (random.getstate(), np.random.get_state()[1].copy(), os.getcwd(),
              signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM),
              matplotlib.get_backend())
    try:
        first = api.run(*jena(jena_csv, uri, "model=dense", "trainer.seed=1"))
        again = api.run(*jena(jena_csv, uri, "model=dense", "trainer.seed=1"))
        after = (random.getstate(), np.random.get_state()[1], os.getcwd(),
                 signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM),
                 matplotlib.get_backend())
    finally:
        signal.signal(signal.SIGINT, mine)
    assert after[0] == before[0] and (after[1] == before[1]).all()
    assert after[2:] == before[2:]
    assert not GlobalHydra.instance().is_initialized() and not HydraConfig.initialized()
    assert mlflow.active_run() is None and keras.config.dtype_policy().name == "float32"
    assert plt.get_fignums() == []  # the learning curves were drawn on no pyplot figure
    # the same job gives the same numbers whatever ran before it in the process
    timing = ["epoch_seconds"]
    assert first.history.drop(columns=timing).equals(again.history.drop(columns=timing))
    assert first.best == again.best
    assert first.run_id != again.run_id

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(first.run_id)
    assert run.info.status == "FINISHED" and first.uri == uri
    assert run.info.run_name == ",".join(o for o in jena(jena_csv, uri, "model=dense",
                                                        "trainer.seed=1")
                                         if not o.startswith("tracking"))[:250]
    assert first.metric == "mae" and first.best == pytest.approx(run.data.metrics["best_val_mae"])
    assert first.baseline == pytest.approx(run.data.metrics["naive_val_mae"])
    assert first.skill == pytest.approx(1 - first.best / first.baseline)
    assert first.metrics["val_skill"] == pytest.approx(run.data.metrics["val_skill"])
    val = {m.step: m.value for m in client.get_metric_history(first.run_id, "val_mae")}
    assert list(first.history.index) == [1, 2]
    assert first.history["val_mae"].to_dict() == pytest.approx(val)
    assert first.history["naive_val_mae"].tolist() == pytest.approx([first.baseline] * 2)
    assert first.best_epoch == min(val, key=val.get)
    # the command's run folder, under outputs/ of the working directory
    folder = run.data.tags["seqexp.checkpoint_dir"]
    assert folder.startswith(str(tmp_path / "outputs")) and folder.endswith(first.run_id)
    assert (tmp_path / folder / "best.weights.h5").is_file()
    # the model holds the best epoch's weights
    x = np.zeros((3, *first.model.input_shape[1:]), "float32")
    assert first.model.predict(x, verbose=0).shape == (3, 1)
    assert "best_val_mae=" in repr(first) and "skill=" in repr(first)

    board = api.leaderboard(uri=uri)  # seqexp-report's table: one row per run, best first
    assert set(board["run_id"]) == {first.run_id, again.run_id}
    assert board["rank"].tolist() == [1, 2] and board["best_val_mae"].nunique() == 1
    address = api.ui_address(uri=uri)
    exp = client.get_experiment_by_name("seqexp").experiment_id
    assert address == (f"http://127.0.0.1:5000/#/experiments/{exp}/runs?workflowType="
                       "machine_learning&viewStateShareKey=seqexp-compare")
    assert "mlflow.sharedViewState.seqexp-compare" in client.get_experiment(exp).tags


def test_a_failing_run_raises_its_line_and_is_failed_in_mlflow(tmp_path, jena_csv, new_store):
    uri = new_store(tmp_path / "fail.db")
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SeqexpError, match="cannot be built") as info:
        api.run(*jena(jena_csv, uri, "model=conv"))  # 24-step windows: too short for conv
    run = MlflowClient(tracking_uri=uri).get_run(info.value.run_id)
    assert run.info.status == "FAILED" and "cannot be built" in run.data.tags["error"]
    assert signal.getsignal(signal.SIGTERM) is handler


def test_leaderboard_and_ui_address_errors_are_one_line(tmp_path, new_store):
    with pytest.raises(SeqexpError, match="no MLflow store at"):
        api.leaderboard(uri=f"sqlite:///{tmp_path / 'missing.db'}")
    uri = new_store(tmp_path / "empty.db")
    with pytest.raises(SeqexpError, match="no experiment named 'nope'"):
        api.leaderboard(experiment="nope", uri=uri)
    with pytest.raises(SeqexpError, match="no experiment named 'seqexp'"):
        api.ui_address(uri=uri)


@pytest.mark.slow  # a seqexp -m process (TensorFlow imported again): ~30 s on 2 cores
def test_sweep_is_the_command_s_multirun(tmp_path, jena_csv, new_store, capsys):
    uri = new_store(tmp_path / "sweep.db")
    result = api.sweep(*jena(jena_csv, uri, "model=dense", "trainer.seed=0,1",
                             "trainer.epochs=1"))
    shown = capsys.readouterr().out
    assert f"seqexp: sweep parent run {result.parent_run_id}" in shown
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(result.parent_run_id)
    assert parent.data.tags["seqexp.sweep"] == "true" and parent.info.status == "FINISHED"
    assert (result.jobs, result.failed, result.experiment) == (2, 0, "seqexp")
    board = result.leaderboard
    assert len(board) == 1 and board["n"].iloc[0] == 2  # two seeds of one configuration
    assert board["best_val_mae_mean"].iloc[0] == pytest.approx(
        parent.data.metrics["sweep.best_val_mae_mean"])
    latest = api.leaderboard(sweep="latest", uri=uri)
    assert latest["run_ids"].tolist() == board["run_ids"].tolist()
    assert set(latest["run_ids"].iloc[0].split()) == {
        r.info.run_id for r in client.search_runs(
            [parent.info.experiment_id],
            f"tags.`mlflow.parentRunId` = '{result.parent_run_id}'")}


def test_a_refused_sweep_raises_its_line(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'refused.db'}"
    with pytest.raises(SeqexpError, match="^Could not override 'trainer.epochz'"):
        api.sweep("model=dense,gru", "trainer.epochz=3", f"tracking.uri={uri}")
    assert "seqexp: error: Could not override 'trainer.epochz'" in capsys.readouterr().out
    assert not (tmp_path / "refused.db").exists()  # refused before any run was opened
