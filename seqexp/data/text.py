"""A text corpus for character-level generation (``dataset=text``; DLwP 1st ed. 8.1).

The corpus is one UTF-8 ``.txt`` file (or ``.txt.gz``), every ``.txt`` file of a folder in
name order (joined by a blank line), or the reviews of an aclImdb tree
(``dataset.source=raw-imdb``: the training reviews in a seeded order, ``<br />`` as line breaks,
one review per line). Default: the bundled GENERATED corpus ``text_sample.txt.gz``
(``scripts/make_text_corpus.py``).

Samples are windows of ``maxlen`` characters starting every ``step`` characters, the target
the character right after the window, as the book's

    for i in range(0, len(text) - maxlen, step):
        sentences.append(text[i: i + maxlen]); next_chars.append(text[i + maxlen])

The corpus is cut by position: train is its first part, then validation, then test
(``val_fraction``, ``test_fraction``); each split's windows and targets lie inside it, so no
window crosses a split. The alphabet is fitted on the training text: its characters seen at
least ``min_char_count`` times, sorted; id 0 stands for any other character.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from seqexp import progress
from seqexp.data import DataInfo, Splits, register, task_of
from seqexp.data.schemas import TextConfig
from seqexp.errors import SeqexpError

UNKNOWN = ""  # alphabet[0]: any character outside the alphabet
CHUNK = 1 << 21  # characters turned into ids at once


@dataclasses.dataclass
class CharWindows:
    """The windows of one split over the whole corpus's character ids."""

    ids: np.ndarray  # (corpus length,) int32, shared by every split
    starts: np.ndarray  # (samples,) int64: first character of each window
    maxlen: int

    def __len__(self) -> int:
        return len(self.starts)

    def inputs(self, starts: np.ndarray | None = None) -> np.ndarray:
        starts = self.starts if starts is None else starts
        return self.ids[starts[:, None] + np.arange(self.maxlen)]

    def targets(self, starts: np.ndarray | None = None) -> np.ndarray:
        starts = self.starts if starts is None else starts
        return self.ids[starts + self.maxlen]

    def batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        starts = self.starts[rows]
        return self.inputs(starts), self.targets(starts)

    @property
    def span(self) -> tuple[int, int]:
        """``[first, stop)`` of the corpus this split's windows and targets cover."""
        if not len(self):
            return 0, 0
        return int(self.starts[0]), int(self.starts[-1]) + self.maxlen + 1


def windows_between(ids: np.ndarray, first: int, stop: int, maxlen: int, step: int,
                    ) -> CharWindows:
    """Windows starting at ``first, first + step, ...`` whose target lies before ``stop``."""
    starts = np.arange(first, max(first, stop - maxlen), step, dtype=np.int64)
    return CharWindows(ids, starts, maxlen)


def decode(data: bytes, name: str) -> str:
    """UTF-8 text of a file's bytes (gzip unpacked); binary or other encodings refused."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as err:
            raise SeqexpError(f"{name} is a corrupt .gz ({err}): give a UTF-8 .txt file or "
                              "folder as dataset.path") from None
    if b"\x00" in data[:1 << 20]:
        raise SeqexpError(f"{name} is a binary file, not text: give a UTF-8 .txt file or a "
                          "folder of them as dataset.path")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SeqexpError(f"{name} is not UTF-8 text (byte {err.start}: {err.reason}): "
                          "convert it (iconv -t utf-8) or give another file as "
                          "dataset.path") from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def read_files(path: Path) -> str:
    """The text of a file, or of every ``.txt``/``.txt.gz`` file under a folder."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and p.name.endswith((".txt", ".txt.gz")))
        if not files:
            raise SeqexpError(f"dataset.path={path} holds no .txt file: give a UTF-8 .txt file "
                              "or a folder of them")
        return "\n\n".join(decode(f.read_bytes(), str(f)) for f in files)
    return decode(path.read_bytes(), str(path))


def read_reviews(path: Path, seed: int) -> str:
    """The aclImdb training reviews, one per line in a seeded order, ``<br />`` as breaks."""
    from seqexp.data import raw_imdb
    from seqexp.data.download import cached_arrays, sha256sum

    key = {"v": raw_imdb.CACHE_VERSION, "sha256": sha256sum(path)}
    arrays, _ = cached_arrays("raw-imdb", key, lambda: raw_imdb.packed(path))
    texts = raw_imdb.unpack_texts(arrays["train_text"], arrays["train_offsets"])
    order = np.random.default_rng(seed).permutation(len(texts))
    return "\n".join(texts[i].replace("<br />", "\n") for i in order)


