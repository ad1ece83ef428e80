"""numpy's TextVectorization and Python's FarmHash/SipHash against Keras's own layers (which
run on TensorFlow's string ops): the same vocabularies, ids, bag values and hash buckets on
generated and tricky texts (punctuation, Unicode, whitespace TensorFlow does not split on,
ties in counts, n-grams, characters)."""

from __future__ import annotations

import numpy as np
import pytest

from seqexp.encoders.hashing import fingerprint64, hash_buckets, siphash24
from seqexp.encoders.vectorize import Vectorizer, split_whitespace, standardize

WORDS = ["the", "cat", "Cat", "CAT!", "dog's", "a", "É", "école", "日本", "🙂", "x-y", "[UNK]",
         "don't", "  ", "\xa0no", "e\x1cf", "k\tl", "m\x0bn", "ΣΑΣ", "<br />", "...", "o\u2003p",
         "q\x85r", "A.B,C;D", "İ", "straße", "a\u0301"]



def end_padded(vectorizer: Vectorizer, texts: list[str], length: int | None) -> np.ndarray:
    """int32 ``(n, length)`` ids, truncated and zero-padded at the END, as
    ``TextVectorization(output_sequence_length=...)`` gives them (``None``: the longest)."""
    flat, lengths = vectorizer.ragged(texts)
    length = int(lengths.max(initial=0)) if length is None else length
    out = np.zeros((len(lengths), length), dtype=np.int32)
    starts = np.cumsum(lengths) - lengths
    keep = np.minimum(lengths, length)
    rows = np.repeat(np.arange(len(lengths)), keep)
    cols = np.arange(int(keep.sum())) - np.repeat(np.cumsum(keep) - keep, keep)
    out[rows, cols] = flat[np.repeat(starts, keep) + cols]
    return out

def texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    out = [" ".join(rng.choice(WORDS, size=rng.integers(0, 14))) for _ in range(n)]
    return out + ["", "   ", "!!!", "zebra unseen words here"]


TRAIN, OTHER = texts(150, 0), texts(60, 1) + ["okapi tapir: never seen in training"]


def keras_layer(level: str, max_tokens, mode: str, ngrams: int, train=TRAIN, **kw):
    """TextVectorization adapted on ``train`` (skips where TensorFlow is not the backend)."""
    tf = pytest.importorskip("tensorflow")
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("TextVectorization's reference values are read on the TensorFlow backend")
    if level == "char":
        kw.update(split="character", standardize=None)
    layer = keras.layers.TextVectorization(max_tokens=max_tokens, output_mode=mode,
                                           ngrams=ngrams if ngrams > 1 else None, **kw)
    layer.adapt(tf.data.Dataset.from_tensor_slices(np.asarray(train, dtype=object)).batch(32))
    return layer


def test_standardize_and_split_follow_tensorflow():
    # ASCII lower case only, Keras's punctuation deleted, splits on ASCII whitespace only
    assert standardize("ÉCOLE Don't STOP-me [UNK] <br />x") == "École dont stopme unk br x"
    assert split_whitespace(" a\tb\nc\x0bd\x0ce\rf ") == list("abcdef")
    assert split_whitespace("a\xa0b c\u2003d e\x1cf g\x85h") == ["a\xa0b", "c\u2003d", "e\x1cf",
                                                                  "g\x85h"]
    assert split_whitespace("") == [] and split_whitespace(" \t ") == []


@pytest.mark.parametrize("level, max_tokens, ngrams", [
    ("word", None, 1), ("word", 6, 1), ("word", 15, 2), ("char", None, 1), ("char", 9, 1)])
def test_int_ids_and_vocabulary_equal_textvectorization(level, max_tokens, ngrams):
    layer = keras_layer(level, max_tokens, "int", ngrams, ragged=True)
    ours = Vectorizer(level, max_tokens, "int", ngrams).adapt(TRAIN)
    assert ours.vocabulary == layer.get_vocabulary()
    ragged = layer(np.asarray(OTHER, dtype=object))
    flat, lengths = ours.ragged(OTHER)
    np.testing.assert_array_equal(flat, ragged.flat_values.numpy())
    np.testing.assert_array_equal(lengths, ragged.row_lengths().numpy())
    assert (flat == 1).any() and flat.dtype == np.int32  # out-of-vocabulary tokens met


