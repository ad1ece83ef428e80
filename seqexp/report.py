"""``seqexp-report``: the leaderboard of an MLflow store, outside the UI.

For each group of runs it shows, best first, the model's best validation metric next to the
naive baseline and the skill, the params that differ between the runs shown (only those), the
epochs run, the wall time and the status, and writes the same as ``leaderboard.md``,
``leaderboard.csv`` and ``leaderboard.png`` (metric vs baseline per run) under ``--out``.

Groups. By default the report covers the whole experiment: first its top-level runs (jobs run
on their own, sweep parents excluded), then every sweep's child runs, one table per sweep,
oldest sweep first so the most recent one is printed last, just above the prompt.
``--sweep RUN_ID`` (or ``--sweep latest``) reports one sweep only. A sweep is a parent run:
tagged ``seqexp.sweep=true`` or named in a child's ``mlflow.parentRunId``.

Ranking. The metric follows the run's ``task`` tag: ``mae`` for regression (lower is better),
``acc`` for binary classification (higher is better). Runs without the metric (failed early)
come last, unranked. A run stopped before its final scores (KILLED) is ranked on the best
validation value it logged per epoch.

Dead runs. A run still RUNNING whose process has died (killed with SIGKILL, machine
rebooted...) is shown as ``RUNNING (dead)``: its ``seqexp.host`` tag is this host and its
``seqexp.pid`` process no longer exists. Runs from other hosts cannot be checked and stay
``RUNNING``; a pid reused by a new process hides a dead run. ``seqexp-report --end-dead`` ends
the dead runs of the selection as FAILED with the tag ``error`` saying so, prints which, and
writes no report.

Usage::

    seqexp-report                                   # default store, experiment "seqexp"
    seqexp-report --uri sqlite:///mlflow.db --experiment jena --out report/
    seqexp-report --uri http://127.0.0.1:5000 --sweep latest
    seqexp-report --end-dead

Library use (the sweep callback prints the same table at the end of a multirun)::

    board = leaderboard(client, parent_run_id=parent_id)
    print(format_table(board))
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd

from seqexp.data import TASKS, Task
from seqexp.errors import SeqexpError

PARENT_TAG = "mlflow.parentRunId"
SWEEP_TAG = "seqexp.sweep"
DEFAULT_EXPERIMENT = "seqexp"


SCORES = TASKS  # how each task is scored: metric, direction, per-epoch history


# ---------------------------------------------------------------- reading runs

def search_runs(client, experiment_id: str, filter_string: str = "") -> list:
    """Every active run of the experiment matching ``filter_string`` (all result pages)."""
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string=filter_string,
                                  max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def run_name(run) -> str:
    return run.data.tags.get("mlflow.runName") or run.info.run_name or run.info.run_id[:8]


def task_of(run) -> str | None:
    """The run's ``task`` tag, else the task its metrics imply, else None (no scores)."""
    task = run.data.tags.get("task")
    if task in SCORES:
        return task
    for kind, score in SCORES.items():
        if f"naive_val_{score.metric}" in run.data.metrics:
            return kind
    return None


def sweep_parents(runs: list) -> set[str]:
    """Ids of the runs that are sweeps: tagged as one, or parent of another run."""
    parents = {r.data.tags[PARENT_TAG] for r in runs if PARENT_TAG in r.data.tags}
    return parents | {r.info.run_id for r in runs if r.data.tags.get(SWEEP_TAG) == "true"}


def top_level(runs: list) -> list:
    parents = sweep_parents(runs)
    return [r for r in runs if PARENT_TAG not in r.data.tags and r.info.run_id not in parents]


def children(runs: list, parent_run_id: str) -> list:
    return [r for r in runs if r.data.tags.get(PARENT_TAG) == parent_run_id]


# ---------------------------------------------------------------- dead processes

def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def dead_process(run) -> int | None:
    """The pid of a RUNNING run's process if it ran on this host and is gone, else None."""
    tags = run.data.tags
    if run.info.status != "RUNNING" or tags.get("seqexp.host") != socket.gethostname():
        return None
    try:
        pid = int(tags["seqexp.pid"])
    except (KeyError, ValueError):
        return None
    return None if process_alive(pid) else pid


