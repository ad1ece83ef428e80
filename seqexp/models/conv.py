"""1D convnets: Conv1D/MaxPooling1D stacks (6.46 on text, 6.47 on Jena) and a conv front end
feeding a GRU (6.49)."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig

from seqexp.config.registry import option
from seqexp.encoders import InputSpec
from seqexp.models import ModelConfig, register


@dataclass
class ConvConfig(ModelConfig):
    """Conv1D/MaxPooling1D stack with global max pooling (listings 6.46, 6.47)."""

    name: str = "conv"
    filters: list[int] = option([32, 32, 32], "filters of each Conv1D (listing 6.47)", min=1,
                                min_len=1)
    kernel_size: int = option(5, "Conv1D kernel size", min=1)
    pool_size: int = option(3, "MaxPooling1D between convolutions", min=1)


@dataclass
class ConvGruConfig(ConvConfig):
    """Conv1D front end feeding a GRU (listing 6.49)."""

    name: str = "conv-gru"
    filters: list[int] = option([32, 32], "filters of each Conv1D (listing 6.49)", min=1,
                                min_len=1)
    units: int = option(32, "GRU units", min=1)
    dropout: float = option(0.1, "GRU input dropout", min=0.0, max=0.95)
    recurrent_dropout: float = option(0.5, "GRU recurrent dropout", min=0.0, max=0.95)


def conv_stack(cfg: DictConfig) -> list:
    """Conv1D(relu) per entry of ``filters``, with MaxPooling1D between them."""
    import keras

    layers = []
    for i, filters in enumerate(cfg.filters):
        if i:
            layers.append(keras.layers.MaxPooling1D(cfg.pool_size))
        layers.append(keras.layers.Conv1D(filters, cfg.kernel_size, activation="relu"))
    return layers


@register(ConvConfig)
def conv(spec: InputSpec, cfg: DictConfig) -> list:
    import keras

    return conv_stack(cfg) + [keras.layers.GlobalMaxPooling1D()]


@register(ConvGruConfig)
def conv_gru(spec: InputSpec, cfg: DictConfig) -> list:
    import keras

    return conv_stack(cfg) + [
        keras.layers.GRU(cfg.units, dropout=cfg.dropout, recurrent_dropout=cfg.recurrent_dropout)
    ]
