"""Models: one builder per architecture family, registered with its schema.

A model module declares the schema of each option (a :class:`ModelConfig` whose ``name`` is
the option, ``model=gru``) right beside its builder, registered with :func:`register`. A
builder takes the :class:`~seqexp.encoders.InputSpec` and its own ``model`` config and returns
the model's body as a list of Keras layers; :func:`build` frames it between the Input (plus
the encoder's layers) and the task's output layer, so one builder serves both regression on
numbers and classification of text. Model modules import Keras inside their builders: the
CLI reads their schemas without paying for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from omegaconf import MISSING, DictConfig

from seqexp.config.registry import Registry
from seqexp.encoders import InputSpec
from seqexp.errors import SeqexpError
from seqexp.tasks import Task


@dataclass
class ModelConfig:
    """Base of the model schemas. ``accepts``: the input layouts it takes
    (:attr:`seqexp.encoders.InputSpec.layout`), "sequence" and/or "bag"."""

    accepts: ClassVar[frozenset] = frozenset({"sequence"})
    # whether its first layers carry a padding mask to a layer that uses it (a recurrent one);
    # Flatten and Conv1D cannot, so an encoder's mask is turned off for such a model
    uses_mask: ClassVar[bool] = False
    name: str = MISSING


Builder = Callable[[InputSpec, DictConfig], list]
MODELS = Registry("model", ModelConfig, "seqexp.models")
register = MODELS.register


def build(spec: InputSpec, encoder_layers: list, cfg: DictConfig, task: Task):
    """A ``keras.Sequential``: Input, encoder layers, the builder's body, the output."""
    import keras

    builder = MODELS.builder(cfg.name)
    try:
        return keras.Sequential(
            [
                keras.Input(shape=spec.shape, dtype=spec.dtype, sparse=spec.sparse),
                *encoder_layers,
                *builder(spec, cfg),
                # float32 whatever the dtype policy (trainer.precision): a stable loss
                keras.layers.Dense(task.outputs, activation=task.output_activation,
                                   dtype="float32"),
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
