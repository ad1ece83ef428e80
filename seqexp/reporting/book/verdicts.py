"""The runs read back into the book's table: per preset the book's figure and range, seqexp's
mean +- std over the seeds, the naive baseline and the verdict."""

from __future__ import annotations

import math

from seqexp.reporting.book.presets import Preset

VERDICTS = ("within the book's range", "better", "worse")


def unfinished(runs: list) -> str:
    """Why a preset has no figure: never run, stopped (KILLED: ``--resume`` continues it),
    or failed."""
    if not runs:
        return "not run"
    if all(r.info.status in ("KILLED", "RUNNING") for r in runs):
        return f"stopped ({len(runs)} run{'s' if len(runs) > 1 else ''}; --resume continues)"
    return f"failed ({len(runs)} run{'s' if len(runs) > 1 else ''}, none finished)"


def verdict(preset: Preset, mean: float) -> str:
    low, high = book_range(preset)
    if low is None or mean != mean:
        return "n/a"
    if low <= mean <= high:
        return VERDICTS[0]
    above = mean > high
    return VERDICTS[2] if above == preset.lower_is_better else VERDICTS[1]


def book_range(preset: Preset) -> tuple[float | None, float | None]:
    """The book's range for the preset: its ``range``, else ``reported`` read as "~x"."""
    rng = preset.book.get("range")
    if rng:
        return float(min(rng)), float(max(rng))
    reported = preset.book.get("reported")
    if reported is None:
        return None, None
    # "~x" (no range) is read to the precision the task's figures are written in
    # (Task.approximate: x +- 0.01 for an MAE, ~0.265; x +- 0.02 for an accuracy, ~85%)
    tolerance = preset.task.approximate
    return float(reported) - tolerance, float(reported) + tolerance


def book_text(preset: Preset) -> str:
    reported, (low, high) = preset.book.get("reported"), book_range(preset)
    if reported is None and low is None:
        return preset.book.get("note") or "not stated"
    text = f"{reported:g}" if reported is not None else ""
    if low is not None:
        text += f" [{low:g}, {high:g}]" if preset.book.get("range") else " (~)"
    return text.strip()


def table(presets: list[Preset], children: list, skipped: dict[str, str],
          notes: dict[str, str]):
    """One row per preset: the book's figure, seqexp's mean +- std over seeds and its 95%
    Student-t interval, the naive baseline, the verdict (or why it was skipped / failed)."""
    import numpy as np
    import pandas as pd

    from seqexp.reporting.compare import interval

    by_preset: dict[str, list] = {}
    for run in children:
        name = run.data.tags.get("mlflow.runName", "")
        if name.startswith("book/"):
            by_preset.setdefault(name[5:].rsplit(" seed=", 1)[0], []).append(run)
    rows = []
    for preset in presets:
        runs = by_preset.get(preset.name, [])
        done = [r for r in runs if r.info.status == "FINISHED"
                and preset.metric in r.data.metrics]
        values = [r.data.metrics[preset.metric] for r in done]
        naive_key = preset.metric.replace("best_", "naive_", 1)
        naive = np.array([r.data.metrics.get(naive_key, math.nan) for r in done], dtype=float)
        # one seed has no spread and no interval: NaN (shown n/a), never a made-up 0
        _, mean, std, ci_low, ci_high = interval(values)
        if preset.name in skipped:
            result = f"skipped: {skipped[preset.name]}"
        elif not done:
            result = unfinished(runs)
        else:
            result = verdict(preset, mean)
        low, high = book_range(preset)
        rows.append({
            "listing": preset.listing, "preset": f"book/{preset.name}",
            "metric": preset.metric, "book": book_text(preset),
            "book_reported": preset.book.get("reported"), "book_low": low, "book_high": high,
            "mean": mean, "std": std, "ci_low": ci_low, "ci_high": ci_high,
            "runs": len(done), "failed": len(runs) - len(done),
            "naive": float(naive.mean()) if len(naive) else math.nan,
            "book_baseline": preset.book.get("baseline"),
            "verdict": result, "notes": notes.get(preset.name, ""),
        })
    return pd.DataFrame(rows)
