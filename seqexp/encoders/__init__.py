"""Encoders: turn a dataset's parts into model inputs, fitted on the training part only.

Each encoder has a schema in :mod:`seqexp.encoders.schemas` (an :class:`EncoderConfig` whose
``name`` is the option, ``encoder=onehot``) and a function
``(splits, encoder_cfg, batching) -> Encoded`` registered against it with :func:`register`.
What crosses to the model is an :class:`InputSpec` and the Keras layers the encoder places at
the front of the model (an Embedding, say), never the config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from omegaconf import MISSING, DictConfig

from seqexp.config.registry import Registry
from seqexp.data import Splits


@dataclass(frozen=True)
class InputSpec:
    """Shape of one sample (no batch axis), its dtype, and whether it is a sequence."""

    shape: tuple[int | None, ...]
    dtype: str = "float32"
    layout: str = "sequence"  # "sequence" (time, features) or "bag" (features,)
    vocab_size: int | None = None
    sparse: bool = False  # a bag handed on as a sparse tensor (encoder.sparse)


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
    vocabulary: list[str] | None = None  # token of each id, for embedding neighbours


@dataclass(frozen=True)
class Batching:
    """How the parts are batched (from the trainer config, not the encoder's)."""

    batch_size: int
    seed: int
    steps_per_epoch: int | None
    shuffle: bool = True  # False: training samples in order (dataset.shuffle=false)
    eval_batch_size: int | None = None  # validation and test batches; None: batch_size

    def size(self, part: str) -> int:
        """The batch size of ``part`` ("train", "val" or "test")."""
        return self.batch_size if part == "train" else self.eval_batch_size or self.batch_size


@dataclass
class EncoderConfig:
    """Base of the encoder schemas. ``consumes``: what the datasets it encodes hold
    (:attr:`seqexp.data.DatasetConfig.holds`: "numbers", "tokens", "text"); :meth:`layout`:
    the layout of the inputs it gives the model, "sequence" (batch, time, features) or "bag"
    (batch, features)."""

    consumes: ClassVar[frozenset] = frozenset()
    # the formats each path key takes (seqexp.data.files), checked before TensorFlow loads
    files: ClassVar[dict[str, tuple[str, ...]]] = {}
    name: str = MISSING

    def layout(self) -> str:
        return "sequence"

    def check(self, holds: str) -> None:
        """Refuse settings that data holding ``holds`` cannot honour (checked with the other
        rules, before any data is read); none by default."""

    def input_formats(self) -> dict[str, tuple[str, ...]]:
        return self.files


Encoder = Callable[[Splits, DictConfig, Batching], Encoded]
ENCODERS = Registry("encoder", EncoderConfig, "seqexp.encoders",
                    schemas="seqexp.encoders.schemas")
register = ENCODERS.register


BY_DATA: dict[tuple[str, str], Encoder] = {}  # (option, Splits.holds): for that data only


def register_for(data: str, *schemas: type) -> Callable[[Encoder], Encoder]:
    """Decorator: ``fn`` encodes splits holding ``data`` (``chars``) for these options, in
    place of the options' own encoders."""
    from seqexp.config.registry import name_of

    def deco(fn: Encoder) -> Encoder:
        for schema in schemas:
            BY_DATA[name_of(schema), data] = fn
        return fn

    return deco


def encode(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    encoder = ENCODERS.builder(cfg.name)  # imports every encoder module
    return BY_DATA.get((cfg.name, splits.holds), encoder)(splits, cfg, batching)