def status_of(run) -> str:
    return "RUNNING (dead)" if dead_process(run) is not None else run.info.status


def end_dead(client, runs: list) -> list[str]:
    """End every run left RUNNING by a dead process as FAILED; one line per run ended."""
    ended = []
    for run in runs:
        pid = dead_process(run)
        if pid is None:
            continue
        reason = f"process {pid} on {run.data.tags['seqexp.host']} died (killed?)"
        client.set_tag(run.info.run_id, "error", reason)
        client.set_terminated(run.info.run_id, "FAILED")
        ended.append(f"{run.info.run_id} {run_name(run)}: FAILED, {reason}")
    return ended


# ---------------------------------------------------------------- the leaderboard

def leaderboard(client, experiment_id: str | None = None,
                parent_run_id: str | None = None) -> pd.DataFrame:
    """The leaderboard of one sweep's children (``parent_run_id``), or else of the top-level
    runs of ``experiment_id`` (sweep parents excluded). Best first; see :func:`board`."""
    if parent_run_id is not None:
        experiment_id = experiment_id or client.get_run(parent_run_id).info.experiment_id
        return board(client, search_runs(client, experiment_id,
                                         f"tags.`{PARENT_TAG}` = '{parent_run_id}'"))
    if experiment_id is None:
        raise ValueError("leaderboard() needs an experiment_id or a parent_run_id")
    return board(client, top_level(search_runs(client, experiment_id)))


def board(client, runs: list) -> pd.DataFrame:
    """One row per run, best first within each task, ranked 1..n; runs without the metric
    last and unranked. Columns: ``rank run status``, the metric columns under their MLflow
    names (``best_val_mae naive_val_mae val_skill`` ...), the differing params (dotted
    names), ``epochs duration_s run_id``. Tasks other than the most common one come after."""
    rows = [score_row(client, run) for run in runs]
    params = differing([run.data.params for run in runs])
    for row, run in zip(rows, runs):
        row.update({key: run.data.params.get(key) for key in params})
    df = pd.DataFrame(rows, columns=_columns(rows, params))
    df["epochs"] = pd.to_numeric(df["epochs"]).round().astype("Int64")
    df["duration_s"] = pd.to_numeric(df["duration_s"]).round(1)
    return _ranked(df)


def score_row(client, run) -> dict:
    """The run's scores under their MLflow names, plus its status, epochs and wall time."""
    metrics, task = run.data.metrics, task_of(run)
    row = {"run": run_name(run), "status": status_of(run), "task": task,
           "epochs": metrics.get("epochs_run"), "duration_s": duration_s(run),
           "run_id": run.info.run_id}
    if task is None:
        return row
    m = SCORES[task].metric
    row.update({key: value for key, value in metrics.items() if _is_score(key, m)})
    if f"best_val_{m}" not in row:
        row.update(partial_scores(client, run, SCORES[task]))
    return row


def _is_score(key: str, metric: str) -> bool:
    """best_val_mae(_degc), naive_val_mae(_degc), val_skill, test_mae(_degc), test_skill."""
    prefixes = (f"best_val_{metric}", f"naive_val_{metric}", f"test_{metric}")
    return key.startswith(prefixes) or key in ("val_skill", "test_skill")


def partial_scores(client, run, score: Task) -> dict:
    """For a run stopped before its final scores: the best per-epoch validation value so far,
    its skill against the baseline, and the epochs logged."""
    history = client.get_metric_history(run.info.run_id, score.history)
    if not history:
        return {}
    values = [m.value for m in history]
    best = score.best(values)
    naive = run.data.metrics.get(f"naive_val_{score.metric}")
    out = {f"best_val_{score.metric}": best, "epochs": len({m.step for m in history})}
    if naive is not None:
        from seqexp.evaluate import skill

        out["val_skill"] = skill(score.mode, best, naive)
    return out


