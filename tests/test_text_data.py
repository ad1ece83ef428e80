"""The IMDB loaders on generated data in the real formats: aclImdb tree and .tar.gz, Keras's
imdb.npz + word index."""

from __future__ import annotations

import os
import tarfile

import numpy as np
import pytest
from omegaconf import OmegaConf

from seqexp.data import imdb, load, raw_imdb
from seqexp.data.imdb import pad_ragged
from seqexp.data.schemas import ImdbConfig, RawImdbConfig
from seqexp.errors import SeqexpError
from seqexp.tasks.binary import BINARY
from tests import textdata


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """This test's cache folder (conftest points SEQEXP_CACHE_DIR at it too)."""
    monkeypatch.setenv("SEQEXP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def raw_cfg(path, **kw):
    kw.setdefault("train_samples", 10)
    kw.setdefault("val_samples", 8)
    return OmegaConf.structured(RawImdbConfig(path=str(path), **kw))


def imdb_cfg(npz, index, **kw):
    kw.setdefault("maxlen", 20)
    kw.setdefault("num_words", 15)
    return OmegaConf.structured(ImdbConfig(path=str(npz), word_index_path=str(index), **kw))


# --------------------------------------------------------------------------- raw-imdb


def test_raw_imdb_counts_labels_and_sources_agree(tmp_path):
    archive = textdata.make_aclimdb_tar(tmp_path, train=20, test=10)
    from_tar = load(raw_cfg(archive))
    from_folder = load(raw_cfg(tmp_path / "src"))  # the folder holding aclImdb/
    from_inner = load(raw_cfg(tmp_path / "src" / "aclImdb"))
    assert from_tar.holds == "text" and from_tar.task == BINARY
    assert [len(part[0]) for part in (from_tar.train, from_tar.val, from_tar.test)] == [10, 8, 20]
    for other in (from_folder, from_inner):
        for part in ("train", "val", "test"):
            assert getattr(other, part)[0] == getattr(from_tar, part)[0]
            np.testing.assert_array_equal(getattr(other, part)[1], getattr(from_tar, part)[1])
    for part in ("train", "val", "test"):
        texts, labels = getattr(from_tar, part)
        for text, label in zip(texts, labels, strict=True):
            assert text.endswith("pos" if label == 1 else "neg")  # label from the folder name
            assert textdata.UNSUP_MARKER not in text  # unsup is ignored
    assert all(t.endswith(("test pos", "test neg")) for t in from_tar.test[0])
    assert sorted(from_tar.test[1].tolist()) == [0] * 10 + [1] * 10
    info = from_tar.info
    assert info.source == str(archive) and len(info.sha256) == 64
    assert (info.maxlen, info.max_words, info.reverse) == (100, 10000, False)


def test_raw_imdb_draw_is_seeded_disjoint_and_nested(tmp_path):
    archive = textdata.make_aclimdb_tar(tmp_path, train=20, test=2)
    small = load(raw_cfg(archive, train_samples=5, val_samples=8))
    large = load(raw_cfg(archive, train_samples=None, val_samples=8))
    again = load(raw_cfg(archive, train_samples=5, val_samples=8))
    other = load(raw_cfg(archive, train_samples=5, val_samples=8, seed=7))
    assert len(large.train[0]) == 40 - 8  # null: every review not drawn for validation
    assert large.val[0] == small.val[0]  # validation does not depend on train_samples
    assert large.train[0][:5] == small.train[0]
    assert not set(large.train[0]) & set(large.val[0])
    assert again.train[0] == small.train[0] and again.val[0] == small.val[0]
    assert other.val[0] != small.val[0]
    with pytest.raises(SeqexpError, match="train_samples=30 and dataset.val_samples=20"):
        load(raw_cfg(archive, train_samples=30, val_samples=20))


@pytest.mark.parametrize("name, link, symlink", [
    ("../evil.txt", None, False),
    ("/tmp/abs_evil.txt", None, False),
    ("aclImdb/train/pos/../../../evil.txt", None, False),
    ("aclImdb/train/pos/99_9.txt", "/etc/passwd", True),
    ("aclImdb/train/pos/98_9.txt", "../../../../outside", True),
    ("aclImdb/train/pos/97_9.txt", "../../../../outside", False),
])
def test_raw_imdb_reads_only_reviews_and_writes_nothing(tmp_path, name, link, symlink):
    """The archive is read as a stream into memory: a member with an odd path or a link is
    not a review, and nothing of it lands on disk."""
    archive = textdata.make_aclimdb_tar(tmp_path, train=2, test=2)
    textdata.add_member(archive, name, b"evil pos", link=link, symlink=symlink)
    splits = load(raw_cfg(archive, train_samples=1, val_samples=1))
    texts = splits.train[0] + splits.val[0] + splits.test[0]
    assert texts and not any("evil" in text for text in texts)
    assert not (tmp_path / "evil.txt").exists() and not os.path.exists("/tmp/abs_evil.txt")


def test_raw_imdb_accepts_links_that_stay_inside(tmp_path):
    archive = textdata.make_aclimdb_tar(tmp_path, train=2, test=2)
    textdata.add_member(archive, "aclImdb/train/pos/link.txt", link="../neg/0_2.txt",
                        symlink=True)
    splits = load(raw_cfg(archive, train_samples=1, val_samples=1))
    assert len(splits.test[0]) == 4  # the link is no review of its own


def test_raw_imdb_errors_name_the_problem_and_fix(tmp_path):
    tree = textdata.make_aclimdb(tmp_path / "tree", train=3, test=3)
    for review in (tree / "train" / "neg").iterdir():
        review.unlink()
    with pytest.raises(SeqexpError, match="no reviews in train/neg"):
        load(raw_cfg(tmp_path / "tree", train_samples=1, val_samples=1))
    with pytest.raises(SeqexpError, match="does not exist"):
        load(raw_cfg(tmp_path / "missing.tar.gz"))
    archive = textdata.make_aclimdb_tar(tmp_path / "t", train=30, test=30)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])  # truncated
    with pytest.raises(SeqexpError, match="corrupt or truncated"):
        load(raw_cfg(archive, train_samples=1, val_samples=1))
    other = tmp_path / "reviews.csv"
    other.write_text("not,an,archive\n")
    with pytest.raises(SeqexpError, match="neither an aclImdb folder nor a .tar.gz"):
        load(raw_cfg(other))


