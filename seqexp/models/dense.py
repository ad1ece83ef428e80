"""Densely connected models: Flatten + Dense on sequences (6.7, 6.12, 6.37), Dense on bags."""

from __future__ import annotations

import keras
from omegaconf import DictConfig

from seqexp.encoders import InputSpec
from seqexp.models import register


@register("dense")
def dense(spec: InputSpec, cfg: DictConfig) -> list:
    layers = [keras.layers.Flatten()] if spec.kind == "sequence" else []
    return layers + [keras.layers.Dense(units, activation="relu") for units in cfg.units]
