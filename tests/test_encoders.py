"""The text encoders on the book's sentences and on generated reviews in the real formats."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest
import scipy.sparse
from omegaconf import OmegaConf

from seqexp import data, models
from seqexp.config import schemas
from seqexp.data.schemas import ImdbConfig
from seqexp.encoders import Batching, encode
from seqexp.encoders import bags as bag_encoders
from seqexp.encoders import glove as glove_encoder
from seqexp.encoders import text as text_encoders
from seqexp.encoders.hashing import hash_buckets
from seqexp.encoders.schemas import EmbeddingConfig, GloveConfig, HashConfig, OneHotConfig
from seqexp.encoders.vectorize import Vectorizer
from seqexp.errors import SeqexpError
from tests import textdata
from tests.conftest import compose_cfg

BOOK = textdata.BOOK  # 'The cat sat on the mat.', 'The dog ate my homework.'
CAT = ["the", "cat", "sat", "on", "the", "mat"]
DOG = ["the", "dog", "ate", "my", "homework"]
BATCH = Batching(batch_size=2, seed=0, steps_per_epoch=None)


def run(splits, schema, **kw):
    return encode(splits, OmegaConf.structured(schema(**kw)), BATCH)


def whole(part):
    """Every (x, y) of a part, in the dataset's order (training batches are shuffled)."""
    if not part.shuffle:  # evaluation batches walk the reviews in order
        xs, ys = zip(*(part[i] for i in range(len(part))), strict=True)
        return np.concatenate(xs), np.concatenate(ys)
    x = part.x.toarray() if scipy.sparse.issparse(part.x) else part.x
    return x, part.y


def vocabulary(splits, level="word"):
    return text_encoders.text_ids(splits, level)[1]


# --------------------------------------------------------------------------- the book's sentences


def test_embedding_ids_are_front_padded_and_fitted_on_train_only():
    splits = textdata.text_splits(BOOK, val=["The zebra sat."], test=["A zebra, a cat!"])
    enc = run(splits, EmbeddingConfig, dim=8)
    vocab = vocabulary(splits)
    assert vocab[:3] == ["", "[UNK]", "the"]
    assert set(vocab[3:]) == set(CAT + DOG) - {"the"}  # train words only: no zebra, no a
    ids = {w: vocab.index(w) for w in vocab}
    x, y = whole(enc.train)
    np.testing.assert_array_equal(x, [[0, 0] + [ids[w] for w in CAT],
                                      [0, 0, 0] + [ids[w] for w in DOG]])
    np.testing.assert_array_equal(y, [0, 1])
    np.testing.assert_array_equal(whole(enc.val)[0], [[0] * 5 + [ids["the"], 1, ids["sat"]]])
    np.testing.assert_array_equal(whole(enc.test)[0], [[0] * 4 + [1, 1, 1, ids["cat"]]])
    assert enc.spec == text_encoders.InputSpec((8,), "int32", "sequence", len(vocab))
    (layer,) = enc.layers
    assert isinstance(layer, keras.layers.Embedding)
    assert (layer.input_dim, layer.output_dim) == (len(vocab), 8)
    assert enc.params["vocab_size"] == len(vocab)


def test_reverse_feeds_sequences_backwards():
    splits = textdata.text_splits(BOOK, reverse=True, maxlen=5)
    x = whole(run(splits, EmbeddingConfig).train)[0]
    ids = {w: i for i, w in enumerate(vocabulary(splits))}
    # listing 6.42: x[::-1] then pad_sequences (which keeps the last maxlen ids)
    np.testing.assert_array_equal(x, keras.utils.pad_sequences(
        [[ids[w] for w in CAT][::-1], [ids[w] for w in DOG][::-1]], maxlen=5))


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
def test_onehot_bags(mode):
    splits = textdata.text_splits(BOOK)
    enc = run(splits, OneHotConfig, mode=mode)
    bags = whole(enc.train)[0]
    layer = keras.layers.TextVectorization(output_mode="multi_hot")
    layer.adapt(BOOK)
    vocab = layer.get_vocabulary()  # bags: column 0 is OOV, no padding column
    assert enc.spec == text_encoders.InputSpec((len(vocab),), "float32", "bag", len(vocab))
    assert enc.layers == []
    idf = {w: np.log(1 + 2 / (1 + sum(w in s for s in (CAT, DOG)))) for w in CAT + DOG}
    for row, words in zip(bags, (CAT, DOG), strict=True):
        expected = np.zeros(len(vocab), np.float32)
        for w in words:
            tf = words.count(w)
            expected[vocab.index(w)] = {"multi_hot": 1, "count": tf, "tf_idf": tf * idf[w]}[mode]
        np.testing.assert_allclose(row, expected, rtol=1e-6)


