"""Datasets: load and cache raw data, split it the book's way, hand back :class:`Splits`.

One module per dataset family registers its loader with :func:`register`; :func:`load`
picks it by ``dataset.loader``. A loader reads only its own ``dataset`` config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig

from seqexp.errors import SeqexpError


@dataclass(frozen=True)
class Task:
    """What is learned and how it is scored; crosses from dataset to model and evaluation."""

    kind: str  # "regression" | "binary"
    loss: str
    metric: str  # short name used in logged metric names: mae, acc
    keras_metric: str  # name Keras logs the metric under
    output_activation: str | None
    mode: str  # "min" or "max": which way the metric improves

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
TASKS = {task.kind: task for task in (REGRESSION, BINARY)}


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


Loader = Callable[[DictConfig], Splits]
LOADERS: dict[str, Loader] = {}


def register(name: str) -> Callable[[Loader], Loader]:
    def deco(fn: Loader) -> Loader:
        LOADERS[name] = fn
        return fn

    return deco


def load(cfg: DictConfig) -> Splits:
    """Load the dataset that ``cfg`` (the ``dataset`` group) describes."""
    _import_families()
    loader = LOADERS.get(cfg.loader)
    if loader is None:
        raise SeqexpError(f"dataset.loader={cfg.loader} is unknown: use one of "
                          f"{', '.join(sorted(LOADERS))}")
    return loader(cfg)


def _import_families() -> None:
    import importlib

    for module in ("jena", "imdb", "raw_imdb"):
        try:
            importlib.import_module(f"seqexp.data.{module}")
        except ModuleNotFoundError as err:
            if err.name != f"seqexp.data.{module}":
                raise
