"""What a task is: what is learned and how it is scored. A :class:`Task` owns its loss and
output head, its metric (the name Keras logs it under, the short name in seqexp's metric
names, the words and unit shown), which way the metric improves, its common-sense baseline,
its skill formula and the columns MLflow's UI shows for it. Datasets name their task (their
schema's ``task``), and everything downstream reads it from here: the model's head, compile,
early stopping, the baseline and skill, the learning curves, the description, the leaderboards,
the UI's saved view and the book's verdicts.

A task is one module of this package (``regression``, ``binary``, ``next_char``) declaring a
:class:`Task` subclass instance with :func:`register`; :func:`get` finds it by name.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from seqexp.errors import SeqexpError

_TASKS: dict[str, Task] = {}
_IMPORTED: list[bool] = []  # the task modules were imported
BUILT_IN = ("regression", "binary", "next_char")  # modules, in the order tables show them


@dataclass(frozen=True)
class Task:
    """What is learned and how it is scored; crosses from dataset to model and evaluation."""

    name: str  # the task tag: "regression" | "binary" | "next-char"
    loss: str
    metric: str  # short name in seqexp's metric names: best_val_<metric>, naive_val_<metric>
    keras_metric: str  # the name Keras logs the metric under
    output_activation: str | None
    mode: str  # "min" or "max": which way the metric improves
    shown: str  # the metric in words (run descriptions)
    axis: str  # what the metric's numbers are (learning curves' y axis)
    approximate: float  # a book figure written "~x" is read as x +- this
    outputs: int = 1  # units of the output layer (next-char: the alphabet's size)

    @property
    def history(self) -> str:
        """The per-epoch validation metric Keras logs (``val_mae``, ``val_accuracy``)."""
        return f"val_{self.keras_metric}"

    @property
    def lower_is_better(self) -> bool:
        return self.mode == "min"

    def best(self, values):
        """The best finite value (None if there is none)."""
        finite = [v for v in values if v == v and abs(v) != float("inf")]
        if not finite:
            return None
        return min(finite) if self.mode == "min" else max(finite)

    def best_epoch(self, history: dict[str, list[float]]) -> tuple[int, float]:
        """The epoch (0-based) with the best validation metric in ``history``, and that
        metric."""
        values = history[self.history]
        best = self.best(values)
        if best is None:
            raise SeqexpError(f"every epoch's {self.history} is NaN or infinite: lower "
                              "trainer.learning_rate or check the data for extreme values")
        return values.index(best), float(best)

    def skill(self, score: float, naive: float) -> float:
        """1 - score/naive for an error (lower is better); (score - naive)/(1 - naive) for an
        accuracy."""
        if self.mode == "min":
            return 1.0 - score / naive if naive else float("nan")
        return (score - naive) / (1.0 - naive) if naive < 1.0 else float("nan")

    def baseline(self, splits, part: str) -> dict[str, float]:
        """``naive_<part>_<metric>`` (and any variant) of the common-sense baseline, computed
        on exactly the examples of ``part`` the model is scored on."""
        raise NotImplementedError

    def scored(self, splits, part: str, score: float, naive: dict[str, float],
               prefix: str) -> dict[str, float]:
        """The model's score on ``part`` and its skill against ``naive``."""
        return {f"{prefix}{part}_{self.metric}": score,
                f"{part}_skill": self.skill(score, naive[f"naive_{part}_{self.metric}"])}

    def compile_metric(self) -> Any:
        """What ``model.compile(metrics=[...])`` gets: a Keras metric name or function."""
        return self.keras_metric

    def ui_columns(self) -> list[str]:
        """Its metrics in MLflow's runs table: the baseline, then the model's best."""
        return [f"naive_val_{self.metric}", f"best_val_{self.metric}"]

    def with_outputs(self, outputs: int) -> Task:
        return dataclasses.replace(self, outputs=outputs)


def register(task: Task) -> Task:
    _TASKS[task.name] = task
    return task


def all_tasks() -> dict[str, Task]:
    """Every task by name (their modules imported on first use)."""
    if not _IMPORTED:
        from seqexp.config.registry import import_submodules

        import_submodules(__name__)
        _IMPORTED.append(True)

    def order(task: Task) -> int:  # the built-in ones first, in the book's order
        module = type(task).__module__.rpartition(".")[2]
        return BUILT_IN.index(module) if module in BUILT_IN else len(BUILT_IN)

    return {task.name: task for task in sorted(_TASKS.values(), key=order)}


def get(name: str) -> Task:
    """The task named ``name``; an unknown name is an error, never a default."""
    tasks = all_tasks()
    if name not in tasks:
        raise SeqexpError(f"unknown task {name!r}: choose one of {', '.join(tasks)}")
    return tasks[name]
