"""Binary classification (IMDB sentiment): accuracy, higher is better; the baseline is the
training set's majority class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqexp.tasks import Task, register


@dataclass(frozen=True)
class Binary(Task):
    def baseline(self, splits, part: str) -> dict[str, float]:
        majority = int(np.mean(splits.train[1]) >= 0.5)
        labels = np.asarray(getattr(splits, part)[1])
        return {f"naive_{part}_acc": float(np.mean(labels == majority))}


BINARY = register(Binary(
    "binary", loss="binary_crossentropy", metric="acc", keras_metric="accuracy",
    output_activation="sigmoid", mode="max", shown="accuracy", axis="accuracy",
    approximate=0.02))
