"""Small text data in the real formats, generated into a test's tmp_path.

- :func:`make_aclimdb`: an ``aclImdb/`` tree (train/test x pos/neg/unsup, ``<id>_<rating>.txt``
  plus README and imdb.vocab) and :func:`make_aclimdb_tar` its ``.tar.gz``;
- :func:`make_imdb_npz`: an ``imdb.npz`` of Keras's layout (object arrays of lists of word
  ranks, 1 = the most frequent word; ``load_data`` adds the start token and the offset 3) and
  its ``imdb_word_index.json``;
- :func:`make_glove`: GloVe text vectors (``word v1 ... vd``) as .txt, .txt.gz or .zip;
- :func:`text_splits`: :class:`seqexp.data.Splits` of given texts, as raw-imdb hands them on.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from seqexp.data import DataInfo, Splits
from seqexp.tasks.binary import BINARY

POSITIVE = ["great", "wonderful", "superb", "moving", "brilliant", "loved"]
NEGATIVE = ["awful", "boring", "terrible", "dull", "worst", "hated"]
COMMON = ["the", "movie", "film", "was", "a", "and", "plot", "actors", "it", "story", "of",
          "this", "i", "really", "scene", "ending"]
UNSUP_MARKER = "unsupervisedmarker"
BOOK = ["The cat sat on the mat.", "The dog ate my homework."]


def review(rng: np.random.Generator, label: str, words: int = 30) -> str:
    """A review whose sentiment words tell its label; punctuation and case as in real text."""
    own = POSITIVE if label == "pos" else NEGATIVE
    tokens = list(rng.choice(COMMON, size=words - 4)) + list(rng.choice(own, size=4))
    rng.shuffle(tokens)
    return "The " + " ".join(tokens) + ".<br /><br />" + ("Great!" if label == "pos" else "Bad.")


def make_aclimdb(root: Path, train: int = 20, test: int = 10, unsup: int = 3,
                 seed: int = 0) -> Path:
    """``root/aclImdb`` with ``train`` and ``test`` reviews per class; returns the folder."""
    rng = np.random.default_rng(seed)
    base = root / "aclImdb"
    for part, count in (("train", train), ("test", test)):
        for label in ("pos", "neg"):
            folder = base / part / label
            folder.mkdir(parents=True)
            for i in range(count):
                rating = 8 if label == "pos" else 2
                text = f"{review(rng, label)} {part} {label}"
                (folder / f"{i}_{rating}.txt").write_text(text, encoding="utf-8")
    folder = base / "train" / "unsup"
    folder.mkdir(parents=True)
    for i in range(unsup):
        (folder / f"{i}_0.txt").write_text(f"{UNSUP_MARKER} review", encoding="utf-8")
    (base / "README").write_text("Large Movie Review Dataset v1.0 (generated)\n")
    (base / "imdb.vocab").write_text("\n".join(COMMON + POSITIVE + NEGATIVE) + "\n")
    return base


def make_aclimdb_tar(root: Path, **kw) -> Path:
    """``root/aclImdb_v1.tar.gz`` of a generated tree (built in ``root/src``)."""
    tree = make_aclimdb(root / "src", **kw)
    path = root / "aclImdb_v1.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        archive.add(tree, arcname="aclImdb")
    return path


def add_member(archive_path: Path, name: str, data: bytes = b"x", *, link: str | None = None,
               symlink: bool = False) -> None:
    """Rewrite a .tar.gz with one extra member (a file, or a symlink/hardlink to ``link``)."""
    with tarfile.open(archive_path, "r:gz") as src:
        members = [(m, src.extractfile(m).read() if m.isfile() else None) for m in src]
    with tarfile.open(archive_path, "w:gz") as dst:
        for member, content in members:
            dst.addfile(member, io.BytesIO(content) if content is not None else None)
        info = tarfile.TarInfo(name)
        if link is not None:
            info.type = tarfile.SYMTYPE if symlink else tarfile.LNKTYPE
            info.linkname = link
            dst.addfile(info)
        else:
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def make_imdb_npz(root: Path, train: int = 40, test: int = 20, seed: int = 0,
                  ) -> tuple[Path, Path, dict]:
    """``imdb.npz`` + ``imdb_word_index.json`` in Keras's layout.

    Returns both paths and the raw content: ``{"x_train": [[rank, ...], ...], "y_train": ...,
    "word_index": {...}}`` (ranks as stored, before load_data's offset).
    """
    rng = np.random.default_rng(seed)
    words = COMMON + POSITIVE + NEGATIVE
    word_index = {w: i + 1 for i, w in enumerate(words)}  # 1 = the most frequent
    raw = {"word_index": word_index}
    for part, count in (("train", train), ("test", test)):
        xs, ys = [], []
        for i in range(count):
            label = "pos" if i % 2 else "neg"
            text = review(rng, label, words=int(rng.integers(5, 40)))
            tokens = text.lower().replace(".<br /><br />", " ").replace("!", "").split()
            xs.append([word_index[t] for t in tokens if t in word_index])
            ys.append(1 if label == "pos" else 0)
        raw[f"x_{part}"], raw[f"y_{part}"] = xs, ys
    npz = root / "imdb.npz"
    arrays = {}
    for part in ("train", "test"):
        x = np.empty(len(raw[f"x_{part}"]), dtype=object)
        x[:] = raw[f"x_{part}"]
        arrays[f"x_{part}"], arrays[f"y_{part}"] = x, np.array(raw[f"y_{part}"], dtype=np.int64)
    np.savez(npz, **arrays)
    index = root / "imdb_word_index.json"
    index.write_text(json.dumps(word_index))
    return npz, index, raw


def glove_vectors(words: list[str], dim: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Vectors rounded to 5 decimals, as the text file holds them."""
    rng = np.random.default_rng(seed)
    return {w: np.round(rng.normal(size=dim), 5).astype(np.float32) for w in words}


def make_glove(root: Path, vectors: dict[str, np.ndarray], fmt: str = "txt",
               name: str | None = None) -> Path:
    """A GloVe text file (``fmt`` txt, gz or zip; the zip holds ``glove.6B.<dim>d.txt``)."""
    dim = len(next(iter(vectors.values())))
    lines = "".join(f"{w} {' '.join(f'{v:.5f}' for v in vec)}\n" for w, vec in vectors.items())
    member = f"glove.6B.{dim}d.txt"
    if fmt == "txt":
        path = root / (name or member)
        path.write_text(lines, encoding="utf-8")
    elif fmt == "gz":
        path = root / (name or f"{member}.gz")
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(lines)
    else:
        path = root / (name or "glove.6B.zip")
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(member, lines)
    return path


def text_splits(train: list[str], val: list[str] | None = None, test: list[str] | None = None,
                *, maxlen: int = 8, max_words: int = 100, reverse: bool = False) -> Splits:
    """Splits of these texts as raw-imdb hands them on (labels alternate 0, 1)."""
    val = val if val is not None else train
    test = test if test is not None else train
    digest = hashlib.sha256(json.dumps([train, val, test]).encode()).hexdigest()

    def part(texts: list[str]) -> tuple[list[str], np.ndarray]:
        return list(texts), np.arange(len(texts), dtype=np.int32) % 2

    info = DataInfo(source="<test>", sha256=digest, maxlen=maxlen, max_words=max_words,
                    reverse=reverse, cache_key={"loader": "test", "sha256": digest})
    return Splits(holds="text", task=BINARY, train=part(train), val=part(val), test=part(test),
                  info=info)
