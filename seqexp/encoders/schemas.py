"""Schemas of the encoder options (``encoder=onehot``, ...): what a user can set, with help
and bounds. The encoders themselves (``numeric.py``, ``text.py``) need NumPy and Keras, so the
schemas live here, where ``seqexp --help`` can read them cheaply.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from seqexp.config.registry import option
from seqexp.encoders import EncoderConfig
from seqexp.errors import SeqexpError

TEXT = frozenset({"tokens", "text"})
CHARS = TEXT | {"chars"}  # also a character corpus (dataset=text, next-character prediction)
PROBES = ["good", "bad", "boring", "excellent", "actor", "plot", "funny", "worst"]


class BagMode(enum.StrEnum):
    multi_hot = "multi_hot"
    count = "count"
    tf_idf = "tf_idf"
    sequence = "sequence"


class HashMode(enum.StrEnum):
    multi_hot = "multi_hot"
    count = "count"
    sequence = "sequence"


class Weighting(enum.StrEnum):
    none = "none"
    nb = "nb"


class Level(enum.StrEnum):
    word = "word"
    char = "char"


@dataclass
class AutoEncoderConfig(EncoderConfig):
    """Resolved to the dataset's default encoder (numeric for jena, embedding for text)."""

    consumes: ClassVar[frozenset] = frozenset({"numbers", "tokens", "text", "chars"})
    name: str = "auto"


@dataclass
class NumericConfig(EncoderConfig):
    """Numeric passthrough for time series (jena): the normalized rows as they are."""

    consumes: ClassVar[frozenset] = frozenset({"numbers"})
    name: str = "numeric"


@dataclass
class OneHotConfig(EncoderConfig):
    """One-hot (listings 6.1-6.3): a bag of words for model=dense (mode multi_hot, count or
    tf_idf; ngrams=2 adds bigrams; weighting=nb scales each column by its naive-Bayes
    log-count ratio, as NBSVM), or one-hot per timestep for sequence models
    (mode=sequence; made batch by batch inside the model). level=char: characters as tokens
    (raw-imdb; on dataset=text, one-hot characters: mode=sequence level=char)."""

    consumes: ClassVar[frozenset] = CHARS
    name: str = "onehot"
    mode: BagMode = option(
        BagMode.multi_hot,
        "bag of words (multi_hot, count, tf_idf) or one-hot per timestep (sequence)",
    )
    ngrams: int = option(1, "bag of n-grams up to this n (text, bag modes only)", min=1, max=5)
    level: Level = option(Level.word, "tokens are words or characters (text only)")
    weighting: Weighting = option(
        Weighting.none, "bag weighting: none, or nb (naive-Bayes log-count ratios fitted on "
                        "the training part, NBSVM's features; bag modes only)")
    nb_alpha: float = option(1.0, "smoothing count added to each feature's class counts "
                                  "(weighting=nb)", min=1e-6)
    sparse: bool = option(False, "hand the bag to the model as a sparse tensor (TensorFlow, "
                                 "JAX): far faster for wide bags; no model.input_dropout")

    def layout(self) -> str:
        return "sequence" if self.mode == "sequence" else "bag"

    def check(self, holds: str) -> None:
        """Refuse one-hot settings the dataset's data (``tokens``, ``text``, ``chars``)
        cannot honour (checked with the other rules, before any data is read)."""
        if holds == "chars" and (self.mode != "sequence" or self.level != "char"):
            raise SeqexpError("dataset=text predicts characters from one-hot characters: use "
                              "encoder.mode=sequence encoder.level=char (or encoder=embedding)")
        if self.ngrams > 1 and self.mode == "sequence":
            raise SeqexpError(f"encoder.ngrams={self.ngrams} makes a bag of n-grams, not a "
                              "sequence: use encoder.mode=multi_hot/count/tf_idf or "
                              "encoder.ngrams=1")
        if self.weighting != "none" and self.mode == "sequence":
            raise SeqexpError(f"encoder.weighting={self.weighting} weights the columns of a bag, "
                              "not a sequence: use encoder.mode=multi_hot/count/tf_idf or "
                              "encoder.weighting=none")
        if holds == "tokens" and (self.ngrams > 1 or self.level == "char"):
            what = "encoder.level=char" if self.level == "char" else f"encoder.ngrams={self.ngrams}"
            raise SeqexpError(f"{what} needs raw text but dataset=imdb holds word ids: use "
                              "dataset=raw-imdb, or encoder.level=word encoder.ngrams=1")


@dataclass
class HashConfig(EncoderConfig):
    """The hashing trick (listing 6.4) with a stable hash (Keras Hashing: FarmHash, or SipHash
    keyed by salt), not Python's salted hash(): the same buckets in every process. dim
    buckets, 0 kept for padding; a bag (multi_hot, count) or one-hot per timestep
    (mode=sequence). The fraction of vocabulary words sharing a bucket is logged as metric
    hash_collisions."""

    consumes: ClassVar[frozenset] = TEXT
    name: str = "hash"
    dim: int = option(1000, "hash buckets, bucket 0 included (kept for padding)", min=2)
    mode: HashMode = option(HashMode.multi_hot, "bag of hashed words or one-hot per timestep")
    salt: int = option(0, "0: FarmHash; else SipHash keyed by this salt (stable across "
                          "processes)", min=0)

    def layout(self) -> str:
        return "sequence" if self.mode == "sequence" else "bag"


@dataclass
class EmbeddingConfig(EncoderConfig):
    """A learned Embedding layer (listings 6.5-6.7: dim 8; 6.22-6.27: dim 32); on dataset=text
    a character embedding. The probe words' nearest neighbours before and after training
    and the vectors as TensorBoard-projector TSVs are logged (seqexp.training.neighbours)."""

    consumes: ClassVar[frozenset] = CHARS
    name: str = "embedding"
    dim: int = option(32, "embedding size (8, 32 or 128 in the listings)", min=1)
    mask_zero: bool = option(False, "mask padding (index 0) in recurrent layers")
    probe_words: list[str] = option(PROBES, "words whose nearest neighbours (cosine) are "
                                            "logged before and after training")
    neighbours: int = option(8, "neighbours logged per probe word (0: none, no projector "
                                "files)", min=0)


@dataclass
class GloveConfig(EncoderConfig):
    """Pretrained GloVe vectors (listings 6.10-6.13) in an Embedding, frozen unless
    trainable=true. encoder.path: a GloVe .txt, .txt.gz or .zip (glove.6B.zip holds
    50/100/200/300d files; the one named <dim>d is used); null downloads glove.6B.zip
    (822 MB) and caches it. dim must match the file. Words not in GloVe get zero rows; the
    covered fraction of the vocabulary is logged as metric glove_coverage; probe words as for
    embedding."""

    consumes: ClassVar[frozenset] = TEXT
    files: ClassVar[dict[str, tuple[str, ...]]] = {"path": ("txt", "txt.gz", "zip")}
    name: str = "glove"
    path: str | None = option(None, "local glove .txt, .txt.gz or .zip; null downloads glove.6B")
    url: str = "https://nlp.stanford.edu/data/glove.6B.zip"
    dim: int = option(100, "vector size; must match the file (glove.6B: 50, 100, 200 or 300)",
                      min=1)
    trainable: bool = option(False, "fine-tune the pretrained vectors")
    mask_zero: bool = option(False, "mask padding (index 0) in recurrent layers")
    probe_words: list[str] = option(PROBES, "words whose nearest neighbours (cosine) are "
                                            "logged before and after training")
    neighbours: int = option(8, "neighbours logged per probe word (0: none, no projector "
                                "files)", min=0)
