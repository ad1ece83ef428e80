"""`seqexp` end to end in a subprocess, writing a real MLflow sqlite store that is read back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SMALL_JENA


def seqexp(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-m", "seqexp.cli.run", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=600)


def only_run(uri: str, experiment: str = "seqexp"):
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 1
    return client, runs[0]


def test_jena_run_is_recorded_in_mlflow(tmp_path, jena_csv, new_store):
    uri = new_store(tmp_path / "store.db")
    out = seqexp("dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA, "model=gru",
                 "trainer.epochs=2", "trainer.steps_per_epoch=3", "trainer.batch_size=32",
                 "trainer.evaluate_test=true", f"tracking.uri={uri}", cwd=tmp_path,
                 env={"MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "vs naive baseline" in out.stdout

    client, run = only_run(uri)
    assert run.info.status == "FINISHED"
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert params["model.name"] == "gru" and params["dataset.lookback"] == "144"
    assert params["trainer.epochs"] == "2" and params["dataset.path"] == str(jena_csv)
    assert int(params["model.parameters"]) > 0
    history = client.get_metric_history(run.info.run_id, "val_mae")
    assert sorted(m.step for m in history) == [1, 2]  # epochs count from 1, as Keras prints
    for key in ("naive_val_mae", "naive_val_mae_degc", "best_val_mae", "best_val_mae_degc",
                "val_skill", "naive_test_mae", "test_mae", "test_mae_degc", "test_skill"):
        assert key in metrics, key
    assert metrics["best_val_mae"] == pytest.approx(min(m.value for m in history))
    assert metrics["val_skill"] == pytest.approx(
        1 - metrics["best_val_mae"] / metrics["naive_val_mae"])
    assert metrics["naive_val_mae_degc"] > metrics["naive_val_mae"] > 0
    assert tags["data.source"] == str(jena_csv) and len(tags["data.sha256"]) == 64
    assert tags["keras_backend"] == "tensorflow" and tags["device"] == "cpu"
    assert tags["cudnn"] == "yes" and "eligible" in tags["cudnn.reason"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "learning_curves.png", "model_summary.txt",
            "best.weights.h5"} <= artifacts
    config_yaml = client.download_artifacts(run.info.run_id, "config.yaml", str(tmp_path))
    assert "lookback: 144" in Path(config_yaml).read_text()
    assert_ui_conventions(client, run, jena_csv)


def assert_ui_conventions(client, run, jena_csv):
    """What MLflow's UI fills its columns and charts from."""
    run_id, metrics, tags = run.info.run_id, run.data.metrics, run.data.tags
    # the baseline and the skill per epoch, so the chart view shows the crossing
    naive = client.get_metric_history(run_id, "naive_val_mae")
    assert {m.step for m in naive} >= {1, 2} and len({m.value for m in naive}) == 1
    skill = {m.step: m.value for m in client.get_metric_history(run_id, "val_skill")
             if m.step in (1, 2)}
    val = {m.step: m.value for m in client.get_metric_history(run_id, "val_mae")}
    assert skill[1] == pytest.approx(1 - val[1] / metrics["naive_val_mae"])
    assert metrics["val_skill"] == pytest.approx(1 - metrics["best_val_mae"]
                                                 / metrics["naive_val_mae"])
    assert metrics["best_epoch"] == min(val, key=val.get)  # 1-based, like the steps
    # the description: score vs baseline, skill, best epoch, data source
    note = tags["mlflow.note.content"]
    assert f"{metrics['best_val_mae']:.4f}" in note and f"{metrics['val_skill']:+.3f}" in note
    assert f"Best epoch {int(metrics['best_epoch'])} of 2" in note and str(jena_csv) in note
    # MLflow's own tags, and no param that does not apply (a URL for a local file, None)
    assert tags["mlflow.user"] and tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.name"]
    assert "dataset.url" not in run.data.params and "dataset.sha256" not in run.data.params
    assert "None" not in run.data.params.values()
    # the dataset as an input (Dataset column)
    (used,) = run.inputs.dataset_inputs
    assert used.dataset.name == "jena" and str(jena_csv) in used.dataset.source
    assert tags["data.sha256"].startswith(used.dataset.digest)
    # system metrics
    assert any(key.startswith("system/cpu_utilization") for key in metrics), sorted(metrics)
    # the model, as an MLflow model that pyfunc loads and that predicts
    import mlflow
    import numpy as np

    (output,) = run.outputs.model_outputs
    assert client.get_logged_model(output.model_id).source_run_id == run_id
    mlflow.set_tracking_uri(client.tracking_uri)
    try:
        model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    finally:
        mlflow.set_tracking_uri(None)
    shape = model.metadata.signature.inputs.inputs[0].shape
    assert shape == (-1, 24, 14)  # lookback 144 / step 6 windows of the 14 features
    (out,) = model.metadata.signature.outputs.inputs  # from the model's symbolic output
    assert out.shape == (-1, 1) and str(out.type) == "float32"
    assert model.predict(np.zeros((3, 24, 14), "float32")).shape == (3, 1)


def test_default_run_uses_the_bundled_sample_and_default_store(tmp_path):
    """`seqexp` alone: the packaged generated sample, MLflow's default store in the cwd."""
    out = seqexp("trainer.epochs=1", "trainer.steps_per_epoch=2", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "mlflow.db").exists()
    _, run = only_run(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert run.data.params["dataset.name"] == "jena-sample"
    assert run.data.tags["data.source"].endswith("jena_sample.csv.zip")
    assert "naive_val_mae" in run.data.metrics


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    """A missing file is refused before TensorFlow loads and before a run is opened."""
    out = seqexp("dataset=jena", f"dataset.path={tmp_path / 'missing.csv'}",
                 f"tracking.uri=sqlite:///{tmp_path / 's.db'}", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"seqexp: error: dataset.path={tmp_path / 'missing.csv'} does not exist: give a .csv "
        "file or a .zip (or dataset.path=null to download it)"]
    assert not (tmp_path / "s.db").exists()
