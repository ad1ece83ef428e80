"""Recurrent models: SimpleRNN (6.23), LSTM (6.27), GRU (6.39/6.40), stacked GRUs (6.41),
bidirectional GRU or LSTM (6.43/6.44).

cuDNN kernels run only with the default activations and ``recurrent_dropout=0``; the
book's 6.40/6.41 settings fall back to the generic (slower) kernel on a GPU.
"""

from __future__ import annotations

import keras
from omegaconf import DictConfig

from seqexp.encoders import InputSpec
from seqexp.models import register

CELLS = {"simple-rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
         "gru": keras.layers.GRU}


@register("simple-rnn", "lstm", "gru")
def recurrent(spec: InputSpec, cfg: DictConfig) -> list:
    cell = CELLS[cfg.name]
    return [cell(cfg.units, dropout=cfg.dropout, recurrent_dropout=cfg.recurrent_dropout)]


@register("stacked")
def stacked(spec: InputSpec, cfg: DictConfig) -> list:
    cell = CELLS[cfg.cell]
    last = len(cfg.units) - 1
    return [
        cell(units, activation=activation, dropout=cfg.dropout,
             recurrent_dropout=cfg.recurrent_dropout, return_sequences=i < last)
        for i, (units, activation) in enumerate(zip(cfg.units, cfg.activation))
    ]


@register("bi")
def bidirectional(spec: InputSpec, cfg: DictConfig) -> list:
    cell = CELLS[cfg.cell]
    return [keras.layers.Bidirectional(
        cell(cfg.units, dropout=cfg.dropout, recurrent_dropout=cfg.recurrent_dropout))]
