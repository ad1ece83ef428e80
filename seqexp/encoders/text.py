"""Text vectorization and its cache, shared by the text encoders (book 6.1).

Raw text (``dataset=raw-imdb``) is vectorized by :class:`seqexp.encoders.vectorize.Vectorizer`,
numpy's copy of ``keras.layers.TextVectorization`` (same vocabulary, ids and bag values, no
TensorFlow), fitted on the training texts only; Keras's word ids (``dataset=imdb``) are used
as they are, with the word index giving each id its word. Vectorized arrays are cached on disk,
keyed by the data's own key, every setting that changes them, the Keras version and a digest
of the code that computes them, so the jobs of a sweep tokenize once and a change of that code
never reads a stale entry.

What the models receive (see :mod:`seqexp.encoders.bags`, :mod:`~seqexp.encoders.sequences`
and :mod:`~seqexp.encoders.glove`):

- sequences of int32 ids ``(maxlen,)``, front-padded like ``pad_sequences``, and a first layer
  that turns ids into vectors (an ``Embedding`` or a per-batch one-hot ``CategoryEncoding``);
- bags ``(width,)`` float32, kept as a ``scipy.sparse.csr_matrix`` on the host and densified
  batch by batch.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import keras
import numpy as np
import scipy.sparse as sp

from seqexp import progress
from seqexp.data import Splits
from seqexp.data.batches import Batches
from seqexp.data.download import cached_arrays
from seqexp.data.imdb import SPECIAL_TOKENS, pad_ragged
from seqexp.encoders import Batching, Encoded, InputSpec
from seqexp.encoders import vectorize as _vectorize
from seqexp.encoders.vectorize import Vectorizer, bag_matrix
from seqexp.errors import SeqexpError

log = logging.getLogger(__name__)

PARTS = ("train", "val", "test")
SPECIAL = frozenset(SPECIAL_TOKENS)  # padding, Keras's start, out-of-vocabulary


def code_digest(*modules) -> str:
    """sha256 (12 hex digits) of the source of ``modules``: part of every cache key, so that a
    change of the code that computes cached arrays is never answered by an old entry."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:12]


def cache_key(**kw) -> dict:
    """Key of a vectorized entry: what it depends on plus the Keras version and the code."""
    import sys

    return {"keras": keras.__version__,
            "code": code_digest(_vectorize, sys.modules[__name__]), **kw}


# --------------------------------------------------------------------------- batches


class TextBatches(Batches):
    """Batches of (inputs, labels) from an id array or a CSR matrix of bags. Bags are
    densified batch by batch, or with ``sparse`` handed on sparse: a ``tf.SparseTensor`` on
    TensorFlow, the CSR rows on JAX (Keras turns them into a BCOO array)."""

    def __init__(self, x: np.ndarray | sp.csr_matrix, y: np.ndarray, batch_size: int, *,
                 sparse: bool = False, **kw):
        self.x, self.y, self.sparse = x, np.asarray(y), sparse
        super().__init__(len(self.y), batch_size, **kw)

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.x[rows]
        if not sp.issparse(x):
            return x, self.y[rows]
        if not self.sparse:
            return x.toarray(), self.y[rows]
        if keras.backend.backend() != "tensorflow":
            return x, self.y[rows]
        import tensorflow as tf

        coo = x.tocoo()  # CSR rows with sorted columns: already in row-major order
        indices = np.stack([coo.row, coo.col], axis=1).astype(np.int64)
        return tf.SparseTensor(indices, coo.data, coo.shape), self.y[rows]

    def dense_rows(self, n: int) -> np.ndarray:
        """The first ``n`` inputs as a numpy array (a logged model's input example)."""
        x = self.x[:n]
        return x.toarray() if sp.issparse(x) else x


def encoded(splits: Splits, xs: dict, batching: Batching, spec: InputSpec, **kw) -> Encoded:
    """The three parts batched (training shuffled), with the vocabulary size as a param."""
    parts = {part: TextBatches(xs[part], getattr(splits, part)[1], batching.size(part),
                               sparse=spec.sparse,
                               shuffle=part == "train", seed=batching.seed,
                               steps=batching.steps_per_epoch)
             for part in PARTS}
    kw.setdefault("params", {})["vocab_size"] = spec.vocab_size
    return Encoded(**parts, spec=spec, **kw)


def sequence_spec(xs: dict[str, np.ndarray], vocab_size: int) -> InputSpec:
    return InputSpec(shape=(xs["train"].shape[1],), dtype="int32", layout="sequence",
                     vocab_size=vocab_size)


def bag_spec(width: int, sparse: bool = False) -> InputSpec:
    return InputSpec(shape=(width,), dtype="float32", layout="bag", vocab_size=width,
                     sparse=sparse)


def require_text(splits: Splits) -> None:
    if splits.holds not in ("text", "tokens"):
        raise SeqexpError(f"text encoders need text or word ids, not {splits.holds}: use "
                          "dataset=imdb or dataset=raw-imdb, or encoder=numeric")


# --------------------------------------------------------------------------- sparse storage
# A bag matrix is stored in the cache as scipy.sparse.save_npz lays a CSR matrix out
# (data, indices, indptr, shape), one set per part, inside the entry's one .npz.


def csr_arrays(matrix: sp.csr_matrix, prefix: str) -> dict[str, np.ndarray]:
    return {f"{prefix}_data": matrix.data, f"{prefix}_indices": matrix.indices,
            f"{prefix}_indptr": matrix.indptr, f"{prefix}_shape": np.array(matrix.shape)}


