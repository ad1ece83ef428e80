"""IMDB as Keras preprocessed it (``imdb.npz`` + ``imdb_word_index.json``), book 6.1-6.4.

The split follows ``keras.datasets.imdb.load_data``: train and test are shuffled with one
``RandomState(seed)`` (seed 113), each review becomes ``[1] + [rank + 3 ...]`` with ranks
``>= num_words`` replaced by 2 (0 pad, 1 start, 2 OOV, words offset by 3), and
``validation_split``'s convention holds out the last ``val_split`` of train. Reviews are padded
and truncated with ``pad_sequences`` semantics (at the front), reversed first if asked
(listing 6.42).

Also home of the front padding of ragged id sequences (:func:`pad_ragged`) that both IMDB
loaders and the text encoders share; their on-disk array cache is
:func:`seqexp.data.download.cached_arrays`.
"""

from __future__ import annotations

import io
import json
import logging
import math
import pickle
import zipfile
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from seqexp.data import DataInfo, Splits, register, task_of
from seqexp.data.download import cached_arrays, local_or_download, sha256sum
from seqexp.data.schemas import ImdbConfig
from seqexp.errors import SeqexpError

log = logging.getLogger(__name__)

KERAS_NPZ_SHA256 = ImdbConfig.sha256  # the schema's default: Keras's own file
PAD, START, OOV, INDEX_FROM = 0, 1, 2, 3
SPECIAL_TOKENS = ("", "[START]", "[UNK]")  # ids 0, 1, 2
NPZ_ARRAYS = ("x_train", "y_train", "x_test", "y_test")
CACHE_VERSION = 1


# --------------------------------------------------------------------------- shared helpers