def test_raw_imdb_second_load_reads_the_cache(tmp_path, cache, monkeypatch):
    archive = textdata.make_aclimdb_tar(tmp_path, train=20, test=5)
    first = load(raw_cfg(archive))
    assert first.info.cache_hit is False and list(cache.glob("raw-imdb/*.npz"))

    def fail(source):
        raise AssertionError("the archive was read again")

    monkeypatch.setattr(raw_imdb, "read_reviews", fail)
    second = load(raw_cfg(archive))
    assert second.info.cache_hit is True
    assert second.train[0] == first.train[0] and second.test[0] == first.test[0]


def test_texts_pack_round_trip():
    texts = ["The cat sat on the mat.", "", "Ünïcödé — ok", "line\nbreak"]
    assert raw_imdb.unpack_texts(*raw_imdb.pack_texts(texts)) == texts


# --------------------------------------------------------------------------- imdb.npz


def keras_reference(raw, num_words, maxlen, seed=113, val_split=0.2, reverse=False):
    """keras.datasets.imdb.load_data + validation_split + pad_sequences, written out."""
    import keras

    rng = np.random.RandomState(seed)
    out = {}
    for part in ("train", "test"):
        x = np.empty(len(raw[f"x_{part}"]), dtype=object)
        x[:] = raw[f"x_{part}"]
        y = np.array(raw[f"y_{part}"])
        order = np.arange(len(x))
        rng.shuffle(order)
        xs = [[1] + [w + 3 if w + 3 < num_words else 2 for w in row] for row in x[order]]
        xs = [row[::-1] for row in xs] if reverse else xs
        out[part] = (keras.utils.pad_sequences(xs, maxlen=maxlen), y[order])
    split_at = int(np.floor(len(out["train"][1]) * (1 - val_split)))  # as Keras validation_split
    x, y = out["train"]
    out["train"], out["val"] = (x[:split_at], y[:split_at]), (x[split_at:], y[split_at:])
    return out


