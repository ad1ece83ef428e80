"""Book presets under conf/experiment/book/: each composes, validates and is exact to its
listing; the slow test runs every preset, shrunk, on generated data."""

from __future__ import annotations

from pathlib import Path

import pytest

import seqexp
from tests.conftest import compose_cfg

BOOK = Path(seqexp.__file__).resolve().parent.parent / "conf" / "experiment" / "book"
PRESETS = sorted(p.stem for p in BOOK.glob("*.yaml"))


def test_every_listing_has_a_preset():
    listings = {name.split("-")[0] for name in PRESETS}
    assert listings == {"6.7", "6.12", "6.16", "6.23", "6.27", "6.37", "6.39", "6.40", "6.41",
                        "6.42", "6.43", "6.44", "6.46", "6.47", "6.49"}


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes_and_says_what_it_reproduces(preset):
    cfg = compose_cfg(f"experiment=book/{preset}")
    text = (BOOK / f"{preset}.yaml").read_text()
    assert text.startswith("# @package _global_")
    assert f"listing {preset.split('-')[0]}" in text and "Book:" in text
    assert cfg.trainer.optimizer == "rmsprop"


@pytest.mark.parametrize("preset, expected", [
    ("6.39-gru", {"dataset.name": "jena", "model.name": "gru", "trainer.epochs": 20,
                  "trainer.steps_per_epoch": 500, "trainer.batch_size": 128,
                  "dataset.lookback": 1440, "dataset.step": 6, "dataset.delay": 144}),
    ("6.40-gru-dropout", {"model.dropout": 0.2, "model.recurrent_dropout": 0.2,
                          "trainer.epochs": 40}),
    ("6.41-stacked", {"model.units": [32, 64], "model.activation": ["tanh", "relu"],
                      "model.recurrent_dropout": 0.5}),
    ("6.49-conv-gru", {"dataset.lookback": 720, "dataset.step": 3, "model.filters": [32, 32]}),
    ("6.7-imdb-embedding", {"dataset.maxlen": 20, "encoder.dim": 8, "model.units": [],
                            "trainer.batch_size": 32}),
    ("6.12-raw-imdb-glove", {"dataset.train_samples": 200, "dataset.val_samples": 10000,
                             "dataset.maxlen": 100, "encoder.name": "glove",
                             "encoder.trainable": False, "model.units": [32]}),
    ("6.42-reversed-lstm", {"dataset.reverse": True, "encoder.dim": 128}),
    ("6.43-bi-lstm", {"model.name": "bi", "model.cell": "lstm"}),
    ("6.46-imdb-conv", {"trainer.learning_rate": 0.0001, "model.kernel_size": 7,
                        "model.pool_size": 5}),
])
def test_preset_values(preset, expected):
    cfg = compose_cfg(f"experiment=book/{preset}")
    from omegaconf import OmegaConf

    for key, value in expected.items():
        got = OmegaConf.select(cfg, key)
        got = list(got) if hasattr(got, "__len__") and not isinstance(got, str) else got
        assert got == value, key
