"""Datasets: load and cache raw data, split it the book's way, hand back :class:`Splits`.

Each dataset family has a schema in :mod:`seqexp.data.schemas` (a :class:`DatasetConfig`
whose ``name`` is the option, ``dataset=jena``) and a loader registered against it with
:func:`register` in its own module; :func:`load` picks the loader by ``dataset.loader``.
A loader reads only its own ``dataset`` config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from omegaconf import MISSING, DictConfig

from seqexp.config.registry import Registry, option


@dataclass(frozen=True)
class Task:
    """What is learned and how it is scored; crosses from dataset to model and evaluation."""

    name: str  # "regression" | "binary" | "next-char"
    loss: str
    metric: str  # short name used in logged metric names: mae, acc
    keras_metric: str  # name Keras logs the metric under
    output_activation: str | None
    mode: str  # "min" or "max": which way the metric improves
    outputs: int = 1  # units of the output layer (next-char: the alphabet's size)

    @property
    def history(self) -> str:
        """The per-epoch validation metric Keras logs (``val_mae``, ``val_accuracy``)."""
        return f"val_{self.keras_metric}"

    def best(self, values):
        """The best finite value (None if there is none)."""
        finite = [v for v in values if v == v and abs(v) != float("inf")]
        if not finite:
            return None
        return min(finite) if self.mode == "min" else max(finite)


REGRESSION = Task("regression", loss="mae", metric="mae", keras_metric="mae",
                  output_activation=None, mode="min")
BINARY = Task("binary", loss="binary_crossentropy", metric="acc", keras_metric="accuracy",
              output_activation="sigmoid", mode="max")
# Next character over an alphabet: softmax, cross-entropy; scored in bits per character
# (keras_metric "bpc" is seqexp.training.train.bpc, the cross-entropy / ln 2). ``outputs`` is set by
# the loader to its alphabet's size.
NEXT_CHAR = Task("next-char", loss="sparse_categorical_crossentropy", metric="bpc",
                 keras_metric="bpc", output_activation="softmax", mode="min")
TASKS = {task.name: task for task in (REGRESSION, BINARY, NEXT_CHAR)}


@dataclass
class DataInfo:
    """What a loader tells downstream about its data, besides the parts themselves."""

    source: str  # the file or folder read (tag data.source)
    sha256: str | None = None  # its digest (tag data.sha256)
    cache_key: dict[str, Any] | None = None  # identifies the parts in the encoders' caches
    cache_hit: bool = False  # the parts came from the loader's own cache
    scale: float = 1.0  # numbers: the target's standard deviation (MAE in its own unit)
    unit: str | None = None  # numbers: the target's unit, e.g. degC
    rows: int | None = None  # numbers: rows in the record
    features: list[str] | None = None  # numbers: the input columns
    cleaned: dict[str, int] | None = None  # numbers: data.cleaned.<kind>[.<column>] counts
    vocabulary: list[str] | None = None  # tokens: the word of each id
    max_words: int | None = None  # text: the vocabulary size to fit on the training texts
    maxlen: int | None = None  # tokens and text: sequence length after padding
    reverse: bool = False  # tokens and text: sequences fed reversed
    alphabet: list[str] | None = None  # chars: the character of each id ("" = any other)
    characters: int | None = None  # chars: length of the corpus
    split_at: list[int] | None = None  # chars: where val and test start in the corpus
    train_text: str | None = None  # chars: the training text
    val_text: str | None = None  # chars: the validation text
    baseline_order: int | None = None  # chars: order of the n-gram baseline
    ngram: Any = None  # chars: the n-gram baseline, built on first use


@dataclass
class Splits:
    """Train/validation/test parts of one dataset, in the form its family produces.

    ``holds`` says what the parts hold: "numbers" (:class:`seqexp.data.windows.Windows`),
    "tokens" (``(x, y)`` with integer word ids), "text" (``(texts, y)``) or "chars"
    (:class:`seqexp.data.text.CharWindows`), as the dataset's schema declares
    (:attr:`DatasetConfig.holds`).
    """

    holds: str
    task: Task
    train: Any
    val: Any
    test: Any
    info: DataInfo


@dataclass
class DatasetConfig:
    """Base of the dataset schemas. ``holds``: what the family hands downstream, "numbers"
    (a numeric time series), "tokens" (integer word ids, Keras IMDB), "text" (raw review
    strings) or "chars" (a character corpus cut into windows, next-character prediction);
    encoders say which of these they consume."""

    holds: ClassVar[str] = "numbers"
    # the formats each path key takes (seqexp.data.files), checked before TensorFlow loads
    files: ClassVar[dict[str, tuple[str, ...]]] = {}
    name: str = MISSING
    loader: str = option(MISSING, "loader family in seqexp.data (the schema's option name)")
    path: str | None = option(None, "local file or folder; null downloads and caches")
    url: str = option(MISSING, "canonical download address")
    sha256: str | None = option(None, "expected sha256 of the download (null: not checked)")
    default_encoder: str = option("numeric", "encoder used when encoder=auto")

    def input_formats(self) -> dict[str, tuple[str, ...]]:
        """The formats of the path keys this config reads (:attr:`files` by default)."""
        return self.files


Loader = Callable[[DictConfig], Splits]
DATASETS = Registry("dataset", DatasetConfig, "seqexp.data", schemas="seqexp.data.schemas")
register = DATASETS.register


def load(cfg: DictConfig) -> Splits:
    """Load the dataset that ``cfg`` (the ``dataset`` group) describes."""
    return DATASETS.builder(cfg.loader, "dataset.loader")(cfg)
