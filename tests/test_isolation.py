"""Runs never share training state: two jobs started in the same second in an empty folder
(one fresh default sqlite store, one absolute checkpoint folder) both finish, each with its
own checkpoint folder keyed by its MLflow run id."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SMALL_JENA


@pytest.mark.slow  # two TensorFlow processes at once: make test-slow (make test <= 5 min)
def test_two_runs_started_at_once_in_an_empty_folder(tmp_path, jena_csv):
    shared = tmp_path / "ckpt"
    args = [sys.executable, "-m", "seqexp.cli.run", "dataset=jena", f"dataset.path={jena_csv}",
            *SMALL_JENA, "model=dense", "trainer.epochs=1", "trainer.steps_per_epoch=2",
            "trainer.verbose=0", f"trainer.checkpoint_dir={shared}"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    jobs = [subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [job.communicate(timeout=600) for job in jobs]
    for job, (_, err) in zip(jobs, outs):
        assert job.returncode == 0, err[-3000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("seqexp").experiment_id])
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    folders = {Path(r.data.tags["seqexp.checkpoint_dir"]) for r in runs}
    assert folders == {shared / r.info.run_id for r in runs}
    for folder in folders:
        assert (folder / "best.weights.h5").is_file()
        assert [p.name for p in (folder / "backup").glob("*.json")] == ["epoch-0001.json"]