def duration_s(run) -> float | None:
    if not run.info.start_time:
        return None
    end = run.info.end_time or (time.time() * 1000 if run.info.status == "RUNNING" else None)
    return None if end is None else (end - run.info.start_time) / 1000


def differing(params: list[dict[str, str]]) -> list[str]:
    """Param names with more than one distinct value among the runs that logged them."""
    keys = sorted({key for p in params for key in p})
    return [key for key in keys if len({p[key] for p in params if key in p}) > 1]


def _columns(rows: list[dict], params: list[str]) -> list[str]:
    """The metric, its baseline and skill first, then unit variants and test scores."""
    present = {key for row in rows for key in row}
    main, more = [], []
    for m in (score.metric for score in SCORES.values()):
        main += [f"best_val_{m}", f"naive_val_{m}"]
        more += sorted(k for k in present if k.startswith((f"best_val_{m}_", f"naive_val_{m}_")))
        more += sorted(k for k in present if k.startswith(f"test_{m}"))
    scores = [k for k in [*main, "val_skill", *more, "test_skill"] if k in present]
    return ["run", "status", "task", *scores, *params, "epochs", "duration_s", "run_id"]


def _ranked(df: pd.DataFrame) -> pd.DataFrame:
    """Sort best first within each task (most common task first), rank 1..n, unscored last."""
    tasks = list(df["task"].value_counts().index)
    df["_task"] = df["task"].map(lambda t: tasks.index(t) if t in tasks else len(tasks))
    df["_key"] = [_sort_key(row) for _, row in df.iterrows()]
    df = df.sort_values(["_task", "_key"], na_position="last", kind="stable")
    scored = df["_key"].notna()
    df["rank"] = pd.array([pd.NA] * len(df), dtype="Int64")
    df.loc[scored, "rank"] = df[scored].groupby("_task").cumcount().to_numpy() + 1
    df = df.drop(columns=["_task", "_key"]).reset_index(drop=True)
    if df["task"].nunique() <= 1:
        df = df.drop(columns="task")
    return df[["rank", *[c for c in df.columns if c != "rank"]]]


def _sort_key(row) -> float | None:
    if row["task"] not in SCORES:
        return None
    score = SCORES[row["task"]]
    value = row.get(f"best_val_{score.metric}")
    if value is None or pd.isna(value):
        return None
    return value if score.mode == "min" else -value


# ---------------------------------------------------------------- rendering

