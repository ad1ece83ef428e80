"""NB log-count-ratio weighting of bags (``encoder.weighting=nb``): values against a hand
computation on a four-review corpus, fitted on the training part only."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from omegaconf import OmegaConf

from seqexp.encoders import encode, text
from seqexp.encoders.schemas import OneHotConfig
from seqexp.encoders.weighting import log_count_ratio
from seqexp.errors import SeqexpError
from tests import textdata
from tests.test_encoders import BATCH, whole

# text_splits labels reviews 0, 1, 0, 1: the "bad" reviews are the positive class (1)
TRAIN = ["good film", "bad film", "good good plot", "bad plot"]
VAL = ["bad bad zebra", "good"]
TEST = ["good plot", "awful film"]


def encoded(mode: str, **kw):
    splits = textdata.text_splits(TRAIN, val=VAL, test=TEST, max_words=10)
    cfg = OmegaConf.structured(OneHotConfig(mode=mode, weighting="nb", **kw))
    vocabulary = text.text_bags(splits, "word", 1, mode)[1]
    return encode(splits, cfg, BATCH), vocabulary


def test_multi_hot_weights_are_the_hand_computed_log_ratios():
    enc, vocab = encoded("multi_hot")
    assert vocab == ["[UNK]", "good", "plot", "film", "bad"]
    # class 1 (bad film, bad plot): p = 1 + [0, 0, 1, 1, 2]; class 0: q = 1 + [0, 2, 1, 1, 0];
    # |p|_1 = |q|_1 = 9, so r = log(p / q): good log(1/3), bad log 3, the others 0
    g, b = math.log(1 / 3), math.log(3)  # columns: [UNK], good, plot, film, bad
    x_train, _ = whole(enc.train)
    np.testing.assert_allclose(x_train, [[0, g, 0, 0, 0], [0, 0, 0, 0, b],
                                         [0, g, 0, 0, 0], [0, 0, 0, 0, b]], atol=1e-6)
    x_val, _ = whole(enc.val)  # zebra is out of vocabulary ([UNK], weight 0)
    np.testing.assert_allclose(x_val, [[0, 0, 0, 0, b], [0, g, 0, 0, 0]], atol=1e-6)
    x_test, _ = whole(enc.test)
    np.testing.assert_allclose(x_test, [[0, g, 0, 0, 0], [0] * 5], atol=1e-6)
    assert x_train.dtype == np.float32 and enc.spec.shape == (5,)


def test_count_weights_use_the_counts_and_alpha():
    enc, vocab = encoded("count", nb_alpha=0.5)
    # p = 0.5 + [0, 0, 1, 1, 2] (sum 6.5); q = 0.5 + [0, 3, 1, 1, 0] (sum 7.5): "good" twice
    p = np.array([0.5, 0.5, 1.5, 1.5, 2.5])
    q = np.array([0.5, 3.5, 1.5, 1.5, 0.5])
    r = np.log((p / p.sum()) / (q / q.sum()))
    x_train, _ = whole(enc.train)
    counts = np.array([[0, 1, 0, 1, 0], [0, 0, 0, 1, 1], [0, 2, 1, 0, 0], [0, 0, 1, 0, 1]])
    np.testing.assert_allclose(x_train, counts * r, rtol=1e-6)
    np.testing.assert_allclose(whole(enc.val)[0], [[r[0], 0, 0, 0, 2 * r[4]],
                                                   [0, r[1], 0, 0, 0]], rtol=1e-6)


def test_ratios_are_fitted_on_the_training_part_only():
    splits = textdata.text_splits(TRAIN, val=VAL, test=TEST, max_words=10)
    bags, _ = text.text_bags(splits, "word", 1, "multi_hot")
    r = log_count_ratio(bags["train"], splits.train[1])
    # other validation and test reviews (and labels) leave the training weights as they are
    other = textdata.text_splits(TRAIN, val=["good good good"], test=["bad"], max_words=10)
    enc = encode(other, OmegaConf.structured(OneHotConfig(weighting="nb")), BATCH)
    np.testing.assert_allclose(whole(enc.train)[0], bags["train"].toarray() * r, rtol=1e-6)
    # whereas counting the validation reviews too would change them: the check can fail
    both = sp.vstack([bags["train"], bags["val"]])
    leaked = log_count_ratio(both, np.concatenate([splits.train[1], splits.val[1]]))
    assert not np.allclose(leaked, r)


def test_labels_must_be_binary_with_both_classes():
    bags = sp.csr_matrix(np.eye(3, dtype=np.float32))
    with pytest.raises(SeqexpError, match="encoder.weighting=nb needs 0/1 labels"):
        log_count_ratio(bags, np.array([0, 1, 2]))
    with pytest.raises(SeqexpError, match="both classes"):
        log_count_ratio(bags, np.array([1, 1, 1]))
