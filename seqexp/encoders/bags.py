"""One-hot and hashing encoders (listings 6.1-6.4): bags of words, n-grams or characters, or
one-hot per timestep (``mode=sequence``, made per batch inside the model by a
``CategoryEncoding``, never materialized for the whole dataset; padding is one-hot at 0)."""

from __future__ import annotations

import keras
import numpy as np
from omegaconf import DictConfig

from seqexp.data import Splits
from seqexp.encoders import Batching, Encoded, register
from seqexp.encoders.hashing import hash_buckets
from seqexp.encoders.schemas import HashConfig, OneHotConfig
from seqexp.encoders.text import (
    SPECIAL,
    bag_spec,
    encoded,
    id_bags,
    ragged_ids,
    require_text,
    sequence_spec,
    sequences,
    text_bags,
)
from seqexp.encoders.weighting import weighted

__all__ = ["onehot", "hashed", "hash_buckets", "collision_fraction"]


@register(OneHotConfig)
def onehot(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    """One-hot per timestep (``mode=sequence``, listings 6.1-6.3) or a bag of words/n-grams."""
    require_text(splits)
    if cfg.mode == "sequence":
        xs, vocabulary = sequences(splits, cfg.level)
        size = len(vocabulary)
        return encoded(splits, xs, batching, sequence_spec(xs, size),
                       layers=[keras.layers.CategoryEncoding(size, output_mode="one_hot",
                                                             name="onehot")])
    if splits.holds == "tokens":
        ids, vocabulary = ragged_ids(splits, "word")
        bags = id_bags(ids, len(vocabulary), cfg.mode)
    else:
        bags, vocabulary = text_bags(splits, cfg.level, cfg.ngrams, cfg.mode)
    if cfg.weighting == "nb":  # fitted on the training part's bags and labels only
        bags, _ = weighted(bags, splits.train[1], cfg.nb_alpha)
    return encoded(splits, bags, batching, bag_spec(bags["train"].shape[1], cfg.sparse))


def collision_fraction(vocabulary: list[str], buckets: np.ndarray) -> float:
    """Fraction of vocabulary words whose bucket holds another vocabulary word too."""
    words = np.array([w not in SPECIAL for w in vocabulary])
    if not words.any():
        return 0.0
    used = buckets[words]
    return float(np.mean(np.bincount(used)[used] > 1))


@register(HashConfig)
def hashed(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    """The hashing trick (listing 6.4): each word replaced by its stable hash bucket. On raw
    text every word seen in training is hashed (no max_words cut; words never seen in
    training share the [UNK] bucket); Keras's ids are limited by ``num_words`` already."""
    require_text(splits)
    if cfg.mode == "sequence":
        xs, vocabulary = sequences(splits, "word", every_word=True)
    else:
        ids, vocabulary = ragged_ids(splits, "word", every_word=True)
    buckets = hash_buckets(vocabulary, cfg.dim, cfg.salt)
    metrics = {"hash_collisions": collision_fraction(vocabulary, buckets)}
    if cfg.mode == "sequence":
        xs = {part: buckets[x] for part, x in xs.items()}
        return encoded(splits, xs, batching, sequence_spec(xs, cfg.dim), metrics=metrics,
                       layers=[keras.layers.CategoryEncoding(cfg.dim, output_mode="one_hot",
                                                             name="hash_onehot")])
    bags = id_bags({part: (buckets[flat], lengths) for part, (flat, lengths) in ids.items()},
                   cfg.dim, cfg.mode)
    return encoded(splits, bags, batching, bag_spec(cfg.dim), metrics=metrics)
