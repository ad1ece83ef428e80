"""Text encoders (book 6.1): ``onehot``, ``hash``, ``embedding`` and ``glove``.

Raw text (``dataset=raw-imdb``) is tokenized by ``keras.layers.TextVectorization`` adapted on
the training texts only; Keras's word ids (``dataset=imdb``) are used as they are, with the
word index giving each id its word. Vectorized arrays are cached on disk, keyed by the data
file's sha256, the split and every setting that changes them, so the jobs of a sweep
tokenize once.

What the model receives:

- sequences of int32 ids ``(maxlen,)``, front-padded like ``pad_sequences``, and a first layer
  that turns ids into vectors: ``Embedding`` (embedding, glove) or a one-hot
  ``CategoryEncoding`` (onehot/hash ``mode=sequence``; the one-hot is made per batch inside
  the model, never materialized for the whole dataset; padding is one-hot at index 0);
- bags ``(width,)`` float32 (onehot multi_hot/count/tf_idf, hash multi_hot/count), kept
  sparse on the host and densified batch by batch.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from omegaconf import DictConfig

from seqexp.config import OneHotConfig
from seqexp.data import Splits
from seqexp.data.batches import Batches
from seqexp.data.download import cached_arrays, local_or_download, sha256sum
from seqexp.data.imdb import pad_ragged
from seqexp.encoders import Batching, Encoded, InputSpec, register
from seqexp.errors import SeqexpError

log = logging.getLogger(__name__)

PARTS = ("train", "val", "test")
SPECIAL = frozenset({"", "[UNK]", "[START]"})  # padding, out-of-vocabulary, Keras's start
CACHE_VERSION = 1
CHUNK = 2048  # texts vectorized per call


# --------------------------------------------------------------------------- batches


@dataclass
class Bags:
    """One bag (a row of ``width`` floats) per review, stored as CSR rows."""

    indptr: np.ndarray  # (n + 1,) int64
    indices: np.ndarray  # int32 columns
    values: np.ndarray  # float32
    width: int

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def dense(self, rows: np.ndarray | None = None) -> np.ndarray:
        rows = np.arange(len(self)) if rows is None else np.asarray(rows)
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        out = np.zeros((len(rows), self.width), dtype=np.float32)
        at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        out[np.repeat(np.arange(len(rows)), lengths), self.indices[at]] = self.values[at]
        return out

    @classmethod
    def from_coo(cls, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n: int,
                 width: int) -> Bags:
        order = np.lexsort((cols, rows))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        return cls(indptr, cols[order].astype(np.int32), values[order].astype(np.float32), width)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_indptr": self.indptr, f"{prefix}_indices": self.indices,
                f"{prefix}_values": self.values, f"{prefix}_width": np.array(self.width)}

    @classmethod
    def from_arrays(cls, arrays: dict, prefix: str) -> Bags:
        return cls(arrays[f"{prefix}_indptr"], arrays[f"{prefix}_indices"],
                   arrays[f"{prefix}_values"], int(arrays[f"{prefix}_width"]))


class TextBatches(Batches):
    """Batches of (inputs, labels) from an id array or :class:`Bags`."""

    def __init__(self, x: np.ndarray | Bags, y: np.ndarray, batch_size: int, **kw):
        self.x, self.y = x, np.asarray(y)
        super().__init__(len(self.y), batch_size, **kw)

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.x.dense(rows) if isinstance(self.x, Bags) else self.x[rows]
        return x, self.y[rows]


def _encoded(splits: Splits, xs: dict, batching: Batching, spec: InputSpec, **kw) -> Encoded:
    parts = {part: TextBatches(xs[part], getattr(splits, part)[1], batching.batch_size,
                               shuffle=part == "train", seed=batching.seed,
                               steps=batching.steps_per_epoch)
             for part in PARTS}
    kw.setdefault("params", {})["vocab_size"] = spec.vocab_size
    return Encoded(**parts, spec=spec, **kw)


# --------------------------------------------------------------------------- vectorizing


def _vectorizer(level: str, max_tokens: int, **kw) -> keras.layers.TextVectorization:
    """Words: lower-cased, punctuation stripped, split on whitespace (Keras's defaults).
    Characters: every character as it is, case and punctuation kept (listing 6.2)."""
    if level == "char":
        kw.update(split="character", standardize=None)
    return keras.layers.TextVectorization(max_tokens=max_tokens, **kw)


def _adapt(layer: keras.layers.TextVectorization, texts: list[str]) -> None:
    import tensorflow as tf

    layer.adapt(tf.data.Dataset.from_tensor_slices(np.asarray(texts, dtype=object)).batch(CHUNK))


def _chunks(texts: list[str]) -> Iterator[np.ndarray]:
    for start in range(0, len(texts), CHUNK):
        yield np.asarray(texts[start:start + CHUNK], dtype=object)


def _data_key(splits: Splits) -> dict:
    return {"v": CACHE_VERSION, "data": splits.info["cache_key"]}


def text_ids(splits: Splits, level: str, every_word: bool = False,
             ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str]]:
    """Token ids of each part's texts, ragged as ``(flat, lengths)``, and the vocabulary
    (``vocabulary[id]``; 0 is padding, 1 out-of-vocabulary) fitted on the training texts:
    the ``dataset.max_words`` most frequent tokens, or ``every_word`` of them."""
    max_tokens = None if every_word else splits.info["max_words"]

    def compute() -> dict[str, np.ndarray]:
        layer = _vectorizer(level, max_tokens, output_mode="int", ragged=True)
        _adapt(layer, splits.train[0])
        out = {"vocabulary": np.array(layer.get_vocabulary(), dtype=str)}
        for part in PARTS:
            flats, lengths = [], []
            for chunk in _chunks(getattr(splits, part)[0]):
                ragged = layer(chunk)
                flats.append(ragged.flat_values.numpy().astype(np.int32))
                lengths.append(ragged.row_lengths().numpy())
            out[f"{part}_flat"] = np.concatenate(flats)
            out[f"{part}_lengths"] = np.concatenate(lengths)
        return out

    key = {**_data_key(splits), "what": "ids", "level": level, "max_tokens": max_tokens}
    arrays, _ = cached_arrays("text", key, compute)
    ids = {part: (arrays[f"{part}_flat"], arrays[f"{part}_lengths"]) for part in PARTS}
    return ids, arrays["vocabulary"].tolist()


def text_bags(splits: Splits, level: str, ngrams: int, mode: str,
              ) -> tuple[dict[str, Bags], list[str]]:
    """Bags of words (or n-grams, or characters) of each part, TextVectorization's
    ``multi_hot``/``count``/``tf_idf`` (idf from the training texts); column 0 is OOV."""
    max_tokens = splits.info["max_words"]

    def compute() -> dict[str, np.ndarray]:
        sparse = mode != "tf_idf"  # Keras's sparse tf_idf output fails (TF GatherNd error)
        layer = _vectorizer(level, max_tokens, output_mode=mode, sparse=sparse,
                            ngrams=ngrams if ngrams > 1 else None)
        _adapt(layer, splits.train[0])
        width = layer.vocabulary_size()
        out = {"vocabulary": np.array(layer.get_vocabulary(), dtype=str)}
        for part in PARTS:
            rows, cols, values, done = [], [], [], 0
            for chunk in _chunks(getattr(splits, part)[0]):
                encoded = layer(chunk)
                if sparse:
                    index, value = encoded.indices.numpy(), encoded.values.numpy()
                else:
                    dense = encoded.numpy()
                    index = np.argwhere(dense != 0)
                    value = dense[index[:, 0], index[:, 1]]
                rows.append(index[:, 0] + done)
                cols.append(index[:, 1])
                values.append(value)
                done += len(chunk)
            bags = Bags.from_coo(np.concatenate(rows), np.concatenate(cols),
                                 np.concatenate(values), done, width)
            out.update(bags.arrays(part))
        return out

    key = {**_data_key(splits), "what": "bags", "level": level, "ngrams": ngrams, "mode": mode,
           "max_tokens": max_tokens}
    arrays, _ = cached_arrays("text", key, compute)
    return {part: Bags.from_arrays(arrays, part) for part in PARTS}, arrays["vocabulary"].tolist()


def id_bags(ids: dict[str, tuple[np.ndarray, np.ndarray]], width: int, mode: str,
            ) -> dict[str, Bags]:
    """Bags of ids below ``width`` (0, padding, left out), with TextVectorization's
    semantics: multi_hot, count, or tf_idf = count * log(1 + n / (1 + df)) on train."""
    counted = {}
    for part, (flat, lengths) in ids.items():
        rows = np.repeat(np.arange(len(lengths)), lengths)
        keep = flat != 0
        cells, counts = np.unique(rows[keep] * width + flat[keep], return_counts=True)
        counted[part] = (cells // width, cells % width, counts.astype(np.float32), len(lengths))
    if mode == "tf_idf":
        _, cols, _, n = counted["train"]
        idf = np.log1p(n / (1.0 + np.bincount(cols, minlength=width))).astype(np.float32)
    bags = {}
    for part, (rows, cols, counts, n) in counted.items():
        values = {"multi_hot": np.ones_like(counts), "count": counts}.get(mode)
        if values is None:
            values = counts * idf[cols]
        bags[part] = Bags.from_coo(rows, cols, values, n, width)
    return bags


def ragged_ids(splits: Splits, level: str, every_word: bool = False,
               ) -> tuple[dict, list[str]]:
    """Unpadded ids of every part and the vocabulary, for text or Keras word ids."""
    if splits.kind == "tokens":
        ids = {}
        for part in PARTS:
            x = getattr(splits, part)[0]
            ids[part] = (x[x != 0], (x != 0).sum(axis=1))
        return ids, list(splits.info["vocabulary"])
    return text_ids(splits, level, every_word)


def sequences(splits: Splits, level: str, every_word: bool = False,
              ) -> tuple[dict[str, np.ndarray], list[str]]:
    """int32 ``(n, maxlen)`` ids of every part, padded and truncated at the front (reversed
    first when ``dataset.reverse``), and the vocabulary."""
    if splits.kind == "tokens":  # the loader padded (and reversed) them already
        return ({part: getattr(splits, part)[0] for part in PARTS},
                list(splits.info["vocabulary"]))
    ids, vocabulary = text_ids(splits, level, every_word)
    maxlen, reverse = splits.info["maxlen"], splits.info["reverse"]
    return {part: pad_ragged(*ids[part], maxlen, reverse) for part in PARTS}, vocabulary


def _sequence_spec(xs: dict[str, np.ndarray], vocab_size: int) -> InputSpec:
    return InputSpec(shape=(xs["train"].shape[1],), dtype="int32", kind="sequence",
                     vocab_size=vocab_size)


def _bag_spec(width: int) -> InputSpec:
    return InputSpec(shape=(width,), dtype="float32", kind="bag", vocab_size=width)


def _require_text(splits: Splits) -> None:
    if splits.kind not in ("text", "tokens"):
        raise SeqexpError(f"text encoders need text or word ids, not {splits.kind}: use "
                          "dataset=imdb or dataset=raw-imdb, or encoder=numeric")


# --------------------------------------------------------------------------- encoders


@register("onehot")
def onehot(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    """One-hot per timestep (``mode=sequence``, listings 6.1-6.3) or a bag of words/n-grams."""
    _require_text(splits)
    OneHotConfig.check(cfg, splits.kind)
    if cfg.mode == "sequence":
        xs, vocabulary = sequences(splits, cfg.level)
        size = len(vocabulary)
        return _encoded(splits, xs, batching, _sequence_spec(xs, size),
                        layers=[keras.layers.CategoryEncoding(size, output_mode="one_hot",
                                                              name="onehot")])
    if splits.kind == "tokens":
        ids, vocabulary = ragged_ids(splits, "word")
        bags = id_bags(ids, len(vocabulary), cfg.mode)
    else:
        bags, vocabulary = text_bags(splits, cfg.level, cfg.ngrams, cfg.mode)
    return _encoded(splits, bags, batching, _bag_spec(bags["train"].width))


def hash_buckets(tokens: list[str], dim: int, salt: int = 0) -> np.ndarray:
    """Bucket of each token: ``keras.layers.Hashing`` (FarmHash64, or SipHash64 keyed by
    ``salt`` when not 0) into ``1..dim-1``; the padding token ``""`` gets 0. Stable across
    processes and machines, unlike Python's salted ``hash()`` in the book's listing 6.4."""
    layer = keras.layers.Hashing(num_bins=dim, mask_value="", salt=salt or None)
    return np.asarray(layer(np.asarray(tokens, dtype=object))).astype(np.int32).reshape(-1)


def collision_fraction(vocabulary: list[str], buckets: np.ndarray) -> float:
    """Fraction of vocabulary words whose bucket holds another vocabulary word too."""
    words = np.array([w not in SPECIAL for w in vocabulary])
    if not words.any():
        return 0.0
    used = buckets[words]
    return float(np.mean(np.bincount(used)[used] > 1))


@register("hash")
def hashed(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    """The hashing trick (listing 6.4): each word replaced by its stable hash bucket. On raw
    text every word seen in training is hashed (no max_words cut; words never seen in
    training share the [UNK] bucket); Keras's ids are limited by ``num_words`` already."""
    _require_text(splits)
    if cfg.mode == "sequence":
        xs, vocabulary = sequences(splits, "word", every_word=True)
    else:
        ids, vocabulary = ragged_ids(splits, "word", every_word=True)
    buckets = hash_buckets(vocabulary, cfg.dim, cfg.salt)
    metrics = {"hash_collisions": collision_fraction(vocabulary, buckets)}
    if cfg.mode == "sequence":
        xs = {part: buckets[x] for part, x in xs.items()}
        return _encoded(splits, xs, batching, _sequence_spec(xs, cfg.dim), metrics=metrics,
                        layers=[keras.layers.CategoryEncoding(cfg.dim, output_mode="one_hot",
                                                              name="hash_onehot")])
    bags = id_bags({part: (buckets[flat], lengths) for part, (flat, lengths) in ids.items()},
                   cfg.dim, cfg.mode)
    return _encoded(splits, bags, batching, _bag_spec(cfg.dim), metrics=metrics)


@register("embedding")
def embedding(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    """A learned Embedding (listings 6.5-6.7)."""
    _require_text(splits)
    xs, vocabulary = sequences(splits, "word")
    size = len(vocabulary)
    layer = keras.layers.Embedding(size, cfg.dim, mask_zero=cfg.mask_zero, name="embedding")
    return _encoded(splits, xs, batching, _sequence_spec(xs, size), layers=[layer])


# --------------------------------------------------------------------------- GloVe

_DIM_IN_NAME = re.compile(r"(\d+)d\.txt$")


@contextmanager
def _glove_text(path: Path, dim: int) -> Iterator[tuple[io.TextIOBase, str]]:
    """The text stream of a GloVe file (.txt, .txt.gz, or the member of a .zip whose name
    says ``{dim}d``), and the name to show in messages."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.endswith(".txt")]
            pick = [m for m in members if _DIM_IN_NAME.search(m)
                    and int(_DIM_IN_NAME.search(m)[1]) == dim]
            if not pick and len(members) == 1:
                pick = members
            if not pick:
                dims = sorted(int(_DIM_IN_NAME.search(m)[1]) for m in members
                              if _DIM_IN_NAME.search(m))
                held = ", ".join(members) or "no .txt file"
                raise SeqexpError(f"{path.name} has no {dim}d vectors (it holds {held}): set "
                                  f"encoder.dim to one of {dims or 'the dims it has'}")
            with archive.open(pick[0]) as raw:
                yield io.TextIOWrapper(raw, encoding="utf-8"), f"{path.name}:{pick[0]}"
    elif path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            yield fh, path.name
    else:
        with open(path, encoding="utf-8") as fh:
            yield fh, path.name


def read_glove(path: Path, dim: int, words: set[str]) -> dict[str, np.ndarray]:
    """The vectors of ``words`` found in a GloVe text file (first occurrence wins). The file's
    dimension must equal ``dim``; a malformed line is an error naming its number."""
    found: dict[str, np.ndarray] = {}
    try:
        with _glove_text(path, dim) as (lines, name):
            checked = False
            for number, line in enumerate(lines, 1):
                line = line.rstrip()
                if not line:
                    continue
                word, _, rest = line.partition(" ")
                if not checked:  # the first vector tells the file's dimension
                    file_dim = len(rest.split(" ")) if rest else 0
                    if file_dim != dim:
                        raise SeqexpError(
                            f"encoder.dim={dim} but {name} holds {file_dim}-dimensional vectors: "
                            f"set encoder.dim={file_dim}, or point encoder.path at {dim}d vectors")
                    checked = True
                try:
                    if rest.count(" ") != dim - 1:
                        raise ValueError(f"{rest.count(' ') + 1} values, expected {dim}")
                    if word in words and word not in found:
                        found[word] = np.array(rest.split(" "), dtype=np.float32)
                except ValueError as err:
                    raise SeqexpError(
                        f"{name} line {number} is not 'word v1 ... v{dim}' ({err}): "
                        "fix or re-download the GloVe file") from None
    except (OSError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as err:
        raise SeqexpError(f"cannot read GloVe vectors from {path} ({err.__class__.__name__}: "
                          f"{str(err)[:80]}): pass a GloVe .txt, .txt.gz or .zip as "
                          "encoder.path, or encoder.path=null to download glove.6B") from None
    return found


def glove_matrix(path: Path, vocabulary: list[str], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(len(vocabulary), dim)`` float32 rows of GloVe vectors (zeros where GloVe lacks the
    word, and for padding/OOV), and which rows were found. Cached per file and vocabulary."""

    def compute() -> dict[str, np.ndarray]:
        vectors = read_glove(path, dim, {w for w in vocabulary if w not in SPECIAL})
        matrix = np.zeros((len(vocabulary), dim), dtype=np.float32)
        found = np.zeros(len(vocabulary), dtype=bool)
        for i, word in enumerate(vocabulary):
            if word not in SPECIAL and word in vectors:
                matrix[i], found[i] = vectors[word], True
        return {"matrix": matrix, "found": found}

    key = {"v": CACHE_VERSION, "glove_sha256": sha256sum(path), "dim": dim,
           "vocabulary": hashlib.sha256("\n".join(vocabulary).encode()).hexdigest()}
    arrays, _ = cached_arrays("glove", key, compute)
    return arrays["matrix"], arrays["found"]


@register("glove")
def glove(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    """Pretrained GloVe vectors in a frozen Embedding (listings 6.10-6.13)."""
    _require_text(splits)
    xs, vocabulary = sequences(splits, "word")
    path = local_or_download(cfg.path, cfg.url, "encoder.path")
    matrix, found = glove_matrix(path, vocabulary, cfg.dim)
    words = np.array([w not in SPECIAL for w in vocabulary])
    coverage = float(found[words].mean()) if words.any() else 0.0
    layer = keras.layers.Embedding(len(vocabulary), cfg.dim, weights=matrix,
                                   trainable=cfg.trainable, mask_zero=cfg.mask_zero,
                                   name="glove")
    return _encoded(splits, xs, batching, _sequence_spec(xs, len(vocabulary)), layers=[layer],
                    metrics={"glove_coverage": coverage, "glove_words": float(found.sum())},
                    params={"glove_file": path.name})
