"""Book presets under conf/experiment/book/: each composes, validates and is exact to its
listing; the slow test runs every preset, shrunk, on generated data."""

from __future__ import annotations

from pathlib import Path

import pytest

import seqexp as package
from tests.conftest import compose_cfg
from tests.test_end_to_end import seqexp
from tests.textdata import (
    COMMON,
    NEGATIVE,
    POSITIVE,
    glove_vectors,
    make_aclimdb_tar,
    make_glove,
    make_imdb_npz,
)

BOOK = Path(package.__file__).resolve().parent.parent / "conf" / "experiment" / "book"
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


def preset_names(prefix_filter) -> str:
    return ",".join(f"book/{p}" for p in PRESETS if prefix_filter(p))


def assert_sweep_ok(out, jobs: int):
    assert out.returncode == 0, out.stderr[-3000:]
    table = out.stdout[out.stdout.rindex("#  run"):]
    assert table.count("FINISHED") == jobs, table


JENA = ("6.37", "6.39", "6.40", "6.41", "6.44", "6.47", "6.49")
IMDB = ("6.7-", "6.23", "6.27", "6.42", "6.43", "6.46")


@pytest.mark.slow
def test_every_jena_preset_runs_shrunk(tmp_path, jena_csv):
    out = seqexp("-m", f"experiment={preset_names(lambda p: p.startswith(JENA))}",
                 f"dataset.path={jena_csv}", "dataset.lookback=288", "dataset.step=2",
                 "dataset.delay=12", "dataset.train=[0,2400]", "dataset.val=[2401,3200]",
                 "dataset.test=[3201,null]", "trainer.epochs=1", "trainer.steps_per_epoch=2",
                 "trainer.verbose=0", cwd=tmp_path)
    assert_sweep_ok(out, len(JENA))


@pytest.mark.slow
def test_every_text_preset_runs_shrunk(tmp_path):
    npz, index, _ = make_imdb_npz(tmp_path, train=40, test=20)
    # a sweep composes its base config without the swept preset: name the group options the
    # overrides below belong to
    out = seqexp("-m", f"experiment={preset_names(lambda p: p.startswith(IMDB))}",
                 "dataset=imdb", "encoder=embedding", f"dataset.path={npz}",
                 f"dataset.word_index_path={index}",
                 "dataset.sha256=null", "dataset.maxlen=60", "trainer.epochs=1",
                 "trainer.verbose=0", cwd=tmp_path)
    assert_sweep_ok(out, len(IMDB))
    archive = make_aclimdb_tar(tmp_path, train=30, test=10)
    glove = make_glove(tmp_path, glove_vectors(COMMON + POSITIVE + NEGATIVE, 12), fmt="gz")
    raw = ["dataset.train_samples=20", "dataset.val_samples=20", f"dataset.path={archive}",
           "trainer.epochs=1", "trainer.verbose=0"]
    out = seqexp("-m", "experiment=book/6.12-raw-imdb-glove", "dataset=raw-imdb", "encoder=glove",
                 f"encoder.path={glove}",
                 "encoder.dim=12", *raw, cwd=tmp_path)
    assert_sweep_ok(out, 1)
    out = seqexp("-m", "experiment=book/6.16-raw-imdb-embedding", "dataset=raw-imdb", *raw,
                 cwd=tmp_path)
    assert_sweep_ok(out, 1)
