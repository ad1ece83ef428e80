"""Pretrained GloVe vectors in a frozen Embedding (listings 6.10-6.13): the text file (.txt,
.txt.gz or a .zip of several dimensions) read once per file and vocabulary, and cached."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import keras
import numpy as np
from omegaconf import DictConfig

from seqexp import progress
from seqexp.data import Splits
from seqexp.data.download import cached_arrays, local_or_download, sha256sum
from seqexp.encoders import Batching, Encoded, register
from seqexp.encoders.schemas import GloveConfig
from seqexp.encoders.text import (
    SPECIAL,
    code_digest,
    encoded,
    require_text,
    sequence_spec,
    sequences,
)
from seqexp.errors import SeqexpError

_DIM_IN_NAME = re.compile(r"(\d+)d\.txt$")


@contextmanager
def _glove_text(path: Path, dim: int,
                ) -> Iterator[tuple[io.TextIOBase, str, Callable[[], int], int]]:
    """The text stream of a GloVe file (.txt, .txt.gz, or the member of a .zip whose name
    says ``{dim}d``), the name to show in messages, and how many of how many bytes have been
    read (of the file as stored, or of the zip member unpacked)."""
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
                yield (io.TextIOWrapper(raw, encoding="utf-8"), f"{path.name}:{pick[0]}",
                       raw.tell, archive.getinfo(pick[0]).file_size)
    else:
        with open(path, "rb") as raw:
            binary = gzip.GzipFile(fileobj=raw) if path.suffix == ".gz" else raw
            yield (io.TextIOWrapper(binary, encoding="utf-8"), path.name, raw.tell,
                   path.stat().st_size)


def read_glove(path: Path, dim: int, words: set[str]) -> dict[str, np.ndarray]:
    """The vectors of ``words`` found in a GloVe text file (first occurrence wins). The file's
    dimension must equal ``dim``; a malformed line is an error naming its number."""
    found: dict[str, np.ndarray] = {}
    number = 0
    try:
        with _glove_text(path, dim) as (lines, name, position, size), \
                progress.stage(f"parsed {name}", total=size, unit="B") as bar:
            checked = False
            for number, line in enumerate(lines, 1):
                if number % 4096 == 0:
                    bar.update_to(position())
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
            bar.update_to(size)
            bar.result = f"{number:,} vectors ({len(found):,} of the vocabulary's words)"
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

    key = {"keras": keras.__version__, "code": code_digest(sys.modules[__name__]),
           "glove_sha256": sha256sum(path), "dim": dim,
           "vocabulary": hashlib.sha256("\n".join(vocabulary).encode()).hexdigest()}
    arrays, _ = cached_arrays("glove", key, compute)
    return arrays["matrix"], arrays["found"]


@register(GloveConfig)
def glove(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    """Pretrained GloVe vectors in a frozen Embedding (listings 6.10-6.13)."""
    require_text(splits)
    xs, vocabulary = sequences(splits, "word")
    path = local_or_download(cfg.path, cfg.url, "encoder.path")
    matrix, found = glove_matrix(path, vocabulary, cfg.dim)
    words = np.array([w not in SPECIAL for w in vocabulary])
    coverage = float(found[words].mean()) if words.any() else 0.0
    layer = keras.layers.Embedding(len(vocabulary), cfg.dim, weights=matrix,
                                   trainable=cfg.trainable, mask_zero=cfg.mask_zero,
                                   name="glove")
    return encoded(splits, xs, batching, sequence_spec(xs, len(vocabulary)), layers=[layer],
                   vocabulary=vocabulary,
                    metrics={"glove_coverage": coverage, "glove_words": float(found.sum())},
                    params={"glove_file": path.name})