@pytest.mark.parametrize("length", [None, 4, 30])
def test_output_sequence_length_pads_and_truncates_at_the_end(length):
    layer = keras_layer("word", 12, "int", 1, output_sequence_length=length)
    ours = Vectorizer("word", 12, "int").adapt(TRAIN)
    expected = np.asarray(layer(np.asarray(OTHER, dtype=object)))
    np.testing.assert_array_equal(end_padded(ours, OTHER, length), expected)


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
@pytest.mark.parametrize("level, max_tokens, ngrams", [
    ("word", None, 1), ("word", 10, 2), ("word", None, 3), ("char", 20, 2)])
def test_bags_equal_textvectorization(mode, level, max_tokens, ngrams):
    layer = keras_layer(level, max_tokens, mode, ngrams)
    ours = Vectorizer(level, max_tokens, mode, ngrams).adapt(TRAIN)
    assert ours.vocabulary == layer.get_vocabulary()
    expected = np.asarray(layer(np.asarray(OTHER, dtype=object)))
    bags = ours.bags(OTHER)
    assert bags.dtype == np.float32 and bags.shape == expected.shape
    got = bags.toarray()
    # every word's column is bit-equal; the out-of-vocabulary column's idf is a mean of
    # float32 idfs that TensorFlow sums in its own order (within one float32 rounding)
    np.testing.assert_array_equal(got[:, 1:], expected[:, 1:])
    np.testing.assert_allclose(got[:, 0], expected[:, 0], rtol=1e-6)


def test_ties_are_broken_as_keras_does():
    # every token once: the order is the reversed UTF-8 order (lexsort then [::-1])
    ours = Vectorizer("word", None, "int").adapt(["b a c", "é z 日 ß"])
    assert ours.vocabulary == ["", "[UNK]", "日", "é", "ß", "z", "c", "b", "a"]
    cut = Vectorizer("word", 4, "multi_hot").adapt(["a a b c", "c d"])
    assert cut.vocabulary == ["[UNK]", "c", "a", "d"]  # c, a: twice; d beats b by its string


@pytest.mark.parametrize("max_tokens", [None, 4, 6])
def test_ties_against_textvectorization(max_tokens):
    train = ["b a c", "é z 日 ß", "a a b c", "c d", "ß ß é"]
    layer = keras_layer("word", max_tokens, "int", 1, train=train)
    assert Vectorizer("word", max_tokens).adapt(train).vocabulary == layer.get_vocabulary()


def strings(seed: int) -> list[str]:
    """Strings of every length 0..200 bytes (every branch of FarmHash's length cases)."""
    rng = np.random.default_rng(seed)
    alphabet = list("abcdefghijklmnopqrstuvwxyz ÉéΣ日🙂'-")
    return [""] + ["".join(rng.choice(alphabet, size=n)) for n in range(0, 120)] + WORDS


@pytest.mark.parametrize("dim, salt", [(1000, 0), (2, 0), (1 << 20, 0), (97, 133), (8, 7)])
def test_hash_buckets_equal_keras_hashing(dim, salt):
    keras_layer("word", None, "int", 1)  # skip where TensorFlow is not the backend
    import keras

    tokens = strings(dim)
    layer = keras.layers.Hashing(num_bins=dim, mask_value="", salt=salt or None)
    expected = np.asarray(layer(np.asarray(tokens, dtype=object))).reshape(-1)
    np.testing.assert_array_equal(hash_buckets(tokens, dim, salt), expected)


def test_hash_buckets_known_values():
    # read off keras.layers.Hashing(num_bins=1000003, mask_value="", salt=...) on TensorFlow
    # 2.21, so that every backend checks the same buckets (strings of 0-100 bytes)
    tokens = ["", "the", "cat", "école", "日本🙂", "a" * 17, "b" * 40, "c" * 100]
    assert hash_buckets(tokens, 1000003).tolist() == [
        0, 525719, 528879, 305118, 248313, 384790, 728570, 889765]
    assert hash_buckets(tokens, 1000003, 133).tolist() == [
        0, 191748, 348364, 882946, 140578, 920239, 428335, 947443]
    assert fingerprint64(b"") == 0x9AE16A3B2F90404F  # FarmHash's k2 for the empty string
    assert hash_buckets(["the"], 1000)[0] == fingerprint64(b"the") % 999 + 1
    assert hash_buckets(["the"], 1000, 133)[0] == siphash24((133, 133), b"the") % 999 + 1
