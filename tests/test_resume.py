"""Training state on disk: a run interrupted at a safe point and resumed trains the same
weights as an uninterrupted one; backups are whole generations; a damaged one is reported
and the one before it used."""

from __future__ import annotations

import os
import signal

import keras
import numpy as np
import pytest

from seqexp import data, encoders, models
from seqexp.encoders import Batching
from seqexp.errors import SeqexpError
from seqexp.training import interrupts, train
from seqexp.training.backup import Backup
from tests.conftest import SMALL_JENA, compose_cfg

EPOCHS = 3


def setup(jena_csv, *overrides):
    cfg = compose_cfg("dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA, "model=dense",
                      "dataset.val=[2401,2700]",
                      "model.units=[8]", f"trainer.epochs={EPOCHS}",
                      "trainer.steps_per_epoch=4", "trainer.batch_size=16",
                      "trainer.verbose=0", "trainer.learning_rate=0.01", *overrides)
    keras.utils.set_random_seed(cfg.trainer.seed)
    keras.backend.clear_session()
    splits = data.load(cfg.dataset)
    encoded = encoders.encode(splits, cfg.encoder, Batching(
        cfg.trainer.batch_size, cfg.trainer.seed, cfg.trainer.steps_per_epoch,
        shuffle=cfg.dataset.shuffle))
    model = models.build(encoded.spec, encoded.layers, cfg.model, splits.task)
    train.compile_model(model, splits.task, cfg.trainer)
    return cfg, splits.task, encoded, model


class SignalAt(keras.callbacks.Callback):
    """Sends this process SIGTERM in the middle of epoch ``epoch`` (a real signal)."""

    def __init__(self, epoch: int, batch: int = 1):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.current, batch) == (self.epoch, self.batch):
            os.kill(os.getpid(), signal.SIGTERM)


def fit(jena_csv, folder, *overrides, callbacks=(), logged=None):
    cfg, task, encoded, model = setup(jena_csv, *overrides)
    backup = Backup(folder / "backup")
    train.fit(model, encoded, task, cfg.trainer, backup, folder / "best.weights.h5",
              on_epoch=lambda r: logged.append(r.step) if logged is not None else None,
              callbacks=list(callbacks))
    return model, backup


@pytest.fixture
def sigterm_flag():
    previous = signal.getsignal(signal.SIGTERM)
    interrupts.install()
    yield
    signal.signal(signal.SIGTERM, previous)
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.mark.parametrize("shuffle", ["true", "false"])
def test_resumed_weights_equal_uninterrupted(jena_csv, tmp_path, sigterm_flag, shuffle):
    whole, whole_backup = fit(jena_csv, tmp_path / "whole", f"dataset.shuffle={shuffle}")
    logged: list[int] = []
    with pytest.raises(interrupts.Interrupted):
        fit(jena_csv, tmp_path / "cut", f"dataset.shuffle={shuffle}",
            callbacks=[SignalAt(epoch=1)], logged=logged)
    backup = Backup(tmp_path / "cut" / "backup")
    assert logged == [0]  # the epoch under way was neither backed up nor logged
    assert [r.step for r in backup.journal()] == [0]
    assert not list((tmp_path / "cut" / "backup").glob(".*"))  # no temporary file left
    resumed, _ = fit(jena_csv, tmp_path / "cut", f"dataset.shuffle={shuffle}", logged=logged)
    assert logged == [0, 1, 2]
    for a, b in zip(whole.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert backup.history(["val_mae"]) == whole_backup.history(["val_mae"])


def test_shuffle_changes_what_trains(jena_csv, tmp_path):
    a, _ = fit(jena_csv, tmp_path / "a", "dataset.shuffle=true", "trainer.epochs=1")
    b, _ = fit(jena_csv, tmp_path / "b", "dataset.shuffle=false", "trainer.epochs=1")
    assert not np.array_equal(a.get_weights()[0], b.get_weights()[0])


def test_damaged_backup_falls_back_to_the_previous_one(jena_csv, tmp_path, capsys):
    _, backup = fit(jena_csv, tmp_path / "run", "trainer.epochs=3")
    latest = backup.weights(3)
    latest.write_bytes(latest.read_bytes()[:200])  # torn
    cfg, task, encoded, model = setup(jena_csv, "trainer.epochs=3")
    record = backup.restore(model)
    assert record.epochs_done == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("seqexp: warning: backup epoch-0003.weights.h5 is damaged")
    assert "continuing from epoch 2" in line and len(line.splitlines()) == 1
    assert [r.step for r in backup.journal()] == [0, 1]  # the lost epoch is trained again
    backup.weights(2).write_bytes(b"not hdf5")
    backup.weights(1).unlink(missing_ok=True)
    with pytest.raises(SeqexpError, match="no readable generation"):
        backup.restore(model)
