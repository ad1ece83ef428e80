"""1D convnets: Conv1D/MaxPooling1D stacks (6.46 on text, 6.47 on Jena) and a conv front end
feeding a GRU (6.49)."""

from __future__ import annotations

import keras
from omegaconf import DictConfig

from seqexp.encoders import InputSpec
from seqexp.models import register


def conv_stack(cfg: DictConfig) -> list:
    """Conv1D(relu) per entry of ``filters``, with MaxPooling1D between them."""
    layers = []
    for i, filters in enumerate(cfg.filters):
        if i:
            layers.append(keras.layers.MaxPooling1D(cfg.pool_size))
        layers.append(keras.layers.Conv1D(filters, cfg.kernel_size, activation="relu"))
    return layers


@register("conv")
def conv(spec: InputSpec, cfg: DictConfig) -> list:
    return conv_stack(cfg) + [keras.layers.GlobalMaxPooling1D()]


@register("conv-gru")
def conv_gru(spec: InputSpec, cfg: DictConfig) -> list:
    return conv_stack(cfg) + [
        keras.layers.GRU(cfg.units, dropout=cfg.dropout, recurrent_dropout=cfg.recurrent_dropout)
    ]
