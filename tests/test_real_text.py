"""Real data (slow, not in the default run): raw-imdb from the real archive with the book's
200-sample setup, and the glove encoder on the real 50d vectors.

    SEQEXP_REAL_DATA=/path/to/folder pytest -m slow tests/test_real_text.py

The folder holds aclImdb_v1_nofeat.tar.gz (or aclImdb_v1.tar.gz) and glove.6B.50d.txt.gz.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from seqexp import data, models
from seqexp.encoders import Batching, encode
from tests.conftest import compose_cfg

pytestmark = pytest.mark.slow


def real_file(*names: str) -> Path:
    folder = os.environ.get("SEQEXP_REAL_DATA")
    if not folder:
        pytest.skip("set SEQEXP_REAL_DATA to a folder with the real archive and GloVe file")
    for name in names:
        if (Path(folder) / name).exists():
            return Path(folder) / name
    pytest.skip(f"none of {names} in {folder}")


def test_raw_imdb_archive_and_glove_50d():
    archive = real_file("aclImdb_v1_nofeat.tar.gz", "aclImdb_v1.tar.gz")
    glove = real_file("glove.6B.50d.txt.gz", "glove.6B.50d.txt", "glove.6B.zip")
    cfg = compose_cfg("dataset=raw-imdb", f"dataset.path={archive}", "encoder=glove",
                      f"encoder.path={glove}", "encoder.dim=50", "model=dense")
    splits = data.load(cfg.dataset)
    assert [len(p[1]) for p in (splits.train, splits.val, splits.test)] == [200, 10000, 25000]
    assert 0.3 < splits.train[1].mean() < 0.7 and splits.test[1].mean() == 0.5
    enc = encode(splits, cfg.encoder, Batching(32, 0, None))
    matrix = enc.layers[0].get_weights()[0]
    assert matrix.shape[1] == 50 and enc.spec.shape == (100,)
    assert enc.metrics["glove_coverage"] > 0.8, enc.metrics
    assert not matrix[0].any() and matrix[2:].any()
    net = models.build(enc.spec, enc.layers, cfg.model, splits.task)
    net.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    history = net.fit(enc.train, validation_data=enc.val, epochs=2, verbose=0)
    assert np.isfinite(history.history["val_loss"]).all()


def test_best_raw_imdb_preset_passes_090_on_the_test_reviews(tmp_path):
    """experiment=best/raw-imdb on the real reviews: >= 0.90 test accuracy (every chapter-6
    listing stays below)."""
    from mlflow.tracking import MlflowClient

    from seqexp.training.job import run_job

    archive = real_file("aclImdb_v1_nofeat.tar.gz", "aclImdb_v1.tar.gz")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_job(compose_cfg("experiment=best/raw-imdb", f"dataset.path={archive}",
                        "trainer.verbose=0", f"tracking.uri={uri}"))
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("seqexp").experiment_id])
    assert run.data.metrics["test_acc"] >= 0.90, run.data.metrics


def test_best_raw_imdb_nb_preset_passes_nbsvm_on_the_test_reviews(tmp_path):
    """experiment=best/raw-imdb-nb on the real reviews, one seed: past NBSVM's 0.9122 and
    the 0.915 asked of the 3-seed mean (seeds 0/1/2 measured 0.9222-0.9230)."""
    from mlflow.tracking import MlflowClient

    from seqexp.training.job import run_job

    archive = real_file("aclImdb_v1_nofeat.tar.gz", "aclImdb_v1.tar.gz")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_job(compose_cfg("experiment=best/raw-imdb-nb", f"dataset.path={archive}",
                        "trainer.seed=0", "trainer.verbose=0", f"tracking.uri={uri}"))
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("seqexp").experiment_id])
    assert run.data.params["encoder.weighting"] == "nb"
    assert run.data.metrics["test_acc"] >= 0.915, run.data.metrics