def csr_from_arrays(arrays: dict, prefix: str) -> sp.csr_matrix:
    return sp.csr_matrix((arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"],
                          arrays[f"{prefix}_indptr"]),
                         shape=tuple(int(n) for n in arrays[f"{prefix}_shape"]))


# --------------------------------------------------------------------------- vectorizing


@contextlib.contextmanager
def vectorizing(splits: Splits, vectorizer: Vectorizer, what: str) -> Iterator[progress.Stage]:
    """The progress stage of fitting ``vectorizer`` on the training texts (done here) and then
    vectorizing every part (the caller's, telling the stage of each text): a step per text and
    pass; its line says how many texts, and the vocabulary's size."""
    texts = sum(len(getattr(splits, part)[0]) for part in PARTS)
    with progress.stage(f"vectorized texts ({what})", total=texts + len(splits.train[0]),
                        unit="texts") as bar:
        vectorizer.adapt(bar.wrap(splits.train[0]))
        yield bar
        bar.result = f"{texts:,} texts, a vocabulary of {len(vectorizer.vocabulary):,} tokens"


def text_ids(splits: Splits, level: str, every_word: bool = False,
             ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[str]]:
    """Token ids of each part's texts, ragged as ``(flat, lengths)``, and the vocabulary
    (``vocabulary[id]``; 0 is padding, 1 out-of-vocabulary) fitted on the training texts:
    the ``dataset.max_words`` most frequent tokens, or ``every_word`` of them."""
    max_tokens = None if every_word else splits.info.max_words

    def compute() -> dict[str, np.ndarray]:
        vectorizer = Vectorizer(level, max_tokens, "int")
        with vectorizing(splits, vectorizer, f"{level} ids") as bar:
            out = {"vocabulary": np.array(vectorizer.vocabulary, dtype=str)}
            for part in PARTS:
                out[f"{part}_flat"], out[f"{part}_lengths"] = vectorizer.ragged(
                    getattr(splits, part)[0], bar.update)
        return out

    key = cache_key(data=splits.info.cache_key, what="ids", level=level,
                    max_tokens=max_tokens)
    arrays, _ = cached_arrays("text", key, compute)
    ids = {part: (arrays[f"{part}_flat"], arrays[f"{part}_lengths"]) for part in PARTS}
    return ids, arrays["vocabulary"].tolist()


def text_bags(splits: Splits, level: str, ngrams: int, mode: str,
              ) -> tuple[dict[str, sp.csr_matrix], list[str]]:
    """Bags of words (or n-grams, or characters) of each part, TextVectorization's
    ``multi_hot``/``count``/``tf_idf`` (idf from the training texts); column 0 is OOV."""
    max_tokens = splits.info.max_words

    def compute() -> dict[str, np.ndarray]:
        grams = f", {ngrams}-grams" if ngrams > 1 else ""
        vectorizer = Vectorizer(level, max_tokens, mode, ngrams)
        with vectorizing(splits, vectorizer, f"{level} bags, {mode}{grams}") as bar:
            out = {"vocabulary": np.array(vectorizer.vocabulary, dtype=str)}
            for part in PARTS:
                out.update(csr_arrays(vectorizer.bags(getattr(splits, part)[0], bar.update),
                                      part))
        return out

    key = cache_key(data=splits.info.cache_key, what="bags", level=level, ngrams=ngrams,
                    mode=mode, max_tokens=max_tokens)
    arrays, _ = cached_arrays("text", key, compute)
    return ({part: csr_from_arrays(arrays, part) for part in PARTS},
            arrays["vocabulary"].tolist())


def id_bags(ids: dict[str, tuple[np.ndarray, np.ndarray]], width: int, mode: str,
            ) -> dict[str, sp.csr_matrix]:
    """Bags of ids below ``width`` (0, padding, left out), with TextVectorization's
    semantics: multi_hot, count, or tf_idf = count * log(1 + n / (1 + df)) on train."""
    kept = {}
    for part, (flat, lengths) in ids.items():
        rows = np.repeat(np.arange(len(lengths)), lengths)
        keep = flat != 0
        kept[part] = (flat[keep], np.bincount(rows[keep], minlength=len(lengths)))
    idf = None
    if mode == "tf_idf":
        train = bag_matrix(*kept["train"], width, "multi_hot")
        df = np.asarray(train.sum(axis=0), dtype=np.float64).ravel()
        idf = np.log1p(train.shape[0] / (1.0 + df)).astype(np.float32)
    return {part: bag_matrix(flat, lengths, width, mode, idf)
            for part, (flat, lengths) in kept.items()}


def ragged_ids(splits: Splits, level: str, every_word: bool = False,
               ) -> tuple[dict, list[str]]:
    """Unpadded ids of every part and the vocabulary, for text or Keras word ids."""
    if splits.holds == "tokens":
        ids = {}
        for part in PARTS:
            x = getattr(splits, part)[0]
            ids[part] = (x[x != 0], (x != 0).sum(axis=1))
        return ids, list(splits.info.vocabulary)
    return text_ids(splits, level, every_word)


def sequences(splits: Splits, level: str, every_word: bool = False,
              ) -> tuple[dict[str, np.ndarray], list[str]]:
    """int32 ``(n, maxlen)`` ids of every part, padded and truncated at the front (reversed
    first when ``dataset.reverse``), and the vocabulary."""
    if splits.holds == "tokens":  # the loader padded (and reversed) them already
        return ({part: getattr(splits, part)[0] for part in PARTS},
                list(splits.info.vocabulary))
    ids, vocabulary = text_ids(splits, level, every_word)
    maxlen, reverse = splits.info.maxlen, splits.info.reverse
    return {part: pad_ragged(*ids[part], maxlen, reverse) for part in PARTS}, vocabulary