def test_onehot_ngrams_and_characters():
    splits = textdata.text_splits(BOOK, maxlen=30)
    enc = run(splits, OneHotConfig, mode="multi_hot", ngrams=2)
    vocab = text_encoders.text_bags(splits, "word", 2, "multi_hot")[1]
    assert {"the cat", "cat sat", "the mat", "dog ate", "my homework"} <= set(vocab)
    first = whole(enc.train)[0][0]
    assert first[vocab.index("the cat")] == 1 and first[vocab.index("dog ate")] == 0

    enc = run(splits, OneHotConfig, mode="sequence", level="char")
    chars = vocabulary(splits, "char")
    x = whole(enc.train)[0]
    assert x.shape == (2, 30)
    for row, sentence in zip(x, BOOK, strict=True):  # case and punctuation kept (listing 6.2)
        assert "".join(chars[i] for i in row if i) == sentence
        assert (row[: 30 - len(sentence)] == 0).all()


def test_onehot_sequence_is_one_hot_inside_the_model():
    splits = textdata.text_splits(BOOK)
    enc = run(splits, OneHotConfig, mode="sequence")
    x = whole(enc.train)[0]
    assert x.dtype == np.int32 and enc.spec.layout == "sequence"
    (layer,) = enc.layers
    onehot = keras.ops.convert_to_numpy(layer(x))
    assert onehot.shape == (2, 8, len(vocabulary(splits)))
    np.testing.assert_array_equal(onehot.argmax(-1), x)
    np.testing.assert_array_equal(onehot.sum(-1), np.ones((2, 8)))


def test_hash_buckets_and_collisions():
    splits = textdata.text_splits(BOOK)
    vocab = vocabulary(splits)
    buckets = hash_buckets(vocab, 1000)
    assert buckets[0] == 0 and ((buckets[1:] >= 1) & (buckets[1:] < 1000)).all()

    enc = run(splits, HashConfig, dim=1000, mode="sequence")
    ids = whole(run(splits, EmbeddingConfig).train)[0]
    np.testing.assert_array_equal(whole(enc.train)[0], buckets[ids])
    assert enc.spec == text_encoders.InputSpec((8,), "int32", "sequence", 1000)
    assert keras.ops.convert_to_numpy(enc.layers[0](buckets[ids])).shape == (2, 8, 1000)
    expected = len(set(buckets[2:])) < len(buckets[2:])
    assert (enc.metrics["hash_collisions"] > 0) == expected

    bags = whole(run(splits, HashConfig, dim=1000, mode="count").train)[0]
    assert bags.shape == (2, 1000)
    for row, words in zip(bags, (CAT, DOG), strict=True):
        expected_row = np.zeros(1000, np.float32)
        for w in words:
            expected_row[buckets[vocab.index(w)]] += 1
        np.testing.assert_array_equal(row, expected_row)

    # every training word is hashed, not only the max_words most frequent
    small = textdata.text_splits(BOOK, max_words=4)
    assert len(vocabulary(small)) == 4
    every = text_encoders.text_ids(small, "word", every_word=True)[1]
    x = whole(run(small, HashConfig, dim=1000, mode="sequence").train)[0]
    np.testing.assert_array_equal(x[1, 3:], hash_buckets(DOG, 1000))
    assert set(every) == set(vocab)

    # two buckets (one besides padding): every word collides
    assert run(splits, HashConfig, dim=2).metrics["hash_collisions"] == 1.0
    assert bag_encoders.collision_fraction(["", "[UNK]", "a", "b", "c"],
                                            np.array([0, 1, 5, 5, 7])) == pytest.approx(2 / 3)


