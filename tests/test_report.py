"""``seqexp-report`` on a real sqlite MLflow store laid out the way seqexp writes runs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from seqexp.cli.report import main as report_main
from seqexp.reporting import tables
from seqexp.reporting.compare import best_metrics, summary
from seqexp.reporting.leaderboard import leaderboard, write_leaderboard

HOST = socket.gethostname()
SHARED = {"dataset.name": "jena", "dataset.lookback": "720", "trainer.epochs": "2"}


def dead_pid() -> int:
    """The id of a process that has just ended."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def add_run(client, exp: str, name: str, status: str, params: dict, metrics: dict,
            tags: dict, parent: str | None = None, history: list[float] = ()) -> str:
    tags = {"mlflow.runName": name, **tags}
    if parent:
        tags["mlflow.parentRunId"] = parent
    run_id = client.create_run(exp, run_name=name, tags=tags).info.run_id
    client.log_batch(run_id, metrics=[Metric(k, v, 0, 0) for k, v in metrics.items()]
                     + [Metric("val_mae", v, 0, i) for i, v in enumerate(history)],
                     params=[Param(k, v) for k, v in params.items()])
    if status != "RUNNING":
        client.set_terminated(run_id, status)
    return run_id


def regression(best: float, naive: float = 0.4, epochs: int = 2) -> dict:
    return {"best_val_mae": best, "naive_val_mae": naive, "val_skill": 1 - best / naive,
            "best_val_mae_degc": best * 8, "naive_val_mae_degc": naive * 8,
            "epochs_run": epochs, "best_epoch": epochs - 1}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> dict:
    """A sweep of 4 jobs (one failed early, one left RUNNING by a dead process), two
    top-level runs (one alive, one dead on another host) and a binary-task experiment."""
    path = tmp_path_factory.mktemp("store") / "m.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{path}")
    exp = client.create_experiment("seqexp")
    alive = {"task": "regression", "seqexp.host": HOST, "seqexp.pid": str(os.getpid())}
    ids = {"parent": add_run(client, exp, "sweep", "FINISHED", {}, {},
                             {"seqexp.sweep": "true"})}
    sweep = [("model=gru", "FINISHED", {"model.name": "gru", "model.units": "32"},
              regression(0.30), alive),
             ("model=lstm", "FINISHED", {"model.name": "lstm", "model.units": "64"},
              regression(0.28, epochs=3), alive),
             ("model=bad", "FAILED", {"model.name": "bad"}, {},
              {"error": "SeqexpError: nope", "seqexp.host": HOST,
               "seqexp.pid": str(os.getpid())}),
             ("model=conv", "RUNNING", {"model.name": "conv", "model.units": "32"},
              {"naive_val_mae": 0.4}, {**alive, "seqexp.pid": str(dead_pid())})]
    for name, status, params, metrics, tags in sweep:
        ids[name] = add_run(client, exp, name, status, {**SHARED, **params}, metrics, tags,
                            parent=ids["parent"],
                            history=[0.5, 0.36, 0.38] if status == "RUNNING" else ())
    ids["alive"] = add_run(client, exp, "alive", "RUNNING", SHARED, {}, alive)
    ids["other-host"] = add_run(client, exp, "other-host", "RUNNING", SHARED, {},
                                {**alive, "seqexp.host": "elsewhere", "seqexp.pid": "1"})
    imdb = client.create_experiment("imdb")
    for name, acc in [("dense", 0.80), ("gru", 0.88), ("conv", 0.70)]:
        ids[name] = add_run(client, imdb, name, "FINISHED",
                            {"model.name": name, "encoder.name": "embedding"},
                            {"best_val_acc": acc, "naive_val_acc": 0.5,
                             "val_skill": (acc - 0.5) / 0.5, "epochs_run": 5},
                            {"task": "binary"})
    return {"path": path, "uri": f"sqlite:///{path}", "client": client, "ids": ids}


def cli(*args: str, capsys) -> tuple[int, str, str]:
    try:
        report_main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_sweep_leaderboard_is_best_first_with_only_differing_params(store):
    df = leaderboard(store["client"], parent_run_id=store["ids"]["parent"])
    assert list(df["run"]) == ["model=lstm", "model=gru", "model=conv", "model=bad"]
    assert list(df["rank"][:3]) == [1, 2, 3] and pd.isna(df["rank"][3])
    assert [c for c in df.columns if "." in c] == ["model.name", "model.units"]  # not dataset.*
    assert df["model.units"][0] == "64" and pd.isna(df["model.units"][3])
    assert df["epochs"][0] == 3 and df["best_val_mae_degc"][0] == pytest.approx(0.28 * 8)
    conv = df.iloc[2]  # killed mid-run: ranked on the best epoch it logged
    assert conv["best_val_mae"] == pytest.approx(0.36) and conv["epochs"] == 3
    assert conv["val_skill"] == pytest.approx(1 - 0.36 / 0.4)
    assert list(df["status"]) == ["FINISHED", "FINISHED", "RUNNING (dead)", "FAILED"]


