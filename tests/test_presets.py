"""Book presets under conf/experiment/book/: each composes, validates and is exact to its
listing; the slow test runs every preset, shrunk, on generated data."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

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
PRESETS = sorted(p.stem for p in BOOK.glob("*.yaml") if not p.stem.startswith("_"))


def test_every_listing_has_a_preset():
    listings = {name.split("-")[0] for name in PRESETS}
    assert listings == {"6.7", "6.12", "6.16", "6.23", "6.27", "6.37", "6.39", "6.40", "6.41",
                        "6.42", "6.43", "6.44", "6.46", "6.47", "6.49", "8.1"}


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_composes_and_says_what_it_reproduces(preset):
    cfg = compose_cfg(f"experiment=book/{preset}")
    text = (BOOK / f"{preset}.yaml").read_text()
    assert text.startswith("# @package _global_")
    listing = preset.split("-")[0]
    assert f"listing {listing}" in text or f"listings {listing}" in text
    assert cfg.book.listing == listing and cfg.book.note
    metric = {"jena": "mae", "text": "bpc"}.get(cfg.dataset.loader, "acc")
    assert cfg.book.metric == f"best_val_{metric}"
    reported, low_high = cfg.book.reported, cfg.book.range
    assert reported is None or 0 < reported < 1
    assert low_high is None or (low_high[0] < low_high[1]
                                and (reported is None or low_high[0] <= reported <= low_high[1]))


# Every setting of each listing as the book has it, composed: a preset states only what differs
# from the defaults, so this is what keeps it exact when a default changes.
JENA_BOOK = {"dataset.name": "jena", "encoder.name": "numeric", "dataset.lookback": 1440,
             "dataset.step": 6, "dataset.delay": 144, "dataset.stride": 1,
             "trainer.epochs": 20, "trainer.steps_per_epoch": 500, "trainer.batch_size": 128,
             "trainer.optimizer": "rmsprop", "trainer.learning_rate": 0.001}
IMDB_BOOK = {"dataset.name": "imdb", "encoder.name": "embedding", "dataset.num_words": 10000,
             "dataset.maxlen": 500, "dataset.val_split": 0.2, "dataset.reverse": False,
             "encoder.dim": 32, "trainer.epochs": 10, "trainer.steps_per_epoch": None,
             "trainer.batch_size": 128, "trainer.optimizer": "rmsprop",
             "trainer.learning_rate": 0.001}
RAW_BOOK = {"dataset.name": "raw-imdb", "dataset.maxlen": 100, "dataset.max_words": 10000,
            "dataset.train_samples": 200, "dataset.val_samples": 10000, "model.name": "dense",
            "model.units": [32], "trainer.epochs": 10, "trainer.steps_per_epoch": None,
            "trainer.batch_size": 32, "trainer.optimizer": "rmsprop",
            "trainer.learning_rate": 0.001}
RECURRENT = {"model.units": 32, "model.dropout": 0.0, "model.recurrent_dropout": 0.0}
BOOK_SETTINGS = {
    "6.7-imdb-embedding": {**IMDB_BOOK, "dataset.maxlen": 20, "encoder.dim": 8,
                           "trainer.batch_size": 32, "model.name": "dense", "model.units": []},
    "6.12-raw-imdb-glove": {**RAW_BOOK, "encoder.name": "glove", "encoder.dim": 100,
                            "encoder.trainable": False},
    "6.16-raw-imdb-embedding": {**RAW_BOOK, "encoder.name": "embedding", "encoder.dim": 100},
    "6.23-simple-rnn": {**IMDB_BOOK, **RECURRENT, "model.name": "simple-rnn"},
    "6.27-lstm": {**IMDB_BOOK, **RECURRENT, "model.name": "lstm"},
    "6.37-jena-dense": {**JENA_BOOK, "model.name": "dense", "model.units": [32]},
    "6.39-gru": {**JENA_BOOK, **RECURRENT, "model.name": "gru"},
    "6.40-gru-dropout": {**JENA_BOOK, **RECURRENT, "model.name": "gru", "trainer.epochs": 40,
                         "model.dropout": 0.2, "model.recurrent_dropout": 0.2},
    "6.41-stacked": {**JENA_BOOK, "model.name": "stacked", "trainer.epochs": 40,
                     "model.cell": "gru", "model.units": [32, 64],
                     "model.activation": ["tanh", "relu"], "model.dropout": 0.1,
                     "model.recurrent_dropout": 0.5},
    "6.42-reversed-lstm": {**IMDB_BOOK, **RECURRENT, "model.name": "lstm",
                           "dataset.reverse": True, "encoder.dim": 128},
    "6.43-bi-lstm": {**IMDB_BOOK, **RECURRENT, "model.name": "bi", "model.cell": "lstm"},
    "6.44-bi-gru": {**JENA_BOOK, **RECURRENT, "model.name": "bi", "model.cell": "gru",
                    "trainer.epochs": 40},
    "6.46-imdb-conv": {**IMDB_BOOK, "model.name": "conv", "encoder.dim": 128,
                       "trainer.learning_rate": 0.0001, "model.filters": [32, 32],
                       "model.kernel_size": 7, "model.pool_size": 5},
    "6.47-jena-conv": {**JENA_BOOK, "model.name": "conv", "model.filters": [32, 32, 32],
                       "model.kernel_size": 5, "model.pool_size": 3},
    "6.49-conv-gru": {**JENA_BOOK, "model.name": "conv-gru", "dataset.lookback": 720,
                      "dataset.step": 3, "model.filters": [32, 32], "model.kernel_size": 5,
                      "model.pool_size": 3, "model.units": 32, "model.dropout": 0.1,
                      "model.recurrent_dropout": 0.5},
    "8.1-char-lstm": {"dataset.name": "text", "dataset.maxlen": 60, "dataset.step": 3,
                      "dataset.lower": True, "encoder.name": "onehot",
                      "encoder.mode": "sequence", "encoder.level": "char", "model.name": "lstm",
                      "model.units": 128, "trainer.epochs": 60, "trainer.steps_per_epoch": None,
                      "trainer.batch_size": 128, "trainer.optimizer": "rmsprop",
                      "trainer.learning_rate": 0.01, "generate.every": 1,
                      "generate.length": 400, "generate.temperatures": [0.2, 0.5, 1.0, 1.2]},
}


def test_every_preset_has_its_book_settings():
    assert sorted(BOOK_SETTINGS) == PRESETS


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_is_exact_to_the_book(preset):
    cfg = compose_cfg(f"experiment=book/{preset}")
    got = {key: OmegaConf.select(cfg, key) for key in BOOK_SETTINGS[preset]}
    got = {key: list(v) if OmegaConf.is_list(v) else v for key, v in got.items()}
    assert got == BOOK_SETTINGS[preset]


def test_the_book_block_is_not_a_param():
    from seqexp.tracking.run import params_of

    cfg = compose_cfg("experiment=book/6.39-gru")
    params = params_of(OmegaConf.to_container(cfg, resolve=True))
    assert params["model.name"] == "gru" and not any(k.startswith("book") for k in params)


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
