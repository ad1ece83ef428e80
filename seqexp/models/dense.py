"""Densely connected models: Flatten + Dense on sequences (6.7, 6.12, 6.37), Dense on bags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omegaconf import DictConfig

from seqexp.config.registry import option
from seqexp.encoders import InputSpec
from seqexp.models import ModelConfig, register


@dataclass
class DenseConfig(ModelConfig):
    """Flatten, Dense 32 relu, Dense 1 (listing 6.37; 6.7/6.12 on text)."""

    accepts: ClassVar[frozenset] = frozenset({"sequence", "bag"})
    name: str = "dense"
    units: list[int] = option([32], "hidden Dense layers (relu); [] for none (listing 6.7)",
                              min=1)
    input_dropout: float = option(0.0, "dropout on the inputs (a bag's words); 0: none, "
                                       "as the book", min=0.0, max=0.95)
    dropout: float = option(0.0, "dropout after each hidden Dense layer; 0: none, as the book",
                            min=0.0, max=0.95)


@register(DenseConfig)
def dense(spec: InputSpec, cfg: DictConfig) -> list:
    import keras

    layers = [keras.layers.Flatten()] if spec.layout == "sequence" else []
    if cfg.input_dropout:
        layers.append(keras.layers.Dropout(cfg.input_dropout))
    for units in cfg.units:
        layers.append(keras.layers.Dense(units, activation="relu"))
        if cfg.dropout:
            layers.append(keras.layers.Dropout(cfg.dropout))
    return layers
