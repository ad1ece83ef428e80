"""Seed-aware comparison: runs that differ only by ``trainer.seed`` are replicates of one
configuration, so a leaderboard of them compares configurations, not runs.

:func:`grouped` turns a per-run leaderboard (:func:`seqexp.reporting.leaderboard.board`) into
one row per configuration (every param except the seed and run-specific ones): n, mean, std
and a 95% Student-t confidence interval of the metric and of the skill, whether the
configuration beats the naive baseline (its skill interval lies entirely above 0), and the
p-value of Welch's t-test of its metric against the best configuration's. :func:`verdict` says
in words which configurations cannot be told apart from the best. With n=1 there is no
interval and no p-value: they stay empty (NaN), never a made-up number.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from seqexp.tasks import all_tasks

RUN_SPECIFIC = ("trainer.seed", "trainer.resume", "tracking.run_name")
CONFIDENCE = 0.95
ALPHA = 0.05  # p >= ALPHA: not distinguishable from the best


def configuration_keys(board: pd.DataFrame) -> list[str] | None:
    """The params that tell configurations apart when some configuration was run with more
    than one seed; None when nothing replicates (the board stays one row per run)."""
    if "trainer.seed" not in board.columns:
        return None
    keys = [c for c in board.columns if "." in c and c not in RUN_SPECIFIC]
    seeds = board.groupby(["task", *keys], dropna=False)["trainer.seed"].nunique()
    return keys if (seeds > 1).any() else None


def interval(values) -> tuple[int, float, float, float, float]:
    """(n, mean, std, ci_low, ci_high) of the finite values; std (ddof=1) and the Student-t
    interval are NaN below two values."""
    v = pd.to_numeric(pd.Series(values, dtype=float), errors="coerce").dropna().to_numpy()
    n, nan = len(v), float("nan")
    if n < 2:
        return n, (float(v[0]) if n else nan), nan, nan, nan
    from scipy import stats

    mean, std = float(v.mean()), float(v.std(ddof=1))
    half = stats.t.ppf((1 + CONFIDENCE) / 2, n - 1) * std / np.sqrt(n)
    return n, mean, std, mean - half, mean + half


def welch_p(a, b) -> float:
    """Two-sided p-value of Welch's t-test (unequal variances); NaN with fewer than 2 values
    on a side or no variance at all."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


def grouped(board: pd.DataFrame) -> pd.DataFrame | None:
    """One row per configuration, best first within each task (ranked like runs), or None
    when no configuration was run with several seeds. Columns: ``rank run task n``, then
    ``<metric>_mean/_std/_ci_low/_ci_high``, the baseline, ``val_skill_mean/...``,
    ``beats_baseline``, ``p_vs_best``, the configuration's params, ``epochs duration_s
    status run_ids``."""
    keys = configuration_keys(board)
    if keys is None:
        return None
    df = pd.DataFrame([_row(runs, keys, values) for values, runs in
                       board.groupby(["task", *keys], dropna=False, sort=False)])
    scores = [c for c in df if c.startswith(("best_val_", "naive_val_", "val_skill"))]
    df = df.reindex(columns=["run", "task", "n", *scores, "beats_baseline", "p_vs_best", *keys,
                             "epochs", "duration_s", "status", "run_ids", "_values"])
    df = ranked(df.astype({"n": int}), key=lambda row: sort_key(row, "_mean"))
    for _, part in df.groupby("task", sort=False):
        metric, best = _metric(part.iloc[0]), part.iloc[0]
        if metric and best["rank"] == 1:
            df.loc[part.index[1:], "p_vs_best"] = [welch_p(best["_values"], row["_values"])
                                                   for _, row in part.iloc[1:].iterrows()]
    return df.drop(columns="_values")


