"""Recurrent models: SimpleRNN (6.23), LSTM (6.27), GRU (6.39/6.40), stacked GRUs (6.41),
bidirectional GRU or LSTM (6.43/6.44).

cuDNN kernels run only with the default activations and ``recurrent_dropout=0``; the
book's 6.40/6.41 settings fall back to the generic (slower) kernel on a GPU.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from omegaconf import DictConfig

from seqexp.encoders import InputSpec
from seqexp.models import ModelConfig, register
from seqexp.registry import option


class Cell(enum.StrEnum):
    gru = "gru"
    lstm = "lstm"


@dataclass
class RecurrentConfig(ModelConfig):
    units: int = option(32, "recurrent units", min=1)
    dropout: float = option(0.0, "input dropout of the recurrent layer", min=0.0, max=0.95)
    recurrent_dropout: float = option(
        0.0, "recurrent dropout (listing 6.40; disables cuDNN)", min=0.0, max=0.95
    )


@dataclass
class SimpleRnnConfig(RecurrentConfig):
    """SimpleRNN (listing 6.23)."""

    name: str = "simple-rnn"


@dataclass
class LstmConfig(RecurrentConfig):
    """LSTM (listing 6.27)."""

    name: str = "lstm"


@dataclass
class GruConfig(RecurrentConfig):
    """GRU 32 (listing 6.39; dropout/recurrent_dropout as in 6.40)."""

    name: str = "gru"


@dataclass
class StackedConfig(ModelConfig):
    """Two stacked GRUs, 32 then 64 relu, with dropout (listing 6.41)."""

    name: str = "stacked"
    cell: Cell = option(Cell.gru, "recurrent cell")
    units: list[int] = option([32, 64], "units of each stacked layer (listing 6.41)", min=1,
                              min_len=1)
    activation: list[str] = option(["tanh", "relu"],
                                   "activation of each layer (6.41: relu on 2nd)", min_len=1)
    dropout: float = option(0.1, "input dropout of each layer", min=0.0, max=0.95)
    recurrent_dropout: float = option(0.5, "recurrent dropout of each layer", min=0.0, max=0.95)


@dataclass
class BidirectionalConfig(RecurrentConfig):
    """Bidirectional GRU (listing 6.44); cell=lstm for 6.43."""

    name: str = "bi"
    cell: Cell = option(Cell.gru, "recurrent cell (6.44: gru, 6.43: lstm)")


def cell(name: str):
    """The Keras recurrent layer class named ``simple-rnn``, ``lstm`` or ``gru``."""
    import keras

    return {"simple-rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
            "gru": keras.layers.GRU}[name]


@register(SimpleRnnConfig, LstmConfig, GruConfig)
def recurrent(spec: InputSpec, cfg: DictConfig) -> list:
    return [cell(cfg.name)(cfg.units, dropout=cfg.dropout,
                           recurrent_dropout=cfg.recurrent_dropout)]


@register(StackedConfig)
def stacked(spec: InputSpec, cfg: DictConfig) -> list:
    layer = cell(cfg.cell)
    last = len(cfg.units) - 1
    return [
        layer(units, activation=activation, dropout=cfg.dropout,
              recurrent_dropout=cfg.recurrent_dropout, return_sequences=i < last)
        for i, (units, activation) in enumerate(zip(cfg.units, cfg.activation))
    ]


@register(BidirectionalConfig)
def bidirectional(spec: InputSpec, cfg: DictConfig) -> list:
    import keras

    return [keras.layers.Bidirectional(
        cell(cfg.cell)(cfg.units, dropout=cfg.dropout, recurrent_dropout=cfg.recurrent_dropout))]
