"""Compile and fit: optimizer, loss and metric from the task, an atomic backup of every
completed epoch (the best one's weights kept), optional early stopping, TerminateOnNaN,
interrupts at safe points, and the tracker called once an epoch is backed up."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
from omegaconf import DictConfig

from seqexp.encoders import Encoded
from seqexp.errors import SeqexpError
from seqexp.tasks import Task
from seqexp.training import interrupts
from seqexp.training.backup import Backup, Record


def set_precision(precision: str) -> None:
    """Keras's global dtype policy for the layers built next (``trainer.precision``):
    float32, mixed_bfloat16 or mixed_float16 (variables float32, computation in 16 bits;
    models.build keeps the output layer float32, compile() scales a float16 loss)."""
    keras.config.set_dtype_policy(str(precision))


EVAL_BATCH_FACTOR = 4  # trainer.eval_batch_size=null: validation batches 4x the training's


def eval_batch_size(cfg: DictConfig) -> int:
    """``trainer.eval_batch_size``, else 4 x ``batch_size``: evaluation holds no gradients or
    optimizer state, so larger batches fit where training's do, and the same windows are
    scored (Keras weights each batch's mean by its size) in a quarter of the steps."""
    return cfg.get("eval_batch_size") or EVAL_BATCH_FACTOR * cfg.batch_size


def compile_model(model: keras.Model, task: Task, cfg: DictConfig) -> None:
    optimizer = keras.optimizers.get({"class_name": cfg.optimizer,
                                      "config": {"learning_rate": cfg.learning_rate}})
    jit = cfg.get("jit_compile")
    model.compile(optimizer=optimizer, loss=task.loss, metrics=[task.compile_metric()],
                  jit_compile="auto" if jit is None else jit)


def fit(model: keras.Model, encoded: Encoded, task: Task, cfg: DictConfig, backup: Backup,
        checkpoint: Path, on_epoch: Callable[[Record], Any],
        callbacks: list | None = None) -> None:
    """Train from the last completed epoch in ``backup`` (none: from the start).

    Each completed epoch is committed to ``backup`` (weights, optimizer state, its metrics)
    and only then handed to ``on_epoch`` (the tracker). SIGTERM or Ctrl-C stops
    training at the next batch end (:mod:`seqexp.training.interrupts`), so the epoch under way is
    neither committed nor logged. At the end the best epoch's weights are loaded into
    ``model`` and written to ``checkpoint``. ``callbacks`` that add per-epoch
    metrics to Keras's logs run before the commit, so the backup's record holds them.
    """
    restored = backup.restore(model)
    start = restored.epochs_done if restored else 0
    if restored and not math.isfinite(restored.metrics.get("loss", 0.0)):
        raise SeqexpError(f"this run diverged in epoch {start} (loss "
                          f"{restored.metrics['loss']}): it cannot continue; start a new run "
                          "with a lower trainer.learning_rate")
    encoded.train.schedule(start, cfg.epochs)  # the seeded order, continued where it stopped
    best = (restored.best_step, restored.best_value) if restored and \
        restored.best_step is not None else None
    callbacks = [
        *(callbacks or []),
        backup.epoch_callback(task.history, task.mode, on_epoch, best),
        keras.callbacks.TerminateOnNaN(),
    ]
    if cfg.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=task.history, mode=task.mode,
                                                       patience=cfg.early_stopping))
    for part in (encoded.train, encoded.val):  # batch producer threads (trainer.workers)
        part.workers, part.use_multiprocessing = cfg.get("workers", 1), False
    callbacks.append(interrupts.safe_point_callback())  # last: after the epoch's commit
    with interrupts.deferred():
        history = model.fit(
            encoded.train,
            validation_data=encoded.val,
            epochs=cfg.epochs,
            initial_epoch=start,
            steps_per_epoch=encoded.train.steps,
            shuffle=False,  # the order is the training batches' own (seeded, resumable)
            callbacks=callbacks,
            verbose=cfg.verbose,
        )
    losses = history.history.get("loss", [])
    if not all(math.isfinite(v) for v in losses):
        raise SeqexpError(
            f"training diverged: the loss became {losses[-1]} in epoch "
            f"{start + len(losses)}; lower trainer.learning_rate or check the data for "
            "extreme values")
    backup.best_weights(model, checkpoint)


def evaluate(model: keras.Model, part, task: Task) -> float:
    """The task's metric on one encoded part (a ``Batches``)."""
    results = model.evaluate(part, verbose=0, return_dict=True)
    return float(results[task.keras_metric])