def test_hash_is_identical_in_another_process():
    words = ["the", "cat", "sat", "on", "mat", "dog", "ate", "my", "homework"]
    here = [hash_buckets(words, 1000, salt).tolist() for salt in (0, 133)]
    code = ("import json; from seqexp.encoders.hashing import hash_buckets; print(json.dumps("
            f"[hash_buckets({words!r}, 1000, salt).tolist() for salt in (0, 133)]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == here
    assert here[0] != here[1] and len(set(here[0])) > 1  # the salt keys the hash


@pytest.mark.parametrize("fmt", ["txt", "gz", "zip"])
def test_glove_rows_are_the_files_vectors(tmp_path, fmt):
    splits = textdata.text_splits(BOOK)
    known = [w for w in CAT + DOG if w != "homework"]
    vectors = textdata.glove_vectors(known + ["zebra", "unk"], dim=6)
    path = textdata.make_glove(tmp_path, vectors, fmt)
    enc = run(splits, GloveConfig, path=str(path), dim=6)
    vocab = vocabulary(splits)
    (layer,) = enc.layers
    matrix = layer.get_weights()[0]
    assert matrix.shape == (len(vocab), 6) and layer.trainable is False
    for i, word in enumerate(vocab):
        if word in known:
            np.testing.assert_allclose(matrix[i], vectors[word], atol=1e-6)
        else:  # padding, [UNK], and homework (not in the file)
            assert not matrix[i].any()
    assert enc.metrics["glove_coverage"] == pytest.approx(8 / 9)  # homework missing
    assert enc.spec.layout == "sequence" and enc.spec.dtype == "int32"
    np.testing.assert_array_equal(whole(enc.train)[0], whole(run(splits, EmbeddingConfig).train)[0])
    assert run(splits, GloveConfig, path=str(path), dim=6, trainable=True).layers[0].trainable


def test_glove_errors(tmp_path):
    splits = textdata.text_splits(BOOK)
    vectors = textdata.glove_vectors(["the", "cat", "mat"], dim=6)
    path = textdata.make_glove(tmp_path, vectors, "gz")
    with pytest.raises(SeqexpError, match=r"encoder.dim=50 but glove.6B.6d.txt.gz holds "
                                          r"6-dimensional vectors: set encoder.dim=6"):
        run(splits, GloveConfig, path=str(path), dim=50)
    zipped = tmp_path / "glove.6B.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for dim in (6, 8):
            archive.writestr(f"glove.6B.{dim}d.txt", f"the {' '.join(['0.5'] * dim)}\n")
    with pytest.raises(SeqexpError, match=r"has no 50d vectors .* one of \[6, 8\]"):
        run(splits, GloveConfig, path=str(zipped), dim=50)
    assert run(splits, GloveConfig, path=str(zipped), dim=8).metrics["glove_coverage"] > 0
    bad = tmp_path / "bad.txt"
    bad.write_text("the 0.1 0.2 0.3\ncat 0.1 0.2\nmat 0.1 0.2 0.3\n")
    with pytest.raises(SeqexpError, match="bad.txt line 2 is not 'word v1 ... v3'"):
        run(splits, GloveConfig, path=str(bad), dim=3)
    nan = tmp_path / "nan.txt"
    nan.write_text("the 0.1 0.2 0.3\ncat 0.1 x 0.3\n")
    with pytest.raises(SeqexpError, match="nan.txt line 2"):
        run(splits, GloveConfig, path=str(nan), dim=3)
    with pytest.raises(SeqexpError, match="encoder.path=.* does not exist"):
        run(splits, GloveConfig, path=str(tmp_path / "none.txt"), dim=3)


def test_second_encoding_is_a_cache_hit(tmp_path, monkeypatch):
    splits = textdata.text_splits(BOOK)
    path = textdata.make_glove(tmp_path, textdata.glove_vectors(["the", "cat"], 6))
    first = {name: whole(run(splits, schema, **kw).train)[0] for name, schema, kw in [
        ("ids", EmbeddingConfig, {}), ("bags", OneHotConfig, {"mode": "tf_idf", "ngrams": 2}),
        ("glove", GloveConfig, {"path": str(path), "dim": 6})]}

    def fail(*args, **kwargs):
        raise AssertionError("vectorized again")

    monkeypatch.setattr(Vectorizer, "adapt", fail)
    monkeypatch.setattr(glove_encoder, "read_glove", fail)
    again = {name: whole(run(splits, schema, **kw).train)[0] for name, schema, kw in [
        ("ids", EmbeddingConfig, {}), ("bags", OneHotConfig, {"mode": "tf_idf", "ngrams": 2}),
        ("glove", GloveConfig, {"path": str(path), "dim": 6})]}
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    with pytest.raises(AssertionError, match="vectorized again"):  # another setting: a miss
        run(splits, OneHotConfig, mode="count")


def test_batches_shuffle_training_only():
    texts = [f"review {i} the cat" for i in range(10)]
    splits = textdata.text_splits(texts, maxlen=4)
    enc = encode(splits, OmegaConf.structured(EmbeddingConfig()), Batching(3, 0, 5))
    assert len(enc.train) == 5 and len(enc.val) == 4  # steps_per_epoch; one pass
    x_val, y_val = whole(enc.val)
    np.testing.assert_array_equal(y_val, splits.val[1])
    seen = np.concatenate([enc.train[i][1] for i in range(5)])
    assert len(seen) == 15
    assert sorted(enc.train.order(0)[:10].tolist()) == list(range(10))  # whole permutations
    # a fresh seeded permutation each epoch
    assert not np.array_equal(enc.train.order(0), enc.train.order(1))


# --------------------------------------------------------------------------- Keras's word ids


def test_encoders_on_keras_imdb_ids(tmp_path):
    npz, index, raw = textdata.make_imdb_npz(tmp_path)
    splits = data.load(OmegaConf.structured(ImdbConfig(
        path=str(npz), word_index_path=str(index), maxlen=20, num_words=15)))
    words = splits.info.vocabulary
    enc = run(splits, EmbeddingConfig)
    np.testing.assert_array_equal(whole(enc.val)[0], splits.val[0])
    assert enc.spec.vocab_size == 15 and enc.layers[0].input_dim == 15

    hashed = run(splits, HashConfig, mode="sequence")
    np.testing.assert_array_equal(whole(hashed.train)[0],
                                  hash_buckets(words, 1000)[splits.train[0]])

    bags = whole(run(splits, OneHotConfig, mode="count").train)[0]
    x = splits.train[0]
    assert bags.shape == (len(x), 15) and not bags[:, 0].any()  # padding is not a word
    for row, ids in zip(bags, x, strict=True):
        np.testing.assert_array_equal(row, np.bincount(ids[ids > 0], minlength=15))

    vectors = textdata.glove_vectors(["the", "movie", "great"], dim=4)
    path = textdata.make_glove(tmp_path, vectors)
    enc = run(splits, GloveConfig, path=str(path), dim=4)
    matrix = enc.layers[0].get_weights()[0]
    the = raw["word_index"]["the"] + 3
    np.testing.assert_allclose(matrix[the], vectors["the"], atol=1e-6)
    assert not matrix[:3].any()
    assert enc.metrics["glove_coverage"] == pytest.approx(2 / 11)  # great is rank 17 > 15

    # refused with the other rules, before any data is read (the schema's check)
    with pytest.raises(SeqexpError, match="needs raw text but dataset=imdb"):
        OneHotConfig(ngrams=2).check(splits.holds)
    with pytest.raises(SeqexpError, match="encoder.level=char needs raw text"):
        OneHotConfig(mode="sequence", level="char").check(splits.holds)


def test_onehot_check_refuses_ngram_sequences():
    with pytest.raises(SeqexpError, match="encoder.ngrams=2 makes a bag of n-grams"):
        OneHotConfig(mode="sequence", ngrams=2).check("text")
    OneHotConfig(mode="count", ngrams=3).check("text")
    with pytest.raises(SeqexpError, match="encoder.weighting=nb weights the columns of a bag"):
        OneHotConfig(mode="sequence", weighting="nb").check("text")
    OneHotConfig(mode="multi_hot", weighting="nb").check("tokens")


# --------------------------------------------------------------------------- every model x encoder

ENCODERS = {
    "onehot": ["encoder=onehot"],
    "onehot-tfidf-bigrams": ["encoder=onehot", "encoder.mode=tf_idf", "encoder.ngrams=2"],
    "onehot-seq": ["encoder=onehot", "encoder.mode=sequence"],
    "onehot-char": ["encoder=onehot", "encoder.mode=sequence", "encoder.level=char"],
    "onehot-sparse-nb": ["encoder=onehot", "encoder.sparse=true", "encoder.weighting=nb"],
    "hash": ["encoder=hash", "encoder.dim=64"],
    "hash-seq": ["encoder=hash", "encoder.dim=64", "encoder.mode=sequence"],
    "embedding": ["encoder=embedding", "encoder.dim=8"],
    "embedding-masked": ["encoder=embedding", "encoder.dim=8", "encoder.mask_zero=true"],
    "glove": ["encoder=glove", "encoder.dim=6"],
}
BAGS = {"onehot", "onehot-tfidf-bigrams", "onehot-sparse-nb", "hash"}
MODELS = list(schemas.GROUPS["model"].options())
# What a model sees is one of three kinds of input: word ids into an Embedding (embedding,
# glove, embedding-masked), ids one-hot per step (onehot-seq, hash-seq, onehot-char), or a bag
# of words (dense only). Every model trains a step on each of the first two kinds; the other
# encoders of a kind on a few models (a mask on the recurrent models that use it: the others
# have it turned off, tests/test_models.py).
MODELS_OF = {"embedding": MODELS, "onehot-seq": MODELS, "embedding-masked":
             ["lstm", "bi"], "glove": ["dense", "gru"],
             "hash-seq": ["dense", "lstm"], "onehot-char": ["gru", "conv"],
             **{bag: ["dense"] for bag in BAGS}}
PAIRS = [(e, m) for e in ENCODERS for m in MODELS_OF[e]]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    root = tmp_path_factory.mktemp("reviews")
    archive = textdata.make_aclimdb_tar(root, train=8, test=4)
    words = textdata.COMMON + textdata.POSITIVE
    glove = textdata.make_glove(root, textdata.glove_vectors(words, 6), "gz")
    return archive, glove


def pair_overrides(reviews, encoder: str, model: str) -> list[str]:
    archive, glove = reviews
    maxlen = 64 if model == "conv" else 20  # three Conv1D(5) with pooling need 61 steps
    overrides = ["dataset=raw-imdb", f"dataset.path={archive}", "dataset.train_samples=6",
                 "dataset.val_samples=4", f"dataset.maxlen={maxlen}", "dataset.max_words=40",
                 f"model={model}", *ENCODERS[encoder]]
    return overrides + ([f"encoder.path={glove}"] if encoder == "glove" else [])


_ENCODED: dict = {}


def encoded_once(overrides: list[str]):
    """(task, encoded) of a config, loaded and encoded once per dataset/encoder settings
    (the model's choice does not change them) and shared by the pairs."""
    cfg = compose_cfg(*overrides)
    key = repr((OmegaConf.to_container(cfg.dataset), OmegaConf.to_container(cfg.encoder)))
    if key not in _ENCODED:
        splits = data.load(cfg.dataset)
        _ENCODED[key] = splits.task, encode(splits, cfg.encoder, Batching(4, 0, None))
    return cfg, *_ENCODED[key]


@pytest.mark.parametrize("encoder, model", PAIRS)
def test_every_kind_of_input_trains_a_step_in_every_model(reviews, encoder, model):
    cfg, task, enc = encoded_once(pair_overrides(reviews, encoder, model))
    net = models.build(enc.spec, enc.layers, cfg.model, task)
    assert net.output_shape == (None, 1)
    assert net.layers[-1].activation is keras.activations.sigmoid
    net.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"],
                run_eagerly=True)
    x, y = enc.train[0]
    logs = net.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    if encoder == "glove":
        (glove_layer,) = [layer for layer in net.layers if layer.name == "glove"]
        assert not glove_layer.trainable_weights  # frozen


