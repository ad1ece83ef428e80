"""Encoders: turn a dataset's parts into model inputs, fitted on the training part only.

Each encoder registers a function ``(splits, encoder_cfg, batch_size, seed, steps) -> Encoded``
with :func:`register`. What crosses to the model is an :class:`InputSpec` and the Keras
layers the encoder places at the front of the model (an Embedding, say), never the config.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig

from seqexp.data import Splits
from seqexp.errors import SeqexpError


@dataclass(frozen=True)
class InputSpec:
    """Shape of one sample (no batch axis), its dtype, and whether it is a sequence."""

    shape: tuple[int | None, ...]
    dtype: str = "float32"
    kind: str = "sequence"  # "sequence" (time, features) or "bag" (features,)
    vocab_size: int | None = None


@dataclass
class Encoded:
    """Model-ready parts, a :class:`seqexp.data.batches.Batches` each."""

    train: Any
    val: Any
    test: Any
    spec: InputSpec
    layers: list = field(default_factory=list)  # placed right after the model's Input
    metrics: dict[str, float] = field(default_factory=dict)  # e.g. glove_coverage
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Batching:
    """How the training part is batched (from the trainer config, not the encoder's)."""

    batch_size: int
    seed: int
    steps_per_epoch: int | None


Encoder = Callable[[Splits, DictConfig, Batching], Encoded]
ENCODERS: dict[str, Encoder] = {}


def register(name: str) -> Callable[[Encoder], Encoder]:
    def deco(fn: Encoder) -> Encoder:
        ENCODERS[name] = fn
        return fn

    return deco


def encode(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    for module in ("numeric", "bags", "sequences", "glove"):
        try:
            importlib.import_module(f"seqexp.encoders.{module}")
        except ModuleNotFoundError as err:
            if err.name != f"seqexp.encoders.{module}":
                raise
    encoder = ENCODERS.get(cfg.name)
    if encoder is None:
        raise SeqexpError(f"encoder={cfg.name} is not implemented: use one of "
                          f"{', '.join(sorted(ENCODERS))}")
    return encoder(splits, cfg, batching)