def alphabet_of(text: str, min_count: int, limit: int) -> list[str]:
    """``[UNKNOWN, c1, c2, ...]``: the text's characters seen ``min_count`` times, sorted."""
    chars, counts = np.unique(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32),
                              return_counts=True)
    kept = [chr(c) for c, n in zip(chars, counts) if n >= min_count]
    if not kept:
        raise SeqexpError(f"no character is seen {min_count} times in the training text: "
                          "lower dataset.min_char_count or use a longer text")
    if len(kept) > limit:
        raise SeqexpError(f"the training text has {len(kept)} distinct characters, more than "
                          f"dataset.max_alphabet={limit}: raise dataset.max_alphabet, or "
                          "dataset.min_char_count to map rare characters to one unknown id, "
                          "or dataset.lower=true")
    return [UNKNOWN, *kept]


def char_ids(text: str, alphabet: list[str], done: Callable[[int], None] | None = None,
             ) -> np.ndarray:
    """int32 id of every character (0 outside the alphabet), vectorized on code points, a
    chunk of characters at a time (``done(n)`` is told of each: a progress bar)."""
    known = np.array([ord(c) for c in alphabet[1:]], dtype=np.uint32)  # sorted
    out = np.empty(len(text), dtype=np.int32)
    for lo in range(0, len(text), CHUNK):
        points = np.frombuffer(text[lo:lo + CHUNK].encode("utf-32-le"), dtype=np.uint32)
        at = np.searchsorted(known, points)
        hit = at < len(known)
        hit[hit] = known[at[hit]] == points[hit]
        out[lo:lo + len(points)] = np.where(hit, at + 1, 0)
        if done is not None:
            done(len(points))
    return out


@register(TextConfig)
def load_text(cfg: DictConfig) -> Splits:
    if cfg.path is None:
        raise SeqexpError("dataset.path is not set: give a UTF-8 .txt file or folder (or an "
                          "aclImdb folder/.tar.gz with dataset.source=raw-imdb)")
    path = Path(cfg.path).expanduser()
    if not path.exists():
        raise SeqexpError(f"dataset.path={cfg.path} does not exist: give a UTF-8 .txt file or "
                          "a folder of them")
    text = read_reviews(path, cfg.seed) if cfg.source == "raw-imdb" else read_files(path)
    if cfg.lower:
        text = text.lower()
    if cfg.corpus_chars is not None:
        text = text[:cfg.corpus_chars]
    if not text.strip():
        raise SeqexpError(f"dataset.path={cfg.path} holds no text: give a non-empty UTF-8 file")
    n = len(text)
    val_start = int(round(n * (1.0 - cfg.val_fraction - cfg.test_fraction)))
    test_start = int(round(n * (1.0 - cfg.test_fraction)))
    with progress.stage(f"built the character corpus of {path.name}", total=n,
                        unit="characters") as bar:
        alphabet = alphabet_of(text[:val_start], cfg.min_char_count, cfg.max_alphabet)
        ids = char_ids(text, alphabet, bar.update)
        bar.result = f"{n:,} characters, an alphabet of {len(alphabet) - 1}"
    parts = {
        "train": windows_between(ids, 0, val_start, cfg.maxlen, cfg.step),
        "val": windows_between(ids, val_start, test_start, cfg.maxlen, cfg.step),
        "test": windows_between(ids, test_start, n, cfg.maxlen, cfg.step),
    }
    for part in ("train", "val") + (("test",) if cfg.test_fraction > 0 else ()):
        if not len(parts[part]):
            raise SeqexpError(
                f"the corpus ({n:,} characters) is too short for one {part} window of "
                f"dataset.maxlen={cfg.maxlen} + 1 characters: use a longer text, a smaller "
                "maxlen, or a larger dataset.val_fraction/test_fraction")
    info = DataInfo(
        source=str(path), sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        alphabet=alphabet, maxlen=cfg.maxlen, characters=n, split_at=[val_start, test_start],
        train_text=text[:val_start], val_text=text[val_start:test_start],
        baseline_order=cfg.baseline_order,
    )
    task = task_of(cfg).with_outputs(len(alphabet))
    return Splits(holds="chars", task=task, **parts, info=info)
