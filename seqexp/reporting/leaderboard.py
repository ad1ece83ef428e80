"""Leaderboards of an MLflow store (``seqexp-report``), read with ``mlflow.search_runs``.

Groups: the experiment's top-level runs, then each sweep's children (oldest sweep first), or
one sweep (``--sweep RUN_ID|latest``). Best first by the ``task`` tag's metric (``mae`` lower,
``acc`` higher); runs without it last; a run stopped early is ranked on its best logged epoch.
Runs differing only by ``trainer.seed`` are grouped by configuration
(:mod:`seqexp.reporting.compare`).
``RUNNING (dead)``: a RUNNING run whose process on this host is gone (``--end-dead`` fails it).
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from pathlib import Path

import pandas as pd

from seqexp.errors import SeqexpError
from seqexp.reporting import compare
from seqexp.reporting.compare import summary
from seqexp.reporting.tables import format_table, write_files
from seqexp.tasks import all_tasks

PARENT, SWEEP, NAME = "tags.mlflow.parentRunId", "tags.seqexp.sweep", "tags.mlflow.runName"
HOST, PID = "tags.seqexp.host", "tags.seqexp.pid"
OPTUNA = "tags.optuna.state"  # PRUNED: a search trial its pruner stopped early
SCORES = tuple(f"metrics.{kind}_{t.metric}" for kind in ("best_val", "naive_val", "test")
               for t in all_tasks().values()) + ("metrics.val_skill", "metrics.test_skill")
def search(client, experiment_id: str, filter_string: str = "") -> pd.DataFrame:
    """Every active run of the experiment matching ``filter_string``, one row per run."""
    import mlflow

    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(client.tracking_uri)  # search_runs reads the global URI
    try:
        runs = mlflow.search_runs([experiment_id], filter_string, output_format="pandas")
    finally:
        mlflow.set_tracking_uri(before)
    runs = runs.reindex(columns=runs.columns.union([PARENT, SWEEP, NAME, HOST, PID, OPTUNA,
                                                    "tags.task"], sort=False))
    return runs.assign(**{NAME: runs[NAME].fillna(runs["run_id"].astype(str).str[:8])})


def sweep_parents(runs: pd.DataFrame) -> set[str]:
    return set(runs[PARENT].dropna()) | set(runs.loc[runs[SWEEP].eq("true"), "run_id"])


def top_level(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs[PARENT].isna() & ~runs["run_id"].isin(sweep_parents(runs))]


def dead_pid(run: pd.Series) -> int | None:
    """The pid of a RUNNING run's process if it ran on this host and is gone, else None."""
    try:
        if run["status"] == "RUNNING" and run[HOST] == socket.gethostname():
            os.kill(pid := int(run[PID]), 0)
    except ProcessLookupError:
        return pid
    except (TypeError, ValueError, PermissionError):  # no pid / someone else's process
        pass
    return None


def end_dead(client, runs: pd.DataFrame) -> list[str]:
    """End every run left RUNNING by a dead process as FAILED; one line per run ended."""
    ended = []
    for _, run in runs.iterrows():
        if (pid := dead_pid(run)) is not None:
            reason = f"process {pid} on {run[HOST]} died (killed?)"
            client.set_tag(run["run_id"], "error", reason)
            client.set_terminated(run["run_id"], "FAILED")
            ended.append(f"{run['run_id']} {run[NAME]}: FAILED, {reason}")
    return ended


def leaderboard(client, experiment_id: str | None = None,
                parent_run_id: str | None = None) -> pd.DataFrame:
    """The board of one sweep's children, or else of the experiment's top-level runs."""
    if parent_run_id is not None:
        experiment_id = experiment_id or client.get_run(parent_run_id).info.experiment_id
        return board(client, search(client, experiment_id,
                                    f"tags.`mlflow.parentRunId` = '{parent_run_id}'"))
    if experiment_id is None:
        raise ValueError("leaderboard() needs an experiment_id or a parent_run_id")
    return board(client, top_level(search(client, experiment_id)))


