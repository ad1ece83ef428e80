"""Next-character prediction (DLwP 1st ed. 8.1, text generation): softmax over the alphabet,
sparse categorical cross-entropy, scored in bits per character (lower is better); the baseline
is a character n-gram model fitted on the training text (:class:`CharNgram`). ``outputs`` is
set by the loader to its alphabet's size."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from seqexp.tasks import Task, register


def bpc(y_true, y_pred):
    """Bits per character: the sparse categorical cross-entropy in bits (nats / ln 2); Keras
    logs it as ``bpc``."""
    import keras

    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred) / math.log(2.0)


@dataclass(frozen=True)
class NextChar(Task):
    def baseline(self, splits, part: str) -> dict[str, float]:
        ngram = splits.info.ngram
        if ngram is None:
            ngram = CharNgram(splits.train.ids[:splits.info.split_at[0]],
                              splits.info.baseline_order, self.outputs)
            splits.info.ngram = ngram
        windows = getattr(splits, part)
        return {f"naive_{part}_bpc": ngram.bpc(windows.ids, windows.starts + windows.maxlen)}

    def compile_metric(self):
        return bpc


NEXT_CHAR = register(NextChar(
    "next-char", loss="sparse_categorical_crossentropy", metric="bpc", keras_metric="bpc",
    output_activation="softmax", mode="min", shown="bits per character",
    axis="bits per character", approximate=0.05))


class CharNgram:
    """A character n-gram model with interpolated Kneser-Ney smoothing (one absolute discount
    ``D`` = 0.75 per order, Chen & Goodman 1998), fitted on a sequence of ids ``0..V-1``.

    P(c | h) = max(N(h c) - D, 0) / N(h .) + D * T(h .) / N(h .) * P(c | h minus its first
    character), where N are raw counts at the highest order and continuation counts (the number
    of distinct characters seen before ``h c``) at the lower orders, T(h .) the number of
    distinct characters seen after ``h``; the recursion ends in the uniform 1/V, so every
    character, seen or not, has a probability. A context never seen in training falls back to
    the lower order whole. Counting and scoring are vectorized (n-grams as base-V integers).
    """

    def __init__(self, ids: np.ndarray, order: int, vocab_size: int, discount: float = 0.75):
        self.order, self.vocab, self.discount = order, vocab_size, discount
        ids = np.asarray(ids, dtype=np.int64)
        self.levels = []  # per context length k: sorted gram keys and counts, context stats
        for k in range(order):
            if k == order - 1:
                keys, counts = np.unique(self._grams(ids, k + 1), return_counts=True)
            else:  # continuation counts: distinct left neighbours of each (k+1)-gram
                longer = np.unique(self._grams(ids, k + 2))
                keys, counts = np.unique(longer % self.vocab ** (k + 1), return_counts=True)
            contexts, first = np.unique(keys // self.vocab, return_index=True)
            totals = np.add.reduceat(counts, first) if len(keys) else counts
            types = np.diff(np.append(first, len(keys)))
            self.levels.append((keys, counts, contexts, totals, types))

    def _grams(self, ids: np.ndarray, n: int) -> np.ndarray:
        keys = np.zeros(max(len(ids) - n + 1, 0), dtype=np.int64)
        for j in range(n):
            keys = keys * self.vocab + ids[j:len(ids) - n + 1 + j]
        return keys

    @staticmethod
    def _lookup(sorted_keys: np.ndarray, values: np.ndarray, queries: np.ndarray):
        at = np.minimum(np.searchsorted(sorted_keys, queries), max(len(sorted_keys) - 1, 0))
        found = (sorted_keys[at] == queries) if len(sorted_keys) else np.zeros(len(queries), bool)
        return found, np.where(found, values[at] if len(values) else 0, 0)

    def probabilities(self, ids: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """P(ids[t] | the ``order - 1`` characters before t) for every position t."""
        ids = np.asarray(ids, dtype=np.int64)
        targets = np.asarray(targets, dtype=np.int64)
        p = np.full(len(targets), 1.0 / self.vocab)
        context = np.zeros(len(targets), dtype=np.int64)
        for k, (keys, counts, contexts, totals, types) in enumerate(self.levels):
            if k:  # extend the context one character further back
                context = context + ids[targets - k] * self.vocab ** (k - 1)
            seen, total = self._lookup(contexts, totals, context)
            _, n_types = self._lookup(contexts, types, context)
            _, count = self._lookup(keys, counts, context * self.vocab + ids[targets])
            total = np.maximum(total, 1)
            mixed = (np.maximum(count - self.discount, 0.0) / total
                     + self.discount * n_types / total * p)
            p = np.where(seen, mixed, p)
        return p

    def bpc(self, ids: np.ndarray, targets: np.ndarray) -> float:
        """Mean bits per character of the characters at positions ``targets``."""
        return float(-np.mean(np.log2(self.probabilities(ids, targets))))
