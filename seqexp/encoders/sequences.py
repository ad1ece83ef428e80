"""A learned Embedding over word ids (listings 6.5-6.7)."""

from __future__ import annotations

import keras
from omegaconf import DictConfig

from seqexp.data import Splits
from seqexp.encoders import Batching, Encoded, register
from seqexp.encoders.schemas import EmbeddingConfig
from seqexp.encoders.text import encoded, require_text, sequence_spec, sequences


@register(EmbeddingConfig)
def embedding(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    """A learned Embedding (listings 6.5-6.7)."""
    require_text(splits)
    xs, vocabulary = sequences(splits, "word")
    size = len(vocabulary)
    layer = keras.layers.Embedding(size, cfg.dim, mask_zero=cfg.mask_zero, name="embedding")
    return encoded(splits, xs, batching, sequence_spec(xs, size), layers=[layer],
                   vocabulary=vocabulary)
