"""Regression (Jena temperature forecasting): MAE, lower is better; the baseline is persistence,
the last observed target of each window (the book's "common-sense" baseline). Scores also in
the target's own unit (``..._mae_degC``: the normalized MAE times the target's std)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqexp.tasks import Task, register


@dataclass(frozen=True)
class Regression(Task):
    def baseline(self, splits, part: str) -> dict[str, float]:
        windows = getattr(splits, part)
        mae = float(np.mean(np.abs(windows.last_observed() - windows.targets())))
        return {f"naive_{part}_mae": mae,
                f"naive_{part}_mae_{splits.info.unit}": mae * splits.info.scale}

    def scored(self, splits, part: str, score: float, naive: dict[str, float],
               prefix: str) -> dict[str, float]:
        return {f"{prefix}{part}_{self.metric}": score,
                f"{prefix}{part}_{self.metric}_{splits.info.unit}": score * splits.info.scale,
                f"{part}_skill": self.skill(score, naive[f"naive_{part}_{self.metric}"])}


REGRESSION = register(Regression(
    "regression", loss="mae", metric="mae", keras_metric="mae", output_activation=None,
    mode="min", shown="MAE", axis="MAE (normalized)", approximate=0.01))