def pad_ragged(flat: np.ndarray, lengths: np.ndarray, maxlen: int, reverse: bool = False,
               ) -> np.ndarray:
    """Rows ``flat`` split by ``lengths``, as ``keras.utils.pad_sequences(rows, maxlen)`` pads
    them: zeros in front, long rows keep their last ``maxlen`` ids. ``reverse`` reverses each
    row first (listing 6.42: ``x[::-1]`` then ``pad_sequences``). Returns int32 ``(n, maxlen)``.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    out = np.zeros((len(lengths), maxlen), dtype=np.int32)
    if len(flat) == 0:
        return out
    cols = np.arange(maxlen, dtype=np.int64)
    for lo in range(0, len(lengths), 4096):  # bounded memory for long maxlen
        s, e = starts[lo:lo + 4096, None], ends[lo:lo + 4096, None]
        keep = np.minimum(e - s, maxlen)  # ids kept per row, right-aligned
        offset = cols - (maxlen - keep)  # position within the kept ids; < 0 is padding
        valid = offset >= 0
        # forward: the kept ids are the row's last `keep`; reversed: the reversed row's last
        # `keep`, i.e. the original row's first `keep` read backwards.
        src = (e - keep + offset) if not reverse else (s + keep - 1 - offset)
        out[lo:lo + 4096] = np.where(valid, flat[np.clip(src, 0, max(len(flat) - 1, 0))], 0)
    return out


# --------------------------------------------------------------------------- the npz


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays of Python lists and nothing else (the IMDB npz's object arrays
    need exactly these globals; anything else, e.g. ``os.system``, is refused)."""

    ALLOWED = frozenset({("numpy", "ndarray"), ("numpy", "dtype"),
                         ("numpy.core.multiarray", "_reconstruct"),
                         ("numpy._core.multiarray", "_reconstruct")})

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def _read_member(raw: bytes) -> np.ndarray:
    fp = io.BytesIO(raw)
    try:
        return np.lib.format.read_array(fp, allow_pickle=False)
    except ValueError:  # an object array: a pickle stream after the header
        fp.seek(0)
        version = np.lib.format.read_magic(fp)
        if version[0] == 1:
            np.lib.format.read_array_header_1_0(fp)
        else:  # 2.0 and 3.0 share the header layout
            np.lib.format.read_array_header_2_0(fp)
        return _ArrayUnpickler(fp).load()


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` without ever running code from it (object arrays are
    rebuilt by an unpickler that only knows numpy arrays)."""
    fix = ("pass the imdb.npz that keras.datasets.imdb downloads "
           f"(sha256 {KERAS_NPZ_SHA256[:12]}...), or dataset.path=null to download it")
    try:
        arrays = {}
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(".npy"):
                    arrays[member[:-4]] = _read_member(archive.read(member))
    except pickle.UnpicklingError as err:
        raise SeqexpError(f"{path} holds pickled objects that are not arrays ({err}): "
                          f"refusing to load it; {fix}") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, pickle.PickleError) as err:
        raise SeqexpError(f"{path} is not a readable .npz ({err.__class__.__name__}: "
                          f"{str(err)[:80]}); {fix}") from None
    missing = [name for name in NPZ_ARRAYS if name not in arrays]
    if missing:
        raise SeqexpError(f"{path} lacks the arrays {', '.join(missing)} (it has "
                          f"{', '.join(sorted(arrays)) or 'none'}); {fix}")
    return arrays


def _ragged_ids(reviews: np.ndarray, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated word ranks and the length of each review."""
    try:
        rows = [np.asarray(r, dtype=np.int64).reshape(-1) for r in reviews]
    except (TypeError, ValueError) as err:
        raise SeqexpError(f"{path}: reviews must be lists of integer word ranks ({err}); pass "
                          "the imdb.npz that keras.datasets.imdb downloads") from None
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    flat = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    return flat, lengths


def _to_keras_ids(flat: np.ndarray, lengths: np.ndarray, num_words: int,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """load_data's ids: a start token 1 before each review, ranks + 3, ids >= num_words -> 2."""
    ids = flat + INDEX_FROM
    ids[ids >= num_words] = OOV
    starts = np.cumsum(lengths) - lengths
    return np.insert(ids, starts, START), lengths + 1


def _prepare(path: Path, cfg: DictConfig) -> dict[str, np.ndarray]:
    raw = read_npz(path)
    x_train, y_train, x_test, y_test = (raw[name] for name in NPZ_ARRAYS)
    for x, y, part in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(x) != len(y) or len(x) == 0:
            raise SeqexpError(f"{path}: x_{part} has {len(x)} reviews but y_{part} has {len(y)} "
                              "labels; pass the imdb.npz that keras.datasets.imdb downloads")
    rng = np.random.RandomState(cfg.seed)  # exactly keras.datasets.imdb.load_data's shuffle
    order = np.arange(len(x_train))
    rng.shuffle(order)
    x_train, y_train = x_train[order], y_train[order]
    order = np.arange(len(x_test))
    rng.shuffle(order)
    x_test, y_test = x_test[order], y_test[order]

    split_at = math.floor(len(x_train) * (1.0 - cfg.val_split))  # Keras validation_split
    if split_at >= len(x_train):
        raise SeqexpError(f"dataset.val_split={cfg.val_split} leaves no validation review out "
                          f"of {len(x_train)}: raise dataset.val_split")
    out = {}
    parts = {"train": (x_train[:split_at], y_train[:split_at]),
             "val": (x_train[split_at:], y_train[split_at:]), "test": (x_test, y_test)}
    for part, (x, y) in parts.items():
        flat, lengths = _to_keras_ids(*_ragged_ids(x, path), cfg.num_words)
        out[f"x_{part}"] = pad_ragged(flat, lengths, cfg.maxlen, cfg.reverse)
        out[f"y_{part}"] = np.asarray(y, dtype=np.int32)
    return out


def vocabulary(word_index_path: Path, num_words: int) -> list[str]:
    """Token of each id below ``num_words``: ``""`` (pad), ``[START]``, ``[UNK]``, then the word
    whose rank is ``id - 3`` (``""`` where no word has that rank)."""
    try:
        with open(word_index_path, encoding="utf-8") as fh:
            index = json.load(fh)
        words = [""] * num_words
        for word, rank in index.items():
            if 0 <= rank + INDEX_FROM < num_words:
                words[rank + INDEX_FROM] = word
    except (OSError, ValueError, TypeError, AttributeError) as err:
        raise SeqexpError(f"{word_index_path} is not a word index ({err.__class__.__name__}): "
                          "pass the imdb_word_index.json of keras.datasets.imdb, or "
                          "dataset.word_index_path=null to download it") from None
    words[:INDEX_FROM] = SPECIAL_TOKENS
    return words


@register(ImdbConfig)
def load_imdb(cfg: DictConfig) -> Splits:
    path = local_or_download(cfg.path, cfg.url, "dataset.path", cfg.sha256)
    index_path = local_or_download(cfg.word_index_path, cfg.word_index_url,
                                   "dataset.word_index_path", cfg.word_index_sha256)
    digest = sha256sum(path)
    key = {"v": CACHE_VERSION, "loader": "imdb", "sha256": digest, "num_words": cfg.num_words,
           "maxlen": cfg.maxlen, "val_split": cfg.val_split, "seed": cfg.seed,
           "reverse": cfg.reverse}
    arrays, hit = cached_arrays("imdb", key, lambda: _prepare(path, cfg))
    words = vocabulary(index_path, cfg.num_words)
    parts = {part: (arrays[f"x_{part}"], arrays[f"y_{part}"]) for part in ("train", "val", "test")}
    info = DataInfo(source=str(path), sha256=digest, maxlen=cfg.maxlen, reverse=cfg.reverse,
                    vocabulary=words, cache_hit=hit,
                    cache_key={**key, "word_index_sha256": sha256sum(index_path)})
    return Splits(holds="tokens", task=task_of(cfg), **parts, info=info)
