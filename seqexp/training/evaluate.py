"""The common-sense baselines, the model's best scores, and skill against the baseline.

Baselines are computed vectorized on exactly the examples the model is scored on:
persistence (the last observed target of each window) for forecasting, the training
set's majority class for classification, a character n-gram model fitted on the training
text for next-character prediction (:class:`CharNgram`).
"""

from __future__ import annotations

import numpy as np

from seqexp.data import Splits
from seqexp.errors import SeqexpError


def baseline(splits: Splits, part: str) -> dict[str, float]:
    """``naive_<part>_<metric>`` (and ``..._<unit>`` for forecasting) on one split."""
    if splits.task.name == "next-char":
        ngram = splits.info.ngram
        if ngram is None:
            train = splits.train
            ngram = CharNgram(train.ids[:splits.info.split_at[0]],
                              splits.info.baseline_order, splits.task.outputs)
            splits.info.ngram = ngram
        windows = getattr(splits, part)
        return {f"naive_{part}_bpc": ngram.bpc(windows.ids, windows.starts + windows.maxlen)}
    if splits.task.name == "regression":
        windows = getattr(splits, part)
        mae = float(np.mean(np.abs(windows.last_observed() - windows.targets())))
        return {f"naive_{part}_mae": mae,
                f"naive_{part}_mae_{splits.info.unit}": mae * splits.info.scale}
    majority = int(np.mean(splits.train[1]) >= 0.5)
    labels = np.asarray(getattr(splits, part)[1])
    return {f"naive_{part}_acc": float(np.mean(labels == majority))}


def skill(task_mode: str, score: float, naive: float) -> float:
    """1 - score/naive for errors (MAE); (score - naive)/(1 - naive) for accuracies."""
    if task_mode == "min":
        return 1.0 - score / naive if naive else float("nan")
    return (score - naive) / (1.0 - naive) if naive < 1.0 else float("nan")


def scored(splits: Splits, part: str, score: float, naive: dict[str, float],
           prefix: str) -> dict[str, float]:
    """The model's score on ``part`` with its unit variant and skill against ``naive``."""
    task = splits.task
    out = {f"{prefix}{part}_{task.metric}": score}
    if task.name == "regression":
        out[f"{prefix}{part}_{task.metric}_{splits.info.unit}"] = score * splits.info.scale
    out[f"{part}_skill"] = skill(task.mode, score, naive[f"naive_{part}_{task.metric}"])
    return out


def best_epoch(history: dict[str, list[float]], splits: Splits) -> tuple[int, float]:
    """The epoch (0-based) with the best validation metric, and that metric."""
    values = history[splits.task.history]
    best = splits.task.best(values)
    if best is None:
        raise SeqexpError(f"every epoch's {splits.task.history} is NaN or infinite: lower "
                          "trainer.learning_rate or check the data for extreme values")
    return values.index(best), float(best)


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
