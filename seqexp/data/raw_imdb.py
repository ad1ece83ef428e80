"""The Large Movie Review Dataset as raw text (``aclImdb``), book 6.1.3 (listings 6.8-6.9).

Reads the ``aclImdb`` folder or its ``.tar.gz`` as a stream, never unpacking it: reviews are
``{train,test}/{neg,pos}/*.txt`` (label 0 for neg, 1 for pos; ``unsup`` and the other files
are ignored). Only regular members named like reviews are read, into memory; nothing is
written from the archive, so its other members (links, devices, odd paths) do no harm. The
50,000 labelled reviews are cached once per file (keyed by its sha256), so later jobs skip
the ~5 s read.

Split as in the book: validation reviews are drawn from train with the seed, training reviews
are the first ``train_samples`` of the rest of that draw (``null``: all the rest), test is the
official test half. The validation draw does not depend on ``train_samples``, so runs with
different training sizes are scored on the same reviews.
"""

from __future__ import annotations

import gzip
import re
import tarfile
import zlib
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from seqexp import progress
from seqexp.data import DataInfo, Splits, register, task_of
from seqexp.data.download import cached_arrays, local_or_download, sha256sum
from seqexp.data.schemas import RawImdbConfig
from seqexp.errors import SeqexpError

REVIEW = re.compile(r"(?:^|/)(train|test)/(neg|pos)/([^/]+\.txt)$")
LABELS = {"neg": 0, "pos": 1}
FOLDERS = ("train", "test")  # aclImdb's own split folders (val is drawn from train)
CACHE_VERSION = 1


def _sorted_reviews(found: dict) -> dict[str, tuple[list[str], np.ndarray]]:
    out = {}
    for part in FOLDERS:
        texts, labels = [], []
        for label in ("neg", "pos"):
            for _, text in sorted(found[part, label]):
                texts.append(text)
                labels.append(LABELS[label])
        out[part] = (texts, np.asarray(labels, dtype=np.int32))
    return out


def _from_tar(source: Path) -> dict:
    found = {(part, label): [] for part in FOLDERS for label in LABELS}
    try:
        with open(source, "rb") as raw, progress.stage(
                f"read {source.name}", total=source.stat().st_size, unit="B") as bar:
            gz = gzip.GzipFile(fileobj=raw) if raw.read(2) == b"\x1f\x8b" else None
            raw.seek(0)
            with tarfile.open(fileobj=gz or raw, mode="r|") as archive:
                for member in archive:
                    match = REVIEW.search(member.name)
                    if match and member.isfile():
                        data = archive.extractfile(member).read()
                        found[match[1], match[2]].append(
                            (match[3], data.decode("utf-8", errors="replace")))
                    bar.update_to(raw.tell())  # of the file as stored (compressed)
            bar.result = f"{sum(map(len, found.values())):,} reviews"
            # tarfile takes a stream cut short at a block boundary for the archive's end;
            # the gzip layer does not: reading it to its end raises EOFError if truncated
            while gz is not None and gz.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise SeqexpError(f"archive {source} is corrupt or truncated ({err.__class__.__name__}: "
                          f"{str(err)[:80]}): download it again (delete the cached copy) or pass "
                          "dataset.path=<unpacked aclImdb folder>") from None
    return found


def _from_folder(source: Path) -> dict:
    root = source if (source / "train").is_dir() else source / "aclImdb"
    listed = {(part, label): sorted((root / part / label).glob("*.txt"))
              if (root / part / label).is_dir() else []
              for part in FOLDERS for label in LABELS}
    with progress.stage(f"read {source.name}", total=sum(map(len, listed.values())),
                        unit="reviews") as bar:
        return {where: [(f.name, f.read_text(encoding="utf-8", errors="replace"))
                        for f in bar.wrap(files)]
                for where, files in listed.items()}


def read_reviews(source: Path) -> dict[str, tuple[list[str], np.ndarray]]:
    """``{"train": (texts, labels), "test": ...}`` from an aclImdb folder or archive, each
    part ordered neg then pos, by file name."""
    if source.is_dir():
        found = _from_folder(source)
    elif source.name.endswith((".tar.gz", ".tgz", ".tar")) or tarfile.is_tarfile(source):
        found = _from_tar(source)
    else:
        raise SeqexpError(f"dataset.path={source} is neither an aclImdb folder nor a .tar.gz: "
                          "pass the aclImdb folder or aclImdb_v1.tar.gz")
    for (part, label), reviews in found.items():
        if not reviews:
            raise SeqexpError(f"no reviews in {part}/{label} of {source}: dataset.path must be "
                              "the aclImdb folder (or its .tar.gz) with train/ and test/, each "
                              "holding pos/ and neg/ .txt reviews")
    return _sorted_reviews(found)


def pack_texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 byte array and the ``n + 1`` offsets between them (no pickles)."""
    encoded = [t.encode("utf-8") for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def unpack_texts(data: np.ndarray, offsets: np.ndarray) -> list[str]:
    blob = data.tobytes()
    return [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]


def packed(source: Path) -> dict[str, np.ndarray]:
    out = {}
    for part, (texts, labels) in read_reviews(source).items():
        out[f"{part}_text"], out[f"{part}_offsets"] = pack_texts(texts)
        out[f"{part}_y"] = labels
    return out


def draw(n: int, train_samples: int | None, val_samples: int, seed: int,
         ) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation reviews among ``n`` (see the module doc)."""
    train_n = n - val_samples if train_samples is None else train_samples
    if train_n < 1 or train_n + val_samples > n:
        raise SeqexpError(f"dataset.train_samples={train_samples} and dataset.val_samples="
                          f"{val_samples} need more than the {n} training reviews: lower them "
                          "(train_samples=null takes every review not drawn for validation)")
    order = np.random.default_rng(seed).permutation(n)
    return order[:train_n], order[n - val_samples:]


@register(RawImdbConfig)
def load_raw_imdb(cfg: DictConfig) -> Splits:
    source = local_or_download(cfg.path, cfg.url, "dataset.path", cfg.sha256)
    digest = sha256sum(source)
    arrays, hit = cached_arrays("raw-imdb", {"v": CACHE_VERSION, "sha256": digest},
                                lambda: packed(source))
    texts = {part: unpack_texts(arrays[f"{part}_text"], arrays[f"{part}_offsets"])
             for part in FOLDERS}
    train_idx, val_idx = draw(len(texts["train"]), cfg.train_samples, cfg.val_samples, cfg.seed)
    y = arrays["train_y"]
    parts = {
        "train": ([texts["train"][i] for i in train_idx], y[train_idx]),
        "val": ([texts["train"][i] for i in val_idx], y[val_idx]),
        "test": (texts["test"], arrays["test_y"]),
    }
    info = DataInfo(
        source=str(source), sha256=digest, maxlen=cfg.maxlen, max_words=cfg.max_words,
        reverse=cfg.reverse, cache_hit=hit,
        cache_key={"v": CACHE_VERSION, "loader": "raw-imdb", "sha256": digest,
                   "train_samples": len(train_idx), "val_samples": len(val_idx),
                   "seed": cfg.seed},
    )
    return Splits(holds="text", task=task_of(cfg), **parts, info=info)