def format_table(df: pd.DataFrame, params: bool = False) -> str:
    """A plain-text table for the terminal: rank, run (its overrides, in a sweep), the metric,
    baseline and skill, epochs, wall time, status; the differing params too if ``params``."""
    cells = _cells(df, params)
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    left = [_is_text(c) for c in _shown(df, params)]
    lines = ["  ".join(v.ljust(w) if lj else v.rjust(w) for v, w, lj in zip(row, widths, left))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def format_markdown(df: pd.DataFrame) -> str:
    """The leaderboard as a Markdown table, differing params included."""
    cells = _cells(df, params=True)
    align = ["---" if _is_text(c) else "---:" for c in _shown(df, params=True)]
    rows = [cells[0], align, *cells[1:]]
    return "\n".join("| " + " | ".join(v.replace("|", "\\|") for v in r) + " |" for r in rows)


def _is_text(column: str) -> bool:
    return column in ("run", "status", "task") or "." in column  # params are dotted names


def _shown(df: pd.DataFrame, params: bool) -> list[str]:
    return [c for c in df.columns if c != "run_id" and (params or "." not in c)]


HEADERS = {"rank": "#", "duration_s": "time"}


def _cells(df: pd.DataFrame, params: bool) -> list[list[str]]:
    columns = _shown(df, params)
    body = [[_cell(column, row[column]) for column in columns] for _, row in df.iterrows()]
    return [[HEADERS.get(c, c) for c in columns], *body]


def _cell(column: str, value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if column == "duration_s":
        return _duration(value)
    if column in ("rank", "epochs"):
        return str(int(value))
    if column.endswith("_skill"):
        return f"{value:+.3f}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


def plot(groups: list[tuple[str, pd.DataFrame]], path: Path) -> None:
    """One horizontal bar chart per group and metric: the model's best validation metric
    per run (best on top) with the naive baseline as a marker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(title, df, m) for title, df in groups for m in _metrics(df)]
    heights = [1.2 + 0.35 * len(df) for _, df, _ in panels] or [1.5]
    fig, axes = plt.subplots(len(heights), 1, figsize=(8, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, (title, df, metric) in zip(axes[:, 0], panels):
        _bars(ax, title, df, metric)
    if not panels:
        axes[0, 0].text(0.5, 0.5, "no runs", ha="center", va="center")
        axes[0, 0].set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _metrics(df: pd.DataFrame) -> list[str]:
    return [s.metric for s in SCORES.values() if f"best_val_{s.metric}" in df.columns]


def _bars(ax, title: str, df: pd.DataFrame, metric: str) -> None:
    rows = df[df[f"best_val_{metric}"].notna()]
    names = [f"{'' if pd.isna(r) else r}. {n}" for r, n in zip(rows["rank"], rows["run"])]
    y = range(len(rows))
    ax.barh(y, rows[f"best_val_{metric}"], color="tab:blue", label=f"best val {metric}")
    if f"naive_val_{metric}" in rows.columns:
        ax.plot(rows[f"naive_val_{metric}"], y, "k|", markersize=14, markeredgewidth=2,
                label="naive baseline")
    ax.set_yticks(list(y), [n[:60] for n in names])
    ax.invert_yaxis()
    ax.set_xlabel(f"validation {metric}")
    ax.set_title("\n".join(textwrap.wrap(title, 90)), fontsize=9, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)


# ---------------------------------------------------------------- the command

def sweeps(runs: list) -> list:
    """The sweep parent runs among ``runs``, oldest first."""
    parents = sweep_parents(runs)
    return sorted((r for r in runs if r.info.run_id in parents),
                  key=lambda r: r.info.start_time or 0)


def selection(client, args: argparse.Namespace) -> tuple[list, list]:
    """(all runs of the experiment, sweep parents to report), per ``--experiment/--sweep``."""
    if args.sweep and args.sweep != "latest":
        parent = client.get_run(args.sweep)  # MLflow raises for an unknown run id
        runs = search_runs(client, parent.info.experiment_id)
        if not children(runs, parent.info.run_id):
            raise SeqexpError(f"run {args.sweep} ({run_name(parent)}) is not a sweep: "
                              "it has no child runs")
        return runs, [parent]
    runs = search_runs(client, experiment_named(client, args.experiment).experiment_id)
    parents = sweeps(runs)
    if args.sweep == "latest" and not parents:
        raise SeqexpError(f"no sweep in experiment {args.experiment!r}; "
                          "run one with `seqexp -m ...`")
    return runs, parents[-1:] if args.sweep else parents


def groups(client, args: argparse.Namespace) -> list[tuple[str, pd.DataFrame]]:
    """(title, leaderboard) per group of the report: see the module docstring."""
    runs, parents = selection(client, args)
    out = []
    if not args.sweep and (top := top_level(runs)):
        out.append((f"experiment {args.experiment}: top-level runs", board(client, top)))
    return out + [(_sweep_title(p), board(client, children(runs, p.info.run_id)))
                  for p in parents]


def _sweep_title(parent) -> str:
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(parent.info.start_time / 1000))
    name = run_name(parent)
    name = name if name.startswith("sweep") else f"sweep {name}"
    return f"{name} ({parent.info.run_id}, started {started})"


def write_files(groups_: list[tuple[str, pd.DataFrame]], out: Path) -> list[Path]:
    """``leaderboard.md`` (a section per group), ``.csv`` (a ``group`` column) and ``.png``."""
    out.mkdir(parents=True, exist_ok=True)
    md = "\n\n".join(f"## {title}\n\n{format_markdown(df)}" for title, df in groups_)
    (out / "leaderboard.md").write_text(f"# Leaderboard\n\n{md}\n")
    _csv_table(groups_).to_csv(out / "leaderboard.csv", index=False)
    plot(groups_, out / "leaderboard.png")
    return [out / f"leaderboard.{ext}" for ext in ("md", "csv", "png")]


def _csv_table(groups_: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """All groups in one table, a ``group`` column first and epochs/time/run id last."""
    frames = [df.assign(group=title) for title, df in groups_]
    if not frames:
        return pd.DataFrame(columns=["group"])
    table = pd.concat(frames, ignore_index=True)
    tail = ["epochs", "duration_s", "run_id"]
    return table[["group", *[c for c in table.columns if c not in ["group", *tail]], *tail]]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="seqexp-report", formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  seqexp-report --uri sqlite:///mlflow.db --experiment seqexp --out report/\n"
               "  seqexp-report --uri http://127.0.0.1:5000 --sweep latest\n"
               "  seqexp-report --end-dead    # end runs whose process was killed as FAILED",
        description="Leaderboards of seqexp runs in an MLflow store, best first: the best\n"
                    "validation metric vs the naive baseline, skill, the params that differ,\n"
                    "epochs, wall time, status. Default: the experiment's top-level runs, then\n"
                    "each sweep's child runs (one table per sweep, the latest last). Runs left\n"
                    "RUNNING by a dead process on this host show as 'RUNNING (dead)'.")
    p.add_argument("--uri", help="tracking URI: sqlite:///path.db or http://host:port "
                                 "(default: MLFLOW_TRACKING_URI, else MLflow's default store, "
                                 "sqlite mlflow.db in the working directory)")
    p.add_argument("--experiment", default=DEFAULT_EXPERIMENT,
                   help="experiment name (default: %(default)s)")
    p.add_argument("--sweep", metavar="RUN_ID",
                   help="report only this sweep's child runs ('latest': the most recent sweep)")
    p.add_argument("--out", type=Path, default=Path("report"),
                   help="folder for leaderboard.md/.csv/.png (default: %(default)s/)")
    p.add_argument("--end-dead", action="store_true",
                   help="end the runs left RUNNING by a dead process on this host as FAILED "
                        "(tag 'error' says which process died), print them, write no report")
    return p


def open_store(uri: str | None):
    """A client on ``uri`` that fails fast: no retry loop on an unreachable server, and no
    empty sqlite store created where the user pointed at a missing one."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise SeqexpError(f"no MLflow store at {uri}: no such file; pass --uri or set "
                          "MLFLOW_TRACKING_URI")
    return MlflowClient(tracking_uri=uri)


def experiment_named(client, name: str):
    found = client.get_experiment_by_name(name)
    if found is None:
        names = ", ".join(e.name for e in client.search_experiments()) or "none"
        raise SeqexpError(f"no experiment named {name!r} (experiments: {names}); "
                          "pass --experiment NAME")
    return found


def report(args: argparse.Namespace) -> None:
    client = open_store(args.uri)
    if args.end_dead:
        runs, parents = selection(client, args)
        if args.sweep:
            ids = {p.info.run_id for p in parents}
            runs = [r for r in runs if ids & {r.info.run_id, r.data.tags.get(PARENT_TAG)}]
        ended = end_dead(client, runs)
        print("\n".join(ended) if ended else "no run left RUNNING by a dead process")
        return
    found = groups(client, args)
    for title, df in found:
        print(f"\n{title}\n{format_table(df, params=True)}")
    if not found:
        print(f"experiment {args.experiment} has no runs")
    paths = write_files(found, args.out)
    print("\nwrote " + ", ".join(str(p) for p in paths))


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    from mlflow.exceptions import MlflowException

    try:
        report(args)
    except SeqexpError as err:
        _fail(str(err))
    except MlflowException as err:  # unreachable server, unknown run id, bad store
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        _fail(f"cannot read the MLflow store {args.uri or '(default)'}: {first[:300]}")
    except OSError as err:  # --out not writable, ...
        _fail(str(err))


def _fail(message: str) -> None:
    print(f"seqexp-report: error: {message}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
