"""Recurrent models: SimpleRNN (6.23), LSTM (6.27), GRU (6.39/6.40), stacked GRUs (6.41),
bidirectional GRU or LSTM (6.43/6.44).

cuDNN kernels run only with the default activations and ``recurrent_dropout=0``; the
book's 6.40/6.41 settings fall back to the generic (slower) kernel on a GPU.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from omegaconf import DictConfig

from seqexp.config.registry import option
from seqexp.encoders import InputSpec
from seqexp.models import ModelConfig, register


class Cell(enum.StrEnum):
    gru = "gru"
    lstm = "lstm"


@dataclass
class RecurrentConfig(ModelConfig):
    uses_mask: ClassVar[bool] = True
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

    uses_mask: ClassVar[bool] = True
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


def cudnn_eligibility(model) -> tuple[str, str]:
    """Whether the model's recurrent layers can run Keras's fused (cuDNN) kernel on a GPU:
    ``("yes" | "no" | "none", why)``. Eligible: GRU/LSTM with tanh, sigmoid recurrent
    activation, ``recurrent_dropout=0``, no unroll, a bias, ``reset_after`` (GRU) and no mask
    (every backend's fused path refuses masks seqexp makes: front-padded ones). The book's
    6.40/6.41/6.49 settings use recurrent dropout (6.41 relu too), so they are not."""
    import keras

    layers = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            layers += [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, keras.layers.RNN):
            layers.append(layer)
    if not layers:
        return "none", "no recurrent layer"
    for layer in layers:
        if isinstance(layer, keras.layers.SimpleRNN):
            return "no", f"{layer.name}: SimpleRNN has no fused kernel"
        cell = layer.cell
        problems = [
            (cell.activation is not keras.activations.tanh,
             f"activation={getattr(cell.activation, '__name__', cell.activation)}"),
            (cell.recurrent_activation is not keras.activations.sigmoid,
             "recurrent_activation is not sigmoid"),
            (cell.recurrent_dropout > 0, f"recurrent_dropout={cell.recurrent_dropout}"),
            (layer.unroll, "unroll=True"),
            (not cell.use_bias, "use_bias=False"),
            (not getattr(cell, "reset_after", True), "reset_after=False"),
            (getattr(layer, "use_cudnn", "auto") is False, "use_cudnn=False"),
        ]
        for bad, why in problems:
            if bad:
                return "no", f"{layer.name}: {why}"
    if any(getattr(layer, "mask_zero", False) for layer in model.layers):
        return "no", "mask_zero: the fused kernels take no mask of front-padded sequences"
    return "yes", f"{len(layers)} recurrent layer(s) eligible"
