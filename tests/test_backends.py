"""Every dataset on the Keras backend in ``KERAS_BACKEND`` (tensorflow, jax or torch), with
TensorFlow unimportable on jax and torch: the GPU machines have JAX and PyTorch but no
TensorFlow, so nothing on the way from data to a trained model may need it.

    make test-backends            # KERAS_BACKEND=jax, then torch (CPU builds from PyPI)
    KERAS_BACKEND=torch pytest -m backends tests/test_backends.py

Marked ``backends``: not in the default run (which is TensorFlow's). Per dataset: one
``seqexp`` job end to end (MLflow sqlite read back, tagged with the backend), and every valid
encoder x model pair fitting one step (``SEQEXP_BACKEND_PAIRS=cover``, the CI default, fits a
set that covers each encoder and each model at least once; ``all`` fits every pair).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqexp import data, models
from seqexp.config import schemas
from seqexp.encoders import Batching, encode
from seqexp.training import train
from tests import textdata
from tests.conftest import SMALL_JENA, compose_cfg
from tests.test_end_to_end import only_run

pytestmark = pytest.mark.backends
BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
NO_TF = BACKEND != "tensorflow"
# runs seqexp with `import tensorflow` failing, as on a machine without it
BLOCK_TF = ("import sys, runpy; sys.modules['tensorflow'] = None; "
            "runpy.run_module('seqexp.cli.run', run_name='__main__', alter_sys=True)")

TEXT_ENCODERS = {
    "onehot": ["encoder=onehot"],
    "onehot-tfidf-bigrams": ["encoder=onehot", "encoder.mode=tf_idf", "encoder.ngrams=2"],
    "onehot-seq": ["encoder=onehot", "encoder.mode=sequence"],
    "onehot-char": ["encoder=onehot", "encoder.mode=sequence", "encoder.level=char"],
    "hash": ["encoder=hash", "encoder.dim=64"],
    "hash-seq": ["encoder=hash", "encoder.dim=64", "encoder.mode=sequence", "encoder.salt=7"],
    "embedding": ["encoder=embedding", "encoder.dim=8", "encoder.mask_zero=true"],
    "glove": ["encoder=glove", "encoder.dim=6"],
}
TOKEN_ENCODERS = {k: v for k, v in TEXT_ENCODERS.items()
                  if k not in ("onehot-tfidf-bigrams", "onehot-char")}
MODELS = list(schemas.GROUPS["model"].options())


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("backend-data")
    archive = textdata.make_aclimdb_tar(root, train=8, test=4)
    npz, index, _ = textdata.make_imdb_npz(root, train=16, test=8)
    glove = textdata.make_glove(root, textdata.glove_vectors(
        textdata.COMMON + textdata.POSITIVE, 6), "gz")
    return {"archive": archive, "npz": npz, "index": index, "glove": glove}


def dataset_overrides(dataset: str, files: dict, jena_csv: Path, maxlen: int = 20) -> list[str]:
    if dataset == "jena":  # conv: 72 timesteps (step 2) for three Conv1D(5) with pooling
        return ["dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA,
                *(["dataset.step=2"] if maxlen > 61 else [])]
    if dataset == "imdb":
        return ["dataset=imdb", f"dataset.path={files['npz']}", "dataset.sha256=null",
                f"dataset.word_index_path={files['index']}", "dataset.word_index_sha256=null",
                f"dataset.maxlen={maxlen}", "dataset.num_words=30", "dataset.val_split=0.25"]
    return ["dataset=raw-imdb", f"dataset.path={files['archive']}", "dataset.train_samples=6",
            "dataset.val_samples=4", f"dataset.maxlen={maxlen}", "dataset.max_words=40"]


# CI's set: every model, every encoder and every dataset at least once
COVER = {
    "jena": [("numeric", "gru"), ("numeric", "stacked"), ("numeric", "conv")],
    "imdb": [("onehot", "dense"), ("hash-seq", "simple-rnn"), ("embedding", "lstm"),
             ("glove", "bi")],
    "raw-imdb": [("onehot-tfidf-bigrams", "dense"), ("onehot-char", "conv-gru"),
                 ("hash", "dense"), ("onehot-seq", "gru"), ("embedding", "conv")],
}


def pairs(dataset: str, cover: bool) -> list[tuple[str, list[str], str]]:
    """(label, encoder overrides, model) of every valid pair, or CI's covering set."""
    if dataset == "jena":
        valid = [("numeric", [], m) for m in MODELS]
    else:
        encoders = TEXT_ENCODERS if dataset == "raw-imdb" else TOKEN_ENCODERS
        valid = []
        for label, overrides in encoders.items():
            bag = label in ("onehot", "onehot-tfidf-bigrams", "hash")
            valid += [(label, overrides, m) for m in (["dense"] if bag else MODELS)]
    if cover:
        valid = [p for p in valid if (p[0], p[2]) in COVER[dataset]]
        assert len(valid) == len(COVER[dataset])
    return valid


