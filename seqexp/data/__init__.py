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
from seqexp.tasks import Task


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
    encoders say which of these they consume. ``task``: the name of the
    :class:`seqexp.tasks.Task` its loader hands on (:func:`task_of`)."""

    holds: ClassVar[str] = "numbers"
    task: ClassVar[str] = "regression"
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


def task_of(cfg: DictConfig) -> Task:
    """The task of the dataset ``cfg`` describes: its schema's ``task``. A config read back
    from a run's record (``trainer.resume``) is plain, not typed: its schema is found by name."""
    from omegaconf import OmegaConf

    from seqexp import tasks

    schema = OmegaConf.get_type(cfg)
    if not hasattr(schema, "task"):
        schema = DATASETS.schema(cfg.name)
    return tasks.get(schema.task)


def load(cfg: DictConfig) -> Splits:
    """Load the dataset that ``cfg`` (the ``dataset`` group) describes."""
    return DATASETS.builder(cfg.loader, "dataset.loader")(cfg)
