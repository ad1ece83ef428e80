"""The common-sense baselines, the model's best scores, and skill against the baseline.

Baselines are computed vectorized on exactly the examples the model is scored on:
persistence (the last observed target of each window) for forecasting, the training
set's majority class for classification.
"""

from __future__ import annotations

import numpy as np

from seqexp.data import Splits
from seqexp.errors import SeqexpError


def baseline(splits: Splits, part: str) -> dict[str, float]:
    """``naive_<part>_<metric>`` (and ``..._<unit>`` for forecasting) on one split."""
    if splits.task.kind == "regression":
        windows = getattr(splits, part)
        mae = float(np.mean(np.abs(windows.last_observed() - windows.targets())))
        return {f"naive_{part}_mae": mae,
                f"naive_{part}_mae_{splits.info['unit']}": mae * splits.info["scale"]}
    majority = int(np.mean(splits.train[1]) >= 0.5)
    labels = np.asarray(getattr(splits, part)[1])
    return {f"naive_{part}_acc": float(np.mean(labels == majority))}


def skill(task_mode: str, score: float, naive: float) -> float:
    """1 - score/naive for errors (MAE); (score - naive)/(1 - naive) for accuracies."""
    if task_mode == "min":
        return 1.0 - score / naive if naive else float("nan")
    return (score - naive) / (1.0 - naive) if naive < 1.0 else float("nan")


def scored(splits: Splits, part: str, score: float, naive: dict[str, float],
           prefix: str) -> dict[str, float]:
    """The model's score on ``part`` with its unit variant and skill against ``naive``."""
    task = splits.task
    out = {f"{prefix}{part}_{task.metric}": score}
    if task.kind == "regression":
        out[f"{prefix}{part}_{task.metric}_{splits.info['unit']}"] = score * splits.info["scale"]
    out[f"{part}_skill"] = skill(task.mode, score, naive[f"naive_{part}_{task.metric}"])
    return out


def best_epoch(history: dict[str, list[float]], splits: Splits) -> tuple[int, float]:
    """The epoch (0-based) with the best validation metric, and that metric."""
    values = history[splits.task.history]
    best = splits.task.best(values)
    if best is None:
        raise SeqexpError(f"every epoch's {splits.task.history} is NaN or infinite: lower "
                          "trainer.learning_rate or check the data for extreme values")
    return values.index(best), float(best)
