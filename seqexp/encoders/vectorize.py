"""Keras's ``TextVectorization`` in numpy and Python: the same vocabulary, ids and bag values,
with no TensorFlow (so text trains on ``KERAS_BACKEND=jax`` and ``torch``).

What it reproduces, step by step, of ``keras.layers.TextVectorization`` (Keras 3, its
TensorFlow string ops):

- standardize ``lower_and_strip_punctuation``: ``tf.strings.lower`` (ASCII letters only: "É"
  stays "É") then deleting the ASCII punctuation of Keras's ``DEFAULT_STRIP_REGEX``;
  characters (``level="char"``) are not standardized (listing 6.2);
- split ``whitespace``: ``tf.strings.split`` splits on runs of ASCII whitespace only
  (space, \\t, \\n, \\v, \\f, \\r; a no-break space is part of a word); ``character``: one token
  per Unicode code point;
- ``ngrams=n``: ``tf.strings.ngrams`` of widths 1..n joined by one space, widths in order;
- ``adapt``: token counts over the training texts; the vocabulary is the padding ``""`` (int
  mode only) and ``[UNK]``, then the ``max_tokens`` less those most frequent tokens, ties broken
  as Keras does (``np.lexsort((tokens, counts))[::-1]``: the larger UTF-8 string first);
- ``int``: ids (0 padding, 1 out-of-vocabulary), ragged or padded/truncated at the end to
  ``output_sequence_length``;
- ``multi_hot`` / ``count`` / ``tf_idf``: one row per text, column 0 the out-of-vocabulary
  tokens; ``tf_idf = count * log(1 + n_docs / (1 + doc_count))`` (float64, then float32) with
  the out-of-vocabulary column weighted by the mean idf, as Keras pads it.

Bags are ``scipy.sparse.csr_matrix`` (float32); tests check all of it against
``TextVectorization`` where TensorFlow is installed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import repeat

import numpy as np
import scipy.sparse as sp

PAD, UNK = "", "[UNK]"
# keras.src.layers.preprocessing.text_vectorization's punctuation class, as a set of characters
PUNCTUATION = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'"
_STANDARDIZE = {**{ord(c): None for c in PUNCTUATION},
                **{ord(c): ord(c.lower()) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}}
_ASCII_SPACE = re.compile(r"[ \t\n\v\f\r]+")
# characters Python's str.split() takes for whitespace but TensorFlow does not
_OTHER_SPACE = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
MODES = ("int", "multi_hot", "count", "tf_idf")
CHUNK = 4096  # texts whose tokens are looked up at once


def standardize(text: str) -> str:
    """``lower_and_strip_punctuation``: ASCII lower case, Keras's punctuation deleted."""
    return text.translate(_STANDARDIZE)


def split_whitespace(text: str) -> list[str]:
    """``tf.strings.split``: runs of ASCII whitespace separate tokens, no empty tokens."""
    if not _OTHER_SPACE.search(text):
        return text.split()
    return [t for t in _ASCII_SPACE.split(text) if t]


def ngrams(tokens: list[str], n: int) -> list[str]:
    """``tf.strings.ngrams(tokens, ngram_width=(1, ..., n), separator=" ")``."""
    if n == 1:
        return tokens
    out = list(tokens)
    for width in range(2, n + 1):
        out.extend(" ".join(tokens[i:i + width]) for i in range(len(tokens) - width + 1))
    return out