@pytest.mark.parametrize("encoder", sorted(BAGS))
def test_a_bag_of_words_is_refused_by_every_sequence_model(reviews, encoder):
    for model in MODELS:
        if model == "dense":
            continue
        with pytest.raises(SeqexpError, match="gives a bag of words.*model=dense"):
            compose_cfg(*pair_overrides(reviews, encoder, model))


def test_sparse_bags_train_as_the_dense_ones(reviews):
    """encoder.sparse=true hands the same bags on as sparse tensors: the same losses and
    weights as densified batches, from the same initial weights."""
    outcomes = {}
    for sparse in (False, True):
        cfg, task, enc = encoded_once([*pair_overrides(reviews, "onehot", "dense"),
                                       "encoder.weighting=nb", f"encoder.sparse={sparse}"])
        x, _ = enc.train[0]
        assert isinstance(x, np.ndarray) != sparse and enc.spec.sparse == sparse
        keras.utils.set_random_seed(7)
        net = models.build(enc.spec, enc.layers, cfg.model, task)
        net.compile(optimizer="rmsprop", loss="binary_crossentropy")
        history = net.fit(enc.train, epochs=3, shuffle=False, verbose=0)
        outcomes[sparse] = history.history["loss"], net.get_weights()
        assert np.asarray(net.predict(enc.val, verbose=0)).shape == (4, 1)
        example = enc.val.dense_rows(2)  # a logged model's input example: dense either way
        assert isinstance(example, np.ndarray) and example.shape == (2, enc.spec.shape[0])
        assert np.asarray(net.predict(example, verbose=0)).shape == (2, 1)
    (dense_loss, dense_weights), (sparse_loss, sparse_weights) = outcomes.values()
    np.testing.assert_allclose(sparse_loss, dense_loss, rtol=1e-5)
    assert dense_loss[-1] < dense_loss[0]  # it did train
    for a, b in zip(sparse_weights, dense_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("overrides, message", [
    (["dataset=raw-imdb", "encoder=onehot", "encoder.sparse=true", "model=dense",
      "model.input_dropout=0.5"], "model.input_dropout=0.5 cannot drop entries of a sparse"),
    (["dataset=raw-imdb", "encoder=onehot", "encoder.sparse=true", "encoder.mode=sequence",
      "model=gru"], "encoder.sparse=true hands on a bag, not a sequence"),
    (["dataset=jena", "encoder=glove"], "encoder=glove cannot encode dataset=jena"),
    (["dataset=jena", "encoder=onehot"], "encoder=onehot cannot encode dataset=jena"),
    (["dataset=jena", "encoder=hash"], "encoder=hash cannot encode dataset=jena"),
    (["dataset=jena", "encoder=embedding"], "encoder=embedding cannot encode dataset=jena"),
    (["dataset=imdb", "encoder=numeric"], "encoder=numeric cannot encode dataset=imdb"),
    (["dataset=imdb", "encoder=onehot", "model=lstm"], "encoder.mode=sequence"),
    (["dataset=raw-imdb", "encoder=hash", "model=conv"], "use model=dense"),
])
def test_invalid_pairs_are_refused_before_reading_data(overrides, message):
    with pytest.raises(SeqexpError, match=message):
        compose_cfg(*overrides)


def test_sparse_bags_need_a_backend_with_sparse_tensors(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    with pytest.raises(SeqexpError, match="encoder.sparse=true needs sparse tensors, which "
                                          "KERAS_BACKEND=torch lacks"):
        compose_cfg("dataset=raw-imdb", "encoder=onehot", "encoder.sparse=true", "model=dense")
