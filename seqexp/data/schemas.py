"""Schemas of the dataset options (``dataset=jena``, ``imdb``, ``raw-imdb``, ``text``): what a
user can set, with help and bounds. Their loaders (``jena.py``, ``imdb.py``, ``raw_imdb.py``) need
NumPy and Keras, so the schemas live here, where ``seqexp --help`` can read them cheaply.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from seqexp.config.registry import option
from seqexp.data import DatasetConfig


class Clean(enum.StrEnum):
    """What the Jena loader does with data faults (see :func:`seqexp.data.jena.clean_record`)."""

    fill = "fill"  # glitches and empty cells filled, duplicate times dropped, rows sorted
    none = "none"  # the book's raw values; an empty cell is an error


@dataclass
class JenaConfig(DatasetConfig):
    """The Jena climate record 2009-2016 (Max Planck Institute for Biogeochemistry), as used in
    Deep Learning with Python, 6.3. Downloaded from the Keras datasets address and cached, or
    read from dataset.path (the .csv or the .zip)."""

    holds: ClassVar[str] = "numbers"
    task: ClassVar[str] = "regression"
    files: ClassVar[dict[str, tuple[str, ...]]] = {"path": ("csv", "zip")}
    name: str = "jena"
    loader: str = "jena"
    url: str = (
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
        "jena_climate_2009_2016.csv.zip"
    )
    features: list[str] | None = option(None, "input columns; null = every numeric column")
    target: str = option("T (degC)", "column to forecast")
    # Split bounds are [start, stop) like a Python slice: a split holds the windows whose
    # first input row is >= start and whose end row i is < stop (the book's generator's
    # min_index/max_index); the target, delay rows after i, may lie past stop.
    train: list[int | None] = option([0, 200000], "training rows [start, stop) (stop excluded)")
    val: list[int | None] = option([200001, 300000], "validation rows [start, stop)")
    test: list[int | None] = option([300001, None], "test rows [start, stop); stop null: the end")
    lookback: int = option(1440, "rows of history per sample", min=1)
    step: int = option(6, "sampling period within the lookback, in rows", min=1)
    delay: int = option(144, "rows ahead of the window's end to forecast", min=0)
    stride: int = option(1, "rows between the ends of consecutive windows (book: 1)", min=1)
    shuffle: bool = option(True, "training windows in a seeded random order each epoch; "
                                 "false: in order, continuing across epochs (listing 6.33)")
    clean: Clean = option(Clean.fill, "fill: -9999 glitches and empty cells filled by time "
                                      "interpolation, duplicate timestamps dropped, rows "
                                      "sorted by time, counts logged; none: the book's raw "
                                      "values (an empty cell is an error)")


@dataclass
class ImdbConfig(DatasetConfig):
    """Keras's preprocessed IMDB reviews (imdb.npz + imdb_word_index.json), as used in Deep
    Learning with Python, 6.1 (listing 6.6 uses maxlen 20, 6.22/6.45 maxlen 500). Downloaded
    from the Keras datasets address (sha256-checked) and cached, or read from dataset.path /
    dataset.word_index_path. Ids follow keras.datasets.imdb.load_data: 0 pad, 1 start, 2
    out-of-vocabulary (rank >= num_words), words offset by 3; reviews padded and truncated at
    the front (pad_sequences); validation = the last val_split of the shuffled train."""

    holds: ClassVar[str] = "tokens"
    task: ClassVar[str] = "binary"
    files: ClassVar[dict[str, tuple[str, ...]]] = {"path": ("npz",), "word_index_path": ("json",)}
    name: str = "imdb"
    loader: str = "imdb"
    path: str | None = option(None, "local imdb.npz (Keras layout); null downloads and caches")
    url: str = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
    sha256: str | None = option(
        "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
        "expected sha256 of the downloaded imdb.npz (Keras's; null: not checked)",
    )
    word_index_path: str | None = option(None, "local imdb_word_index.json; null downloads")
    word_index_url: str = (
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
    )
    word_index_sha256: str | None = option(
        "027313fe9a320280f3bf0fac5baf58c4a683cf39a7ed9c3d3d3912bde4284cf6",
        "expected sha256 of the downloaded word index (null: not checked)",
    )
    num_words: int = option(10000, "keep the most frequent words (Keras num_words)", min=4)
    maxlen: int = option(500, "pad/truncate reviews to this many tokens (pad_sequences)", min=1)
    val_split: float = option(0.2, "fraction of train held out for validation",
                              min=0.01, max=0.9)
    seed: int = option(113, "seed of Keras's shuffle of train and test (load_data's default)")
    reverse: bool = option(False, "feed sequences reversed (listing 6.42)")
    default_encoder: str = "embedding"


@dataclass
class RawImdbConfig(DatasetConfig):
    """The Large Movie Review Dataset (aclImdb) as raw text, Deep Learning with Python 6.1.3
    (listings 6.8-6.9): 200 training reviews, 10,000 validation reviews drawn from train with
    the seed, test = the official 25,000 test reviews, maxlen 100, vocabulary of the 10,000
    most frequent words fitted on the training texts only. dataset.path: the aclImdb folder or
    its .tar.gz (read as a stream, never unpacked); null downloads aclImdb_v1.tar.gz and caches
    it. train_samples=null trains on every review not drawn for validation."""

    holds: ClassVar[str] = "text"
    task: ClassVar[str] = "binary"
    files: ClassVar[dict[str, tuple[str, ...]]] = {"path": ("folder", "tar.gz", "tar")}
    name: str = "raw-imdb"
    loader: str = "raw-imdb"
    path: str | None = option(None, "aclImdb folder or its .tar.gz; null downloads and caches")
    url: str = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    maxlen: int = option(100, "pad/truncate reviews to this many tokens (pad_sequences)", min=1)
    max_words: int = option(10000, "vocabulary size, fitted on training texts only", min=3)
    train_samples: int | None = option(
        200, "training reviews drawn (null: every review not drawn for validation)", min=1
    )
    val_samples: int = option(10000, "validation reviews drawn from train", min=1)
    seed: int = option(1337, "seed of the draw")
    reverse: bool = option(False, "feed sequences reversed (listing 6.42)")
    default_encoder: str = "embedding"


# OmegaConf matches an enum by member name: "raw-imdb" needs the functional form.
TextSource = enum.StrEnum("TextSource", {"files": "files", "raw-imdb": "raw-imdb"})


@dataclass
class TextConfig(DatasetConfig):
    """A text corpus for character-level generation (Deep Learning with Python, 1st ed., 8.1):
    windows of maxlen characters every step characters, the next character as target, split
    by position (train, then validation, then test: no window crosses a split); the alphabet
    is fitted on the training text. Scored in bits per character against a Kneser-Ney
    character n-gram of order baseline_order fitted on the training text. Default corpus:
    text_sample.txt.gz, bundled and GENERATED (English-like prose from a seeded grammar,
    scripts/make_text_corpus.py; 401,192 characters). dataset.path: any UTF-8 .txt/.txt.gz file
    or folder of them; source=raw-imdb with path=<aclImdb folder or .tar.gz>: the IMDB
    training reviews as the corpus."""

    holds: ClassVar[str] = "chars"
    task: ClassVar[str] = "next-char"
    files: ClassVar[dict[str, tuple[str, ...]]] = {"path": ("txt", "txt.gz", "folder")}
    name: str = "text"
    loader: str = "text"
    path: str | None = option("${seqexp.bundled:text_sample.txt.gz}",
                              "UTF-8 .txt(.gz) file or folder of them; source=raw-imdb: an "
                              "aclImdb folder or .tar.gz")
    url: str = ""
    source: TextSource = option(TextSource["files"], "files: the .txt file(s) at path; raw-imdb: "
                                                  "the training reviews of the aclImdb at path")
    lower: bool = option(True, "lower-case the corpus (listing 8.2 does)")
    corpus_chars: int | None = option(None, "use only the first N characters (null: all)",
                                      min=1)
    maxlen: int = option(60, "characters per window (listing 8.3: 60)", min=1)
    step: int = option(3, "a window starts every step characters (listing 8.3: 3)", min=1)
    val_fraction: float = option(0.1, "the corpus's last part held out for validation",
                                 min=0.001, max=0.9)
    test_fraction: float = option(0.0, "the part after validation held out for test",
                                  min=0.0, max=0.5)
    min_char_count: int = option(1, "rarer training characters share the unknown id 0", min=1)
    max_alphabet: int = option(300, "refuse a corpus with more distinct characters", min=2,
                               max=1000)
    baseline_order: int = option(2, "order of the Kneser-Ney character n-gram baseline",
                                 min=1, max=6)
    seed: int = option(1337, "seed of the review order (source=raw-imdb)")
    default_encoder: str = "embedding"

    def input_formats(self) -> dict[str, tuple[str, ...]]:
        return RawImdbConfig.files if self.source == "raw-imdb" else self.files
