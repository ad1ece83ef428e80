"""`seqexp dataset=raw-imdb encoder=glove` and `dataset=imdb` end to end in a subprocess,
on data generated in the real formats, read back from a real MLflow sqlite store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.test_end_to_end import only_run, seqexp
from tests.textdata import (
    COMMON,
    NEGATIVE,
    POSITIVE,
    glove_vectors,
    make_aclimdb_tar,
    make_glove,
    make_imdb_npz,
)

FAST = ["trainer.epochs=2", "trainer.batch_size=8", "trainer.verbose=0"]


def test_raw_imdb_with_glove(tmp_path, new_store):
    archive = make_aclimdb_tar(tmp_path, train=30, test=10)
    words = COMMON + POSITIVE + NEGATIVE[:3]  # some words deliberately missing from GloVe
    glove = make_glove(tmp_path, glove_vectors(words, 12), fmt="gz")
    uri = new_store(tmp_path / "text.db")
    out = seqexp("dataset=raw-imdb", f"dataset.path={archive}", "dataset.train_samples=40",
                 "dataset.val_samples=20", "dataset.maxlen=20", "encoder=glove",
                 f"encoder.path={glove}", "encoder.dim=12", "model=dense",
                 "trainer.evaluate_test=true", *FAST, f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    client, run = only_run(uri)
    assert run.info.status == "FINISHED"
    metrics, params = run.data.metrics, run.data.params
    assert params["encoder.name"] == "glove" and params["encoder.trainable"] == "False"
    assert 0 < metrics["glove_coverage"] < 1
    for key in ("naive_val_acc", "best_val_acc", "val_skill", "naive_test_acc", "test_acc",
                "test_skill"):
        assert key in metrics, key
    assert metrics["naive_val_acc"] == pytest.approx(0.5, abs=0.2)
    assert metrics["val_skill"] == pytest.approx(
        (metrics["best_val_acc"] - metrics["naive_val_acc"]) / (1 - metrics["naive_val_acc"]))
    history = client.get_metric_history(run.info.run_id, "val_accuracy")
    assert sorted(m.step for m in history) == [1, 2]
    assert run.data.tags["task"] == "binary" and run.data.tags["data.source"] == str(archive)
    # probe words' neighbours before/after training and the projector files
    found = json.loads(Path(client.download_artifacts(
        run.info.run_id, "neighbours/neighbours.json", str(tmp_path))).read_text())
    assert found["good"] == {"before": None, "after": None}  # not in these reviews
    boring = found["boring"]["before"]
    assert len(boring) == 8 and boring == found["boring"]["after"]  # frozen GloVe
    vectors = glove_vectors(words, 12)
    unit = {w: v / np.linalg.norm(v) for w, v in vectors.items()}
    best = max((w for w in unit if w != "boring"), key=lambda w: unit[w] @ unit["boring"])
    assert boring[0][0] == best and boring[0][1] == pytest.approx(
        float(unit[best] @ unit["boring"]), abs=1e-3)
    folder = Path(client.download_artifacts(run.info.run_id, "projector", str(tmp_path)))
    names = (folder / "metadata.tsv").read_text().splitlines()
    rows = (folder / "vectors.tsv").read_text().splitlines()
    assert len(names) == len(rows) and set(names) <= set(words) and "boring" in names
    assert len(rows[0].split("\t")) == 12


def test_imdb_npz_with_embedding_and_lstm(tmp_path, new_store):
    npz, index, _ = make_imdb_npz(tmp_path, train=40, test=20)
    uri = new_store(tmp_path / "imdb.db")
    out = seqexp("dataset=imdb", f"dataset.path={npz}", f"dataset.word_index_path={index}",
                 "dataset.sha256=null", "dataset.maxlen=30", "dataset.num_words=50",
                 "encoder=embedding", "encoder.dim=8", "model=lstm", *FAST,
                 f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    _, run = only_run(uri)
    assert run.info.status == "FINISHED"
    assert {"naive_val_acc", "best_val_acc", "val_skill"} <= set(run.data.metrics)
    assert run.data.params["dataset.maxlen"] == "30"


@pytest.mark.slow  # a subprocess run and model logging: ~30 s (the encoders' tests train it)
def test_sparse_nb_bag_end_to_end_with_its_logged_model(tmp_path, new_store):
    """encoder.weighting=nb encoder.sparse=true: trained on sparse tensors, scored on the
    test reviews, and logged as an MLflow model that predicts from dense bags."""
    archive = make_aclimdb_tar(tmp_path, train=30, test=10)
    uri = new_store(tmp_path / "nb.db")
    out = seqexp("dataset=raw-imdb", f"dataset.path={archive}", "dataset.train_samples=40",
                 "dataset.val_samples=20", "dataset.max_words=300", "encoder=onehot",
                 "encoder.ngrams=2", "encoder.weighting=nb", "encoder.sparse=true",
                 "model=dense", "model.units=[]", "trainer.evaluate_test=true", *FAST,
                 f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    client, run = only_run(uri)
    assert run.info.status == "FINISHED"
    params, metrics = run.data.params, run.data.metrics
    assert params["encoder.weighting"] == "nb" and params["encoder.sparse"] == "True"
    assert 0 <= metrics["test_acc"] <= 1 and "test_skill" in metrics
    import mlflow

    mlflow.set_tracking_uri(client.tracking_uri)
    try:
        model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    finally:
        mlflow.set_tracking_uri(None)
    (spec,) = model.metadata.signature.inputs.inputs
    width = spec.shape[1]
    assert 100 < width <= 300  # the bag's columns (the generated reviews' words and bigrams)
    predicted = np.asarray(model.predict(np.zeros((2, width), "float32")))
    assert predicted.shape == (2, 1) and ((predicted > 0) & (predicted < 1)).all()