class Vectorizer:
    """``TextVectorization(max_tokens, output_mode, ngrams)`` for words (Keras's default
    standardize and split) or characters (``split="character", standardize=None``)."""

    def __init__(self, level: str = "word", max_tokens: int | None = None,
                 output_mode: str = "int", ngrams: int = 1):
        if level not in ("word", "char"):
            raise ValueError(f"level must be 'word' or 'char', not {level!r}")
        if output_mode not in MODES:
            raise ValueError(f"output_mode must be one of {MODES}, not {output_mode!r}")
        self.level, self.max_tokens, self.output_mode = level, max_tokens, output_mode
        self.ngrams = ngrams
        self.specials = [PAD, UNK] if output_mode == "int" else [UNK]
        self.vocabulary: list[str] = list(self.specials)
        self.idf: np.ndarray | None = None
        self._index: dict[str, int] = {}

    # ------------------------------------------------------------------ tokens

    def tokens(self, text: str) -> list[str]:
        if self.level == "char":
            toks = list(text)
        else:
            toks = split_whitespace(standardize(text))
        return ngrams(toks, self.ngrams) if self.ngrams > 1 else toks

    # ------------------------------------------------------------------ adapt

    def adapt(self, texts: Iterable[str]) -> Vectorizer:
        """Fit the vocabulary (and the idf for ``tf_idf``) on ``texts``."""
        counts: Counter = Counter()
        documents: Counter = Counter()
        n_docs = 0
        for text in texts:
            toks = self.tokens(text)
            counts.update(toks)
            if self.output_mode == "tf_idf":
                documents.update(set(toks))
            n_docs += 1
        for special in (PAD, UNK):
            counts.pop(special, None)
        ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
        if self.max_tokens:
            ranked = ranked[:max(self.max_tokens - len(self.specials), 0)]
        learned = [token for token, _ in ranked]
        self.vocabulary = self.specials + learned
        self._index = {token: i for i, token in enumerate(self.vocabulary)}
        if self.output_mode == "tf_idf":
            doc_counts = np.array([documents[t] for t in learned], dtype=np.float64)
            idf = np.log(1.0 + n_docs / (1.0 + doc_counts)).astype(np.float32)
            oov = np.float32(idf.mean(dtype=np.float64)) if len(idf) else np.float32(0)
            self.idf = np.concatenate([[oov], idf]).astype(np.float32)
        return self

    @property
    def oov_id(self) -> int:
        return self._index[UNK]

    # ------------------------------------------------------------------ outputs

    def ragged(self, texts: list[str], done: Callable[[int], None] | None = None,
               ) -> tuple[np.ndarray, np.ndarray]:
        """int32 ids of every text concatenated, and each text's length (``ragged=True``);
        ``done(n)`` is told of every chunk of ``n`` texts vectorized (a progress bar)."""
        get, oov, tokens = self._index.get, self.oov_id, self.tokens
        lengths, flats = [], []
        for lo in range(0, len(texts), CHUNK):
            toks: list[str] = []
            for text in texts[lo:lo + CHUNK]:
                row = tokens(text)
                lengths.append(len(row))
                toks.extend(row)
            flats.append(np.fromiter(map(get, toks, repeat(oov)), dtype=np.int32,
                                     count=len(toks)))
            if done is not None:
                done(len(texts[lo:lo + CHUNK]))
        flat = np.concatenate(flats) if flats else np.zeros(0, np.int32)
        return flat, np.array(lengths, dtype=np.int64)

    def bags(self, texts: list[str], done: Callable[[int], None] | None = None,
             ) -> sp.csr_matrix:
        """``(n, len(vocabulary))`` float32 rows: ``multi_hot``, ``count`` or ``tf_idf``."""
        if self.output_mode == "int":
            raise ValueError("bags need output_mode multi_hot, count or tf_idf")
        flat, lengths = self.ragged(texts, done)
        return bag_matrix(flat, lengths, len(self.vocabulary), self.output_mode, self.idf)


def bag_matrix(flat: np.ndarray, lengths: np.ndarray, width: int, mode: str,
               idf: np.ndarray | None = None) -> sp.csr_matrix:
    """Rows of ids (``flat`` split by ``lengths``) as a float32 CSR bag of ``width`` columns:
    ``multi_hot`` (1 where present), ``count``, or ``tf_idf`` (count times ``idf[column]``)."""
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    counts = sp.csr_matrix((np.ones(len(flat), dtype=np.float32), (rows, flat)),
                           shape=(len(lengths), width), dtype=np.float32)
    counts.sum_duplicates()  # sorted column indices, one entry per (row, column)
    if mode == "multi_hot":
        counts.data[:] = 1.0
    elif mode == "tf_idf":
        counts.data *= idf[counts.indices]
    elif mode != "count":
        raise ValueError(f"unknown bag mode {mode!r}")
    return counts
