"""Models: one builder per architecture family, registered by name.

A builder takes the :class:`~seqexp.encoders.InputSpec` and its own ``model`` config and
returns the model's body as a list of Keras layers; :func:`build` frames it between the
Input (plus the encoder's layers) and the task's output layer, so one builder serves both
regression on numbers and classification of text.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from omegaconf import DictConfig

from seqexp.data import Task
from seqexp.encoders import InputSpec
from seqexp.errors import SeqexpError

Builder = Callable[[InputSpec, DictConfig], list]
BUILDERS: dict[str, Builder] = {}
FAMILIES = ("dense", "recurrent", "conv")


def register(*names: str) -> Callable[[Builder], Builder]:
    def deco(fn: Builder) -> Builder:
        for name in names:
            BUILDERS[name] = fn
        return fn

    return deco


def build(spec: InputSpec, encoder_layers: list, cfg: DictConfig, task: Task):
    """A ``keras.Sequential``: Input, encoder layers, the builder's body, the output."""
    import keras

    for family in FAMILIES:
        importlib.import_module(f"seqexp.models.{family}")
    builder = BUILDERS.get(cfg.name)
    if builder is None:
        raise SeqexpError(f"model={cfg.name} has no builder: use one of {', '.join(BUILDERS)}")
    try:
        return keras.Sequential(
            [
                keras.Input(shape=spec.shape, dtype=spec.dtype),
                *encoder_layers,
                *builder(spec, cfg),
                keras.layers.Dense(1, activation=task.output_activation),
            ],
            name=cfg.name.replace("-", "_"),
        )
    except ValueError as err:  # e.g. a sequence too short for the convolutions and pooling
        reason = next((line.strip() for line in str(err).splitlines()
                       if "negative" in line.lower() or "size" in line.lower()),
                      str(err).splitlines()[0])
        raise SeqexpError(
            f"model={cfg.name} cannot be built on inputs of shape {spec.shape} ({reason[:160]}):"
            " use longer sequences (dataset.lookback / maxlen) or a smaller model "
            "(kernel_size, pool_size, fewer filters)") from None