def test_top_level_runs_exclude_sweeps_and_only_dead_local_processes_are_flagged(store):
    exp = store["client"].get_experiment_by_name("seqexp").experiment_id
    df = leaderboard(store["client"], experiment_id=exp)
    assert set(df["run"]) == {"alive", "other-host"}
    assert set(df["status"]) == {"RUNNING"}
    assert not [c for c in df.columns if "." in c]  # the same params everywhere


def test_binary_task_ranks_highest_accuracy_first(store):
    exp = store["client"].get_experiment_by_name("imdb").experiment_id
    df = leaderboard(store["client"], experiment_id=exp)
    assert list(df["run"]) == ["gru", "dense", "conv"]
    assert [c for c in df.columns if "." in c] == ["model.name"]
    table = tables.format_table(df)
    assert table.splitlines()[0].split() == ["#", "run", "status", "best_val_acc",
                                             "naive_val_acc", "val_skill", "epochs", "time"]
    assert "+0.760" in table and "model.name" not in table


def test_cli_writes_markdown_csv_and_png(store, tmp_path, capsys):
    code, out, err = cli("--uri", store["uri"], "--out", str(tmp_path / "rep"), capsys=capsys)
    assert code == 0, err
    assert "top-level runs" in out and "RUNNING (dead)" in out
    assert out.index("top-level runs") < out.index("sweep (")
    csv = pd.read_csv(tmp_path / "rep" / "leaderboard.csv")
    assert len(csv) == 6 and csv.columns[0] == "group"
    sweep = csv[csv["group"].str.startswith("sweep")]
    assert list(sweep["run"]) == ["model=lstm", "model=gru", "model=conv", "model=bad"]
    md = (tmp_path / "rep" / "leaderboard.md").read_text()
    assert "| # | run | status | best_val_mae |" in md and "| model=lstm |" in md
    assert (tmp_path / "rep" / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_reports_one_sweep(store, tmp_path, capsys):
    code, out, _ = cli("--uri", store["uri"], "--sweep", "latest", "--out", str(tmp_path),
                       capsys=capsys)
    assert code == 0 and "top-level" not in out and "model=lstm" in out
    code, out, _ = cli("--uri", store["uri"], "--sweep", store["ids"]["parent"],
                       "--experiment", "ignored-when-a-run-id-is-given", "--out", str(tmp_path),
                       capsys=capsys)
    assert code == 0 and "model=lstm" in out


def test_end_dead_fails_dead_runs_and_leaves_the_others(store, tmp_path, capsys):
    copy = tmp_path / "copy.db"
    shutil.copy(store["path"], copy)
    code, out, err = cli("--uri", f"sqlite:///{copy}", "--end-dead", capsys=capsys)
    assert code == 0, err
    assert out.count("\n") == 1 and "model=conv" in out and "died (killed?)" in out
    client = MlflowClient(tracking_uri=f"sqlite:///{copy}")
    ids = store["ids"]
    conv = client.get_run(ids["model=conv"])
    pid = store["client"].get_run(ids["model=conv"]).data.tags["seqexp.pid"]
    assert conv.info.status == "FAILED" and conv.info.end_time
    assert conv.data.tags["error"] == f"process {pid} on {HOST} died (killed?)"
    for name, status in [("alive", "RUNNING"), ("other-host", "RUNNING"),
                         ("model=gru", "FINISHED"), ("model=bad", "FAILED")]:
        assert client.get_run(ids[name]).info.status == status
    assert "error" not in client.get_run(ids["alive"]).data.tags
    code, out, _ = cli("--uri", f"sqlite:///{copy}", "--end-dead", capsys=capsys)
    assert code == 0 and out.strip() == "no run left RUNNING by a dead process"


@pytest.mark.parametrize("args, says", [
    (["--experiment", "nope"], "no experiment named 'nope' (experiments: "),
    (["--sweep", "0123456789abcdef"], "0123456789abcdef"),
    (["--sweep", "{gru}"], "is not a sweep"),
])
def test_bad_input_is_one_line_and_exit_code_2(store, tmp_path, capsys, args, says):
    args = [a.format(**store["ids"]) for a in args]
    code, out, err = cli("--uri", store["uri"], "--out", str(tmp_path), *args, capsys=capsys)
    assert code == 2
    assert err.startswith("seqexp-report: error: ") and err.count("\n") == 1 and says in err
    assert not (tmp_path / "leaderboard.csv").exists()


def test_missing_store_and_unreachable_server_fail_fast(tmp_path, capsys, monkeypatch):
    code, _, err = cli("--uri", f"sqlite:///{tmp_path}/none.db", capsys=capsys)
    assert code == 2 and "no MLflow store at" in err and not (tmp_path / "none.db").exists()
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    code, _, err = cli("--uri", f"http://127.0.0.1:{port}", capsys=capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"seqexp-report: error: cannot read the MLflow store http://127.0.0.1:{port}")


def test_command_runs_without_tensorflow(store, tmp_path):
    code = ("import sys; from seqexp.cli.report import main; main(sys.argv[1:]); "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    out = subprocess.run([sys.executable, "-c", code, "--uri", store["uri"], "--experiment",
                          "imdb", "--out", str(tmp_path)], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert "gru" in out.stdout and (tmp_path / "leaderboard.md").is_file()


def test_mixed_tasks_rank_within_each_task_and_failed_runs_go_last(store):
    client = store["client"]
    exp = client.create_experiment("mixed")
    for name, task, metrics in [
            ("failed", None, {}), ("acc-low", "binary", {"best_val_acc": 0.6}),
            ("mae-a", "regression", {"best_val_mae": 0.3}),
            ("acc-high", "binary", {"best_val_acc": 0.9}),
            ("mae-b", "regression", {"best_val_mae": 0.2}),
            ("mae-c", "regression", {"best_val_mae": 0.25})]:
        naive = {f"naive_{k[5:]}": 0.5 if "acc" in k else 0.4 for k in metrics}
        run = client.create_run(exp, start_time=1000, run_name=name,
                                tags={"mlflow.runName": name, **({"task": task} if task else {})})
        client.log_batch(run.info.run_id, [Metric(k, v, 0, 0) for k, v in
                                           {**metrics, **naive}.items()])
        client.set_terminated(run.info.run_id, "FINISHED" if task else "FAILED", end_time=62000)
    df = leaderboard(client, experiment_id=exp)
    assert list(df["run"]) == ["mae-b", "mae-c", "mae-a", "acc-high", "acc-low", "failed"]
    assert list(df["rank"][:5]) == [1, 2, 3, 1, 2] and pd.isna(df["rank"][5])
    assert "task" in df.columns and df["duration_s"][0] == 61.0
    assert "1m01s" in tables.format_table(df)
    assert summary(df) is df  # no seeds: one row per run
    only_failed = df[df["run"] == "failed"]
    assert "failed" in tables.format_table(only_failed)


# ---------------------------------------------------------------- seed-aware comparison

def add_seeds(client, exp: str, parent: str, model: str, maes: list[float],
              naive: float = 0.4, skills: list[float] | None = None) -> None:
    """One child run per seed of ``model=<model>``, with the given best val MAEs."""
    skills = skills or [1 - m / naive for m in maes]
    for seed, (mae, skill) in enumerate(zip(maes, skills)):
        add_run(client, exp, f"model={model},trainer.seed={seed}", "FINISHED",
                {**SHARED, "model.name": model, "trainer.seed": str(seed)},
                {"best_val_mae": mae, "naive_val_mae": naive, "val_skill": skill,
                 "epochs_run": 2}, {"task": "regression"}, parent=parent)


@pytest.fixture(scope="module")
def seeds(store) -> dict:
    """Sweeps of seed replicates (experiment "seeds" of the same store): gru/stacked/dense x 3
    seeds + lstm x 1; two configurations either side of the skill-CI boundary; and a sweep
    whose seeds do not replicate."""
    client = store["client"]
    exp = client.create_experiment("seeds")
    ids = {name: add_run(client, exp, name, "FINISHED", {}, {}, {"seqexp.sweep": "true"})
           for name in ("main", "boundary", "single", "failed")}
    add_seeds(client, exp, ids["main"], "dense", [0.36, 0.37, 0.41])
    add_seeds(client, exp, ids["main"], "gru", [0.30, 0.32, 0.34])
    add_seeds(client, exp, ids["main"], "stacked", [0.31, 0.33, 0.35])
    add_seeds(client, exp, ids["main"], "lstm", [0.33])
    # skill CI low = 0.1 - t(0.975, 2) * d / sqrt(3) = 0.1 - 2.48414 d: +0.000635 vs -0.000111
    for model, d in [("above", 0.04), ("below", 0.0403)]:
        skills = [0.1 - d, 0.1, 0.1 + d]
        add_seeds(client, exp, ids["boundary"], model, [0.4 * (1 - s) for s in skills],
                  skills=skills)
    add_run(client, exp, "model=gru,trainer.seed=0", "FINISHED",
            {"model.name": "gru", "trainer.seed": "0"}, regression(0.3), {"task": "regression"},
            parent=ids["single"])
    add_run(client, exp, "model=dense,trainer.seed=1", "FINISHED",
            {"model.name": "dense", "trainer.seed": "1"}, regression(0.35),
            {"task": "regression"}, parent=ids["single"])
    for seed in ("0", "1"):
        add_run(client, exp, f"model=conv,trainer.seed={seed}", "FAILED",
                {"model.name": "conv", "trainer.seed": seed}, {}, {"error": "nope"},
                parent=ids["failed"])
    return {"client": client, "ids": ids}


def test_seed_replicates_are_grouped_with_intervals_and_welch_p_values(seeds):
    from scipy import stats

    board = leaderboard(seeds["client"], parent_run_id=seeds["ids"]["main"])
    df = summary(board).set_index("run")
    assert list(df.index) == ["model=gru", "model=stacked", "model=lstm", "model=dense"]
    assert list(df["rank"]) == [1, 2, 3, 4] and list(df["n"]) == [3, 3, 1, 3]
    gru = df.loc["model=gru"]
    # by hand: mean 0.32, std 0.02, t(0.975, df=2) = 4.3027, half-width 4.3027 * 0.02 / sqrt(3)
    assert gru["best_val_mae_mean"] == pytest.approx(0.32)
    assert gru["best_val_mae_std"] == pytest.approx(0.02)
    assert gru["best_val_mae_ci_low"] == pytest.approx(0.32 - 0.049683, abs=1e-6)
    assert gru["best_val_mae_ci_high"] == pytest.approx(0.32 + 0.049683, abs=1e-6)
    assert gru["val_skill_mean"] == pytest.approx(0.2)
    assert gru["val_skill_std"] == pytest.approx(0.05)
    assert gru["val_skill_ci_low"] == pytest.approx(0.2 - 4.302653 * 0.05 / 3 ** 0.5)
    dense = [0.36, 0.37, 0.41]
    low, high = stats.t.interval(0.95, 2, loc=np.mean(dense), scale=stats.sem(dense))
    assert df.loc["model=dense", "best_val_mae_ci_low"] == pytest.approx(low)
    assert df.loc["model=dense", "best_val_mae_ci_high"] == pytest.approx(high)
    welch = stats.ttest_ind([0.30, 0.32, 0.34], dense, equal_var=False).pvalue
    assert df.loc["model=dense", "p_vs_best"] == pytest.approx(welch)
    assert 0.01 < welch < 0.05  # by hand: t = -3.13 on 3.7 Welch df
    assert df.loc["model=stacked", "p_vs_best"] == pytest.approx(
        stats.ttest_ind([0.30, 0.32, 0.34], [0.31, 0.33, 0.35], equal_var=False).pvalue)
    assert pd.isna(gru["p_vs_best"])  # the best is not tested against itself
    lstm = df.loc["model=lstm"]  # n=1: no interval, no p-value, no verdict
    assert lstm["best_val_mae_mean"] == 0.33 and pd.isna(lstm["best_val_mae_std"])
    assert pd.isna(lstm["best_val_mae_ci_low"]) and pd.isna(lstm["p_vs_best"])
    assert pd.isna(lstm["beats_baseline"])
    assert list(df["beats_baseline"].iloc[[0, 1, 3]]) == [True, True, False]
    assert "trainer.seed" not in df.columns and "model.name" in df.columns
    assert len(gru["run_ids"].split()) == 3


def test_grouped_table_says_which_configurations_cannot_be_told_apart(seeds):
    board = leaderboard(seeds["client"], parent_run_id=seeds["ids"]["main"])
    table = tables.format_table(summary(board))
    header = table.splitlines()[0]
    for column in ("#", "run", "n", "best_val_mae", "95% CI", "val_skill", "skill 95% CI",
                   "beats baseline", "p vs best"):
        assert column in header
    row = {line.split()[1]: line for line in table.splitlines()[1:5]}
    assert "0.3200 ± 0.0200" in row["model=gru"] and "[0.2703, 0.3697]" in row["model=gru"]
    assert " best " in row["model=gru"] and " yes " in row["model=gru"]
    assert row["model=lstm"].count("n/a") == 4  # metric CI, skill CI, verdict, p-value
    assert ("not distinguishable from the best, model=gru (Welch p >= 0.05): model=stacked"
            in table)
    assert "no p-value (n < 2 or no variance): model=lstm" in table
    assert "beats the naive baseline (skill 95% CI above 0): model=gru, model=stacked" in table


def test_beating_the_baseline_needs_the_whole_skill_interval_above_zero(seeds):
    board = leaderboard(seeds["client"], parent_run_id=seeds["ids"]["boundary"])
    df = summary(board).set_index("run")
    assert df.loc["model=above", "val_skill_ci_low"] == pytest.approx(0.000635, abs=2e-6)
    assert df.loc["model=below", "val_skill_ci_low"] == pytest.approx(-0.000111, abs=2e-6)
    assert list(df.loc[["model=above", "model=below"], "beats_baseline"]) == [True, False]


def test_runs_whose_seeds_do_not_replicate_keep_the_per_run_table(seeds):
    board = leaderboard(seeds["client"], parent_run_id=seeds["ids"]["single"])
    assert summary(board) is board
    assert list(board["run"]) == ["model=gru,trainer.seed=0", "model=dense,trainer.seed=1"]
    assert "p vs best" not in tables.format_table(board)
    assert best_metrics(board) == {"sweep.best_val_mae": pytest.approx(0.3),
                                          "sweep.naive_val_mae": pytest.approx(0.4),
                                          "sweep.val_skill": pytest.approx(0.25),
                                          "sweep.best_val_mae_degc": pytest.approx(2.4),
                                          "sweep.naive_val_mae_degc": pytest.approx(3.2)}


def test_sweep_files_and_metrics_of_the_best_configuration(seeds, tmp_path):
    from matplotlib.container import ErrorbarContainer

    board = leaderboard(seeds["client"], parent_run_id=seeds["ids"]["main"])
    paths = write_leaderboard(board, tmp_path)
    assert [p.name for p in paths] == ["leaderboard.md", "leaderboard.csv", "leaderboard.png"]
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = pd.read_csv(paths[1])
    assert list(csv["run"]) == ["model=gru", "model=stacked", "model=lstm", "model=dense"]
    assert csv["best_val_mae_ci_low"][0] == pytest.approx(0.32 - 0.049683, abs=1e-6)
    md = paths[0].read_text()
    assert "| 1 | model=gru | 3 | 0.3200 ± 0.0200 | [0.2703, 0.3697] |" in md
    assert "not distinguishable from the best" in md
    fig = tables.figure([("main", summary(board))])
    bars = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 1 and len(fig.axes[0].patches) == 4  # one bar per configuration
    metrics = best_metrics(board)
    assert metrics["sweep.best_val_mae_mean"] == pytest.approx(0.32)
    assert metrics["sweep.best_val_mae_ci_low"] == pytest.approx(0.32 - 0.049683, abs=1e-6)
    assert metrics["sweep.val_skill_mean"] == pytest.approx(0.2)
    assert metrics["sweep.best_n"] == 3 and metrics["sweep.best_beats_baseline"] == 1.0


def test_seed_replicates_that_all_failed_are_one_unranked_row(seeds, tmp_path):
    board = leaderboard(seeds["client"], parent_run_id=seeds["ids"]["failed"])
    df = summary(board)
    assert list(df["run"]) == ["model=conv"] and list(df["n"]) == [0]
    assert pd.isna(df["rank"][0]) and df["status"][0] == "FAILED"
    assert "model=conv" in tables.format_table(df) and best_metrics(board) == {}
    assert write_leaderboard(board, tmp_path)[2].is_file()


def test_an_empty_experiment_and_a_sweep_without_children(store, tmp_path, capsys):
    client = store["client"]
    exp = client.create_experiment("empty")
    code, out, err = cli("--uri", store["uri"], "--experiment", "empty", "--out", str(tmp_path),
                         capsys=capsys)
    assert code == 0, err
    assert "experiment empty has no runs" in out and (tmp_path / "leaderboard.png").is_file()
    lone = add_run(client, exp, "lone", "FINISHED", {}, {}, {})
    board = leaderboard(client, parent_run_id=lone)
    assert board.empty and summary(board) is board and best_metrics(board) == {}
    assert tables.format_table(board).split()[:2] == ["#", "run"]
