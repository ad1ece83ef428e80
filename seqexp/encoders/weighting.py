"""Naive-Bayes log-count-ratio weighting of bag features (``encoder.weighting=nb``), the
features of Wang & Manning's NBSVM (2012, "Baselines and Bigrams", section 2.1).

With ``f`` the bag row of a review (its multi-hot, counts or tf-idf values) and the
training part's rows split by label (1 positive, 0 negative)::

    p = alpha + sum of f over positive reviews      q = alpha + sum of f over negative ones
    r = log((p / |p|_1) / (q / |q|_1))

every bag row becomes ``r * f`` (element-wise): a word or n-gram seen mostly in positive
training reviews gets a large positive weight, one seen as often in both about 0. ``r`` is
fitted on the training part alone (neither validation nor test reviews nor their labels
enter it) and then applied to all three parts. On multi-hot bags ``f`` is NBSVM's binarized
``f̂``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from seqexp.errors import SeqexpError


def log_count_ratio(bags: sp.spmatrix, labels: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """``r`` (float32, one weight per column) from training bags and their 0/1 labels."""
    labels = np.asarray(labels).ravel()
    if len(labels) != bags.shape[0]:
        raise ValueError(f"{bags.shape[0]} bag rows but {len(labels)} labels")
    if not np.isin(labels, (0, 1)).all() or len(np.unique(labels)) < 2:
        raise SeqexpError("encoder.weighting=nb needs 0/1 labels of both classes in the "
                          "training part (binary classification, e.g. dataset=raw-imdb): "
                          "use encoder.weighting=none")
    bags = sp.csr_matrix(bags, dtype=np.float64)
    p = alpha + np.asarray(bags[labels == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(bags[labels == 0].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)


def weighted(bags: dict[str, sp.csr_matrix], train_labels: np.ndarray, alpha: float = 1.0,
             ) -> tuple[dict[str, sp.csr_matrix], np.ndarray]:
    """Every part's bags times ``r`` fitted on ``bags["train"]`` and ``train_labels``."""
    r = log_count_ratio(bags["train"], train_labels, alpha)
    scale = sp.diags(r, format="csr")
    return {part: sp.csr_matrix(x @ scale, dtype=np.float32) for part, x in bags.items()}, r