class _NoTensorFlow:
    """A meta-path finder that makes ``import tensorflow`` fail, as on the GPU machines (Keras
    itself then takes its TensorFlow-free paths)."""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError(f"{name} is blocked: backend {BACKEND} must not need TensorFlow")
        return None


@pytest.fixture(autouse=True)
def no_tensorflow():
    if not NO_TF or "tensorflow" in sys.modules:  # already loaded by another test module
        yield
        return
    finder = _NoTensorFlow()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        assert "tensorflow" not in sys.modules


@pytest.mark.parametrize("dataset", ["jena", "imdb", "raw-imdb"])
def test_encoder_model_pairs_fit_a_step(dataset, files, jena_csv):
    cover = os.environ.get("SEQEXP_BACKEND_PAIRS", "cover") != "all"
    fitted = []
    for label, enc_overrides, model in pairs(dataset, cover):
        maxlen = 64 if model == "conv" else 20  # three Conv1D(5) with pooling need 61 steps
        overrides = [*dataset_overrides(dataset, files, jena_csv, maxlen), f"model={model}",
                     *enc_overrides, "trainer.batch_size=4"]
        if label == "glove":
            overrides.append(f"encoder.path={files['glove']}")
        cfg = compose_cfg(*overrides)
        splits = data.load(cfg.dataset)
        enc = encode(splits, cfg.encoder, Batching(4, 0, 2))
        net = models.build(enc.spec, enc.layers, cfg.model, splits.task)
        train.compile_model(net, splits.task, cfg.trainer)
        history = net.fit(enc.train, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False)
        loss = history.history["loss"][-1]
        assert np.isfinite(loss), (label, model, loss)
        fitted.append((label, model))
    assert len(fitted) == len(pairs(dataset, cover))


@pytest.mark.parametrize("dataset", ["jena", "imdb", "raw-imdb"])
def test_a_job_runs_end_to_end(dataset, files, jena_csv, tmp_path):
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    model = "gru" if dataset == "jena" else "lstm"
    extra = [] if dataset == "jena" else ["encoder=embedding", "encoder.dim=8"]
    args = [*dataset_overrides(dataset, files, jena_csv), f"model={model}", *extra,
            "trainer.epochs=2", "trainer.steps_per_epoch=2", "trainer.batch_size=8",
            "trainer.verbose=0", f"tracking.uri={uri}"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": BACKEND}
    command = ([sys.executable, "-c", BLOCK_TF] if NO_TF
               else [sys.executable, "-m", "seqexp.cli.run"])
    out = subprocess.run([*command, *args], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    client, run = only_run(uri)
    assert run.info.status == "FINISHED"
    assert run.data.tags["keras_backend"] == BACKEND
    assert run.data.tags["device"] == "cpu"
    assert run.data.tags["cudnn"] == "yes"  # GRU/LSTM with the defaults, no mask
    history = client.get_metric_history(run.info.run_id, "loss")
    assert len(history) == 2 and all(np.isfinite(m.value) for m in history)
    assert "val_skill" in run.data.metrics
