"""Load: 20 short jobs, joblib launcher with 2 workers, MLflow's default sqlite store."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SMALL_JENA
from tests.test_end_to_end import seqexp


@pytest.mark.slow
def test_twenty_parallel_jobs_all_recorded(tmp_path, jena_csv):
    out = seqexp("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                 "trainer.seed=range(20)", "model=dense", "dataset=jena",
                 f"dataset.path={jena_csv}", *SMALL_JENA, "trainer.epochs=3",
                 "trainer.steps_per_epoch=2", "trainer.batch_size=32", "trainer.verbose=0",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "database is locked" not in out.stderr and "Traceback" not in out.stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("seqexp")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(children) == 20
    assert sorted(int(r.data.params["trainer.seed"]) for r in children) == list(range(20))
    for run in children:
        assert run.info.status == "FINISHED"
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_mae")]
        assert sorted(steps) == [1, 2, 3]
        assert {"naive_val_mae", "best_val_mae", "val_skill"} <= set(run.data.metrics)