@pytest.mark.parametrize("reverse", [False, True])
def test_imdb_matches_keras_load_data_and_pad_sequences(tmp_path, reverse):
    npz, index, raw = textdata.make_imdb_npz(tmp_path, train=40, test=20)
    splits = load(imdb_cfg(npz, index, reverse=reverse))
    expected = keras_reference(raw, num_words=15, maxlen=20, reverse=reverse)
    assert splits.holds == "tokens" and splits.task == BINARY
    assert [len(getattr(splits, p)[1]) for p in ("train", "val", "test")] == [32, 8, 20]
    for part in ("train", "val", "test"):
        x, y = getattr(splits, part)
        assert x.shape[1] == 20 and x.dtype == np.int32
        np.testing.assert_array_equal(x, expected[part][0])
        np.testing.assert_array_equal(y, expected[part][1])
    x = splits.train[0]
    assert x.max() < 15 and (x == 2).any()  # ranks beyond num_words became OOV
    rows_with_start = (x == 1).sum(axis=1)
    assert (rows_with_start <= 1).all()
    words = splits.info.vocabulary
    assert words[:4] == ["", "[START]", "[UNK]", ""] and len(words) == 15
    for word, rank in raw["word_index"].items():
        if rank + 3 < 15:
            assert words[rank + 3] == word
    assert splits.info.maxlen == 20 and splits.info.reverse is reverse


def test_imdb_refuses_pickled_objects_and_wrong_arrays(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = np.empty(2, dtype=object)
    evil[:] = [Payload(), [1, 2]]
    npz, index, _ = textdata.make_imdb_npz(tmp_path)
    bad = tmp_path / "evil.npz"
    np.savez(bad, x_train=evil, y_train=np.array([0, 1]), x_test=evil, y_test=np.array([0, 1]))
    with pytest.raises(SeqexpError, match="refusing to load it"):
        load(imdb_cfg(bad, index))
    assert not marker.exists()

    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, a=np.arange(3), b=np.arange(3))
    with pytest.raises(SeqexpError, match="lacks the arrays x_train, y_train, x_test, y_test"):
        load(imdb_cfg(wrong, index))
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(SeqexpError, match="not a readable .npz"):
        load(imdb_cfg(junk, index))
    with pytest.raises(SeqexpError, match="dataset.word_index_path=.* does not exist"):
        load(imdb_cfg(npz, tmp_path / "nope.json"))


def test_imdb_second_load_reads_the_cache(tmp_path, monkeypatch):
    npz, index, _ = textdata.make_imdb_npz(tmp_path)
    first = load(imdb_cfg(npz, index))

    def fail(path):
        raise AssertionError("the npz was read again")

    monkeypatch.setattr(imdb, "read_npz", fail)
    second = load(imdb_cfg(npz, index))
    assert second.info.cache_hit and not first.info.cache_hit
    np.testing.assert_array_equal(second.train[0], first.train[0])
    with pytest.raises(AssertionError, match="read again"):  # another setting, another entry
        load(imdb_cfg(npz, index, maxlen=7))


@pytest.mark.parametrize("reverse", [False, True])
def test_pad_ragged_is_pad_sequences(reverse):
    import keras

    rng = np.random.default_rng(0)
    rows = [list(rng.integers(1, 50, size=n)) for n in [0, 1, 3, 7, 8, 9, 20, 0, 5]]
    flat = np.array([w for row in rows for w in row], dtype=np.int64)
    lengths = np.array([len(r) for r in rows])
    expected = keras.utils.pad_sequences([r[::-1] if reverse else r for r in rows], maxlen=8)
    np.testing.assert_array_equal(pad_ragged(flat, lengths, 8, reverse), expected)


def test_archive_fixture_is_a_real_tar_gz(tmp_path):
    archive = textdata.make_aclimdb_tar(tmp_path, train=1, test=1)
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
    assert "aclImdb/train/pos/0_8.txt" in names and "aclImdb/train/unsup/0_0.txt" in names


def test_imdb_validation_split_rounds_like_keras(tmp_path):
    """Keras's validation_split keeps floor(n * (1 - split)) samples for training."""
    npz, index, _ = textdata.make_imdb_npz(tmp_path, train=40, test=20)
    splits = load(imdb_cfg(npz, index, val_split=0.33))  # 40 * 0.67 = 26.8
    assert (len(splits.train[1]), len(splits.val[1])) == (26, 14)


@pytest.mark.parametrize("keep", [0.3, 0.5, 0.7, 0.9, 0.99])
def test_raw_imdb_refuses_a_truncated_archive_wherever_it_is_cut(tmp_path, keep):
    """tarfile alone reads a stream cut at a block boundary as a shorter archive; the loader
    must not silently use fewer reviews."""
    archive = textdata.make_aclimdb_tar(tmp_path, train=30, test=30)
    archive.write_bytes(archive.read_bytes()[: int(archive.stat().st_size * keep)])
    with pytest.raises(SeqexpError, match="corrupt or truncated"):
        load(raw_cfg(archive, train_samples=1, val_samples=1))