def summary(board: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration when seeds replicate configurations, else the board."""
    grouped_ = grouped(board) if len(board) else None
    return board if grouped_ is None else grouped_


def best_metrics(board: pd.DataFrame) -> dict[str, float]:
    """The best configuration's scores (mean, std, CI, n, when grouped) or the best run's,
    as ``sweep.``-prefixed metrics for a sweep's parent run."""
    df = summary(board)
    best = df[df["rank"].eq(1).fillna(False)]
    if not len(best):
        return {}
    row = best.iloc[0].rename({"n": "best_n", "beats_baseline": "best_beats_baseline"})
    keys = [k for k in row.index if k.startswith(("best_", "naive_val_", "val_skill"))]
    return {f"sweep.{k}": float(row[k]) for k in keys if pd.notna(row[k])}


def ranked(df: pd.DataFrame, key) -> pd.DataFrame:
    """Sort best first within each task (most common task first), rank 1..n; rows whose
    ``key(row)`` (a value to minimise) is None or NaN go last, unranked."""
    tasks = list(df["task"].value_counts().index)
    df = df.assign(_task=df["task"].map(lambda t: tasks.index(t) if t in tasks else len(tasks)),
                   _key=[key(row) for _, row in df.iterrows()])
    df = df.sort_values(["_task", "_key"], na_position="last", kind="stable")
    df["_key"] = pd.to_numeric(df["_key"])
    df.insert(0, "rank", pd.array([pd.NA] * len(df), dtype="Int64"))
    scored = df["_key"].notna()
    df.loc[scored, "rank"] = df[scored].groupby("_task").cumcount().to_numpy() + 1
    return df.drop(columns=["_task", "_key"]).reset_index(drop=True)


def sort_key(row, suffix: str = "") -> float | None:
    """The row's ``best_val_<metric><suffix>``, negated where higher is better; None if none."""
    task = all_tasks().get(row["task"])
    value = row.get(f"best_val_{task.metric}{suffix}") if task else None
    if value is None or pd.isna(value):
        return None
    return value if task.lower_is_better else -value


def _metric(row) -> str | None:
    task = all_tasks().get(row["task"])
    return task and f"best_val_{task.metric}"


def _row(runs: pd.DataFrame, keys: list[str], values: tuple) -> dict:
    row = {"run": _label(runs, keys, values[1:]), "task": values[0], "n": 0, "_values": []}
    metric = _metric(row)
    if metric in runs.columns:
        values_ = runs[metric].dropna()
        n, *numbers = interval(values_)
        naive = metric.replace("best_", "naive_")
        row.update({"n": n, "_values": list(values_),
                    **dict(zip([f"{metric}_{s}" for s in ("mean", "std", "ci_low", "ci_high")],
                               numbers)),
                    naive: runs[naive].mean() if naive in runs else float("nan")})
        _, *skill = interval(runs["val_skill"] if "val_skill" in runs else [])
        row.update(zip(["val_skill_mean", "val_skill_std", "val_skill_ci_low",
                        "val_skill_ci_high"], skill))
        row["beats_baseline"] = pd.NA if np.isnan(skill[2]) else bool(skill[2] > 0)
        row["p_vs_best"] = float("nan")
    counts = runs["status"].value_counts()
    status = counts.index[0] if len(counts) == 1 else ", ".join(
        f"{k} x{v}" for k, v in counts.items())
    return {**row, **dict(zip(keys, values[1:])), "epochs": runs["epochs"].mean(),
            "duration_s": runs["duration_s"].mean(), "status": status,
            "run_ids": " ".join(runs["run_id"])}


def _label(runs: pd.DataFrame, keys: list[str], values: tuple) -> str:
    """The runs' common name without the seed override (``model=gru``), else the params."""
    names = {re.sub(r"(^|,)trainer\.seed=[^,]*", "", n).strip(",") for n in runs["run"]}
    if len(names) == 1 and (name := names.pop()):
        return name
    shown = [f"{k}={v}" for k, v in zip(keys, values) if isinstance(v, str)]
    return " ".join(shown) or "all runs"


def verdict(df: pd.DataFrame) -> list[str]:
    """Per task, in words: which configurations beat the baseline with 95% confidence, and
    which cannot be told apart from the best (Welch p >= 0.05) or lack a p-value (n=1)."""
    lines = []
    for _task, part in df[df["rank"].notna()].groupby("task", sort=False):
        best, rest = part.iloc[0], part.iloc[1:]
        beats = list(part.loc[part["beats_baseline"].eq(True).fillna(False), "run"])
        lines.append("beats the naive baseline (skill 95% CI above 0): " + ", ".join(beats)
                     if beats else "no configuration beats the naive baseline with 95% "
                                   "confidence (skill CI above 0)")
        if best["n"] < 2:
            lines.append(f"best: {best['run']} has n={best['n']}: no p-values; run more seeds")
            continue
        ties = list(rest.loc[rest["p_vs_best"] >= ALPHA, "run"])
        unknown = list(rest.loc[rest["p_vs_best"].isna(), "run"])
        if ties:
            lines.append(f"not distinguishable from the best, {best['run']} (Welch p >= "
                         f"{ALPHA}): {', '.join(ties)}; their order may be seed noise")
        elif len(rest) > len(unknown):
            lines.append(f"{best['run']} is better than the others with p < {ALPHA} (Welch)")
        if unknown:
            lines.append(f"no p-value (n < 2 or no variance): {', '.join(unknown)}")
    return lines