def board(client, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run, best first within each task, ranked 1..n (unscored last): ``rank run
    status task``, the scores under their MLflow names, the differing params (dotted names),
    ``epochs duration_s run_id``."""
    start, end = (pd.to_datetime(runs[c], utc=True) for c in ("start_time", "end_time"))
    end = end.fillna(pd.Timestamp.now(tz="UTC")).where(end.notna() | runs["status"].eq("RUNNING"))
    rows = [row for _, row in runs.iterrows()]
    df = pd.DataFrame({
        "run": runs[NAME], "task": [_task(r) for r in rows], "run_id": runs["run_id"],
        "status": runs["status"].mask(pd.Series([dead_pid(r) is not None for r in rows],
                                                index=runs.index, dtype=bool), "RUNNING (dead)"),
        "epochs": runs.get("metrics.epochs_run"), "duration_s": (end - start).dt.total_seconds(),
    }, index=runs.index)
    scores = [c for c in runs if c.startswith(SCORES) and runs[c].notna().any()]
    df[[c[8:] for c in scores]] = runs[scores]
    for i, row in df.iterrows():
        # stopped before its scores
        if row["task"] in all_tasks() and compare.sort_key(row) is None:
            for key, value in partial_scores(client, row).items():
                df.loc[i, key] = value
    params = sorted(c for c in runs if c.startswith("params.") and runs[c].nunique() > 1)
    df[[c[7:] for c in params]] = runs[params]
    df = df.assign(epochs=pd.to_numeric(df["epochs"]).round().astype("Int64"),
                   duration_s=df["duration_s"].round(1))
    main = [f"{k}_{t.metric}" for t in all_tasks().values() for k in ("best_val", "naive_val")]
    more = sorted(c for c in df if c.startswith(("best_val_", "naive_val_", "test_")))
    order = dict.fromkeys([*main, "val_skill", *more, "test_skill"])
    state = ["trial"] if runs[OPTUNA].notna().any() else []  # an Optuna search pruned some
    df["trial"] = runs[OPTUNA].fillna("COMPLETE").where(runs["status"].eq("FINISHED"))
    df = df[["run", "status", *state, "task", *[c for c in order if c in df],
             *[c[7:] for c in params], "epochs", "duration_s", "run_id"]]
    return compare.ranked(df, compare.sort_key)


def _task(run: pd.Series) -> str | None:
    """The run's ``task`` tag, else the task its metrics imply, else None (no scores)."""
    if run["tags.task"] in all_tasks():
        return run["tags.task"]
    return next((kind for kind, t in all_tasks().items()
                 if pd.notna(run.get(f"metrics.naive_val_{t.metric}"))), None)


def partial_scores(client, row: pd.Series) -> dict:
    """A run stopped before its final scores: the best per-epoch validation value so far,
    its skill against the baseline, and the epochs logged."""
    task = all_tasks()[row["task"]]
    history = client.get_metric_history(row["run_id"], task.history)
    if not history:
        return {}
    best = task.best([m.value for m in history])
    out = {f"best_val_{task.metric}": best, "epochs": len({m.step for m in history})}
    if pd.notna(naive := row.get(f"naive_val_{task.metric}")):
        out["val_skill"] = task.skill(best, naive)
    return out


def write_leaderboard(board: pd.DataFrame, folder: Path, title: str = "leaderboard") -> list[Path]:
    """A sweep's leaderboard as md, csv and png files in ``folder`` (grouped by configuration
    when seeds replicate): what a sweep's parent run records as artifacts."""
    return write_files([(title, summary(board))], Path(folder))


def selection(client, args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(all runs of the experiment, sweep parents to report), per ``--experiment/--sweep``."""
    if args.sweep and args.sweep != "latest":
        parent = client.get_run(args.sweep)  # MLflow raises for an unknown run id
        runs = search(client, parent.info.experiment_id)
        if not runs[PARENT].eq(args.sweep).any():
            raise SeqexpError(f"run {args.sweep} ({parent.info.run_name}) is not a sweep: "
                              "it has no child runs")
        return runs, runs[runs["run_id"].eq(args.sweep)]
    if (experiment := client.get_experiment_by_name(args.experiment)) is None:
        names = ", ".join(e.name for e in client.search_experiments()) or "none"
        raise SeqexpError(f"no experiment named {args.experiment!r} (experiments: {names}); "
                          "pass --experiment NAME")
    runs = search(client, experiment.experiment_id)
    parents = runs[runs["run_id"].isin(sweep_parents(runs))].sort_values("start_time")
    if args.sweep == "latest" and parents.empty:
        raise SeqexpError(f"no sweep in experiment {args.experiment!r}; "
                          "run one with `seqexp -m ...`")
    return runs, parents[-1:] if args.sweep else parents


def groups(client, args: argparse.Namespace) -> list[tuple[str, pd.DataFrame]]:
    """(title, leaderboard summary) per group of the report: see the module docstring."""
    runs, parents = selection(client, args)
    out = []
    if not args.sweep and len(top := top_level(runs)):
        out.append((f"experiment {args.experiment}: top-level runs", board(client, top)))
    for _, p in parents.iterrows():
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(p["start_time"].timestamp()))
        name = p[NAME] if p[NAME].startswith("sweep") else f"sweep {p[NAME]}"
        out.append((f"{name} ({p['run_id']}, started {started})",
                    board(client, runs[runs[PARENT].eq(p["run_id"])])))
    return [(title, summary(df)) for title, df in out]


def open_store(uri: str | None):
    """A client on ``uri`` that fails fast: no retry loop on an unreachable server, and no
    empty sqlite store created where the user pointed at a missing one."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    import mlflow

    from seqexp.tracking.store import existing_store

    return mlflow.MlflowClient(tracking_uri=existing_store(uri))


def report(args: argparse.Namespace) -> None:
    client = open_store(args.uri)
    if args.end_dead:
        runs, parents = selection(client, args)
        if args.sweep:
            ids = set(parents["run_id"])
            runs = runs[runs["run_id"].isin(ids) | runs[PARENT].isin(ids)]
        ended = end_dead(client, runs)
        print("\n".join(ended) if ended else "no run left RUNNING by a dead process")
        return
    found = groups(client, args)
    for title, df in found:
        print(f"\n{title}\n{format_table(df, params=True)}")
    if not found:
        print(f"experiment {args.experiment} has no runs")
    print("\nwrote " + ", ".join(str(p) for p in write_files(found, args.out)))
