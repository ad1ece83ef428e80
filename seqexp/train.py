"""Compile and fit: optimizer, loss and metric from the task, best-weights checkpoint,
optional early stopping, TerminateOnNaN, and the tracker's callback."""

from __future__ import annotations

import math
from pathlib import Path

import keras
from omegaconf import DictConfig

from seqexp.data import Task
from seqexp.encoders import Encoded
from seqexp.errors import SeqexpError


def set_precision(precision: str) -> None:
    """Keras's global dtype policy for the layers built next (``trainer.precision``):
    float32, mixed_bfloat16 or mixed_float16 (variables float32, computation in 16 bits;
    models.build keeps the output layer float32, compile() scales a float16 loss)."""
    keras.config.set_dtype_policy(str(precision))


def bpc(y_true, y_pred):
    """Bits per character: the sparse categorical cross-entropy in bits (nats / ln 2)."""
    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred) / math.log(2.0)


METRICS = {"bpc": bpc}  # task metrics that are functions here, not Keras metric names


def compile_model(model: keras.Model, task: Task, cfg: DictConfig) -> None:
    optimizer = keras.optimizers.get({"class_name": cfg.optimizer,
                                      "config": {"learning_rate": cfg.learning_rate}})
    metric = METRICS.get(task.keras_metric, task.keras_metric)
    jit = cfg.get("jit_compile")
    model.compile(optimizer=optimizer, loss=task.loss, metrics=[metric],
                  jit_compile="auto" if jit is None else jit)


def fit(model: keras.Model, encoded: Encoded, task: Task, cfg: DictConfig,
        checkpoint: Path, backup: Path, callbacks: list,
        best_so_far: float | None = None) -> dict[str, list[float]]:
    """Train; the best epoch's weights are written to ``checkpoint`` and restored at the end.

    ``backup`` holds the last completed epoch (weights, optimizer state, epoch number), kept
    when training is interrupted: fitting again with the same folder continues from there.
    ``best_so_far`` is the best validation metric of the epochs before such a resume.
    """
    monitor = task.history
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    callbacks = [
        # the tracker logs an epoch before the backup records it done: a kill in between
        # repeats the epoch on resume (one value per step is kept), it never leaves a gap
        *callbacks,
        keras.callbacks.BackupAndRestore(str(backup), save_freq="epoch",
                                         delete_checkpoint=True),
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ModelCheckpoint(str(checkpoint), monitor=monitor, mode=task.mode,
                                        save_best_only=True, save_weights_only=True,
                                        initial_value_threshold=best_so_far),
    ]
    if cfg.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, mode=task.mode,
                                                       patience=cfg.early_stopping))
    for part in (encoded.train, encoded.val):  # batch producer threads (trainer.workers)
        part.workers, part.use_multiprocessing = cfg.get("workers", 1), False
    history = model.fit(
        encoded.train,
        validation_data=encoded.val,
        epochs=cfg.epochs,
        steps_per_epoch=cfg.steps_per_epoch,
        callbacks=callbacks,
        verbose=cfg.verbose,
    )
    losses = history.history.get("loss", [])
    if not all(math.isfinite(v) for v in losses):
        raise SeqexpError(
            f"training diverged: the loss became {losses[-1]} in epoch "
            f"{len(losses)}; lower trainer.learning_rate or check the data for extreme values")
    if checkpoint.exists():
        model.load_weights(str(checkpoint))
    return history.history


def evaluate(model: keras.Model, part, task: Task) -> float:
    """The task's metric on one encoded part (a ``Batches``)."""
    results = model.evaluate(part, verbose=0, return_dict=True)
    return float(results[task.keras_metric])
