"""Character encoders for ``dataset=text`` (next-character prediction, DLwP 1st ed. 8.1).

Inputs are the int32 ids of a window's ``maxlen`` characters; the model's first layer turns
them into vectors: a one-hot per character (``encoder=onehot encoder.mode=sequence
encoder.level=char``, the book's listing 8.3, made batch by batch inside the model, never
materialized for the corpus) or a learned character embedding (``encoder=embedding``).
:func:`char_layers` builds that layer from the config and the alphabet's size alone, so
``seqexp-generate`` rebuilds a finished run's model from its recorded config.
"""

from __future__ import annotations

import keras
from omegaconf import DictConfig

from seqexp.data import Splits
from seqexp.data.batches import WindowBatches
from seqexp.encoders import Batching, Encoded, InputSpec, register_for
from seqexp.encoders.schemas import EmbeddingConfig, OneHotConfig


def char_layers(cfg: DictConfig, vocab_size: int) -> list:
    """The layer that turns character ids into vectors, for encoder ``cfg``."""
    if cfg.name == "embedding":
        return [keras.layers.Embedding(vocab_size, cfg.dim, name="embedding")]
    return [keras.layers.CategoryEncoding(vocab_size, output_mode="one_hot", name="onehot")]


@register_for("chars", OneHotConfig, EmbeddingConfig)
def encode_chars(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    alphabet = splits.info.alphabet
    parts = {part: WindowBatches(getattr(splits, part), batching.size(part),
                               shuffle=part == "train", seed=batching.seed,
                               steps=batching.steps_per_epoch)
             for part in ("train", "val", "test")}
    spec = InputSpec(shape=(splits.train.maxlen,), dtype="int32", layout="sequence",
                     vocab_size=len(alphabet))
    return Encoded(**parts, spec=spec, layers=char_layers(cfg, len(alphabet)),
                   params={"vocab_size": len(alphabet)}, vocabulary=list(alphabet))

