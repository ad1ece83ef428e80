"""Datasets: load and cache raw data, split it the book's way, hand back :class:`Splits`.

Each dataset family has a schema in :mod:`seqexp.data.schemas` (a :class:`DatasetConfig`
whose ``name`` is the option, ``dataset=jena``) and a loader registered against it with
:func:`register` in its own module; :func:`load` picks the loader by ``dataset.loader``.
A loader reads only its own ``dataset`` config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from omegaconf import MISSING, DictConfig

from seqexp.registry import Registry, option


@dataclass(frozen=True)
class Task:
    """What is learned and how it is scored; crosses from dataset to model and evaluation."""

    kind: str  # "regression" | "binary" | "next-char"
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
# (keras_metric "bpc" is seqexp.train.bpc, the cross-entropy / ln 2). ``outputs`` is set by
# the loader to its alphabet's size.
NEXT_CHAR = Task("next-char", loss="sparse_categorical_crossentropy", metric="bpc",
                 keras_metric="bpc", output_activation="softmax", mode="min")
TASKS = {task.kind: task for task in (REGRESSION, BINARY, NEXT_CHAR)}


@dataclass
class Splits:
    """Train/validation/test parts of one dataset, in the form its family produces.

    ``kind`` says what the parts hold: "numbers" (:class:`seqexp.data.windows.Windows`),
    "tokens" (``(x, y)`` with integer word ids) or "text" (``(texts, y)``). ``info`` carries
    what tracking records as tags (source, sha256) and what evaluation needs (``scale``:
    the target's standard deviation, to report MAE in the target's own units).
    """

    kind: str
    task: Task
    train: Any
    val: Any
    test: Any
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class DatasetConfig:
    """Base of the dataset schemas. ``produces``: what the family hands downstream,
    "numbers" (a numeric time series), "tokens" (integer word ids, Keras IMDB), "text"
    (raw review strings) or "chars" (a character corpus cut into windows, next-character
    prediction); encoders say which of these they consume."""

    produces: ClassVar[str] = "numbers"
    name: str = MISSING
    loader: str = option(MISSING, "loader family in seqexp.data (the schema's option name)")
    path: str | None = option(None, "local file or folder; null downloads and caches")
    url: str = option(MISSING, "canonical download address")
    sha256: str | None = option(None, "expected sha256 of the download (null: not checked)")
    default_encoder: str = option("numeric", "encoder used when encoder=auto")


Loader = Callable[[DictConfig], Splits]
DATASETS = Registry("dataset", DatasetConfig, "seqexp.data", schemas="seqexp.data.schemas")
register = DATASETS.register


def load(cfg: DictConfig) -> Splits:
    """Load the dataset that ``cfg`` (the ``dataset`` group) describes."""
    return DATASETS.builder(cfg.loader, "dataset.loader")(cfg)
