"""Multiruns: one MLflow parent per sweep with a child per job, failing jobs recorded while
the sweep goes on, the closing leaderboard, parallel jobs on one sqlite store, Optuna."""

from __future__ import annotations

import re

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SMALL_JENA
from tests.test_end_to_end import seqexp

FAST = ["trainer.epochs=2", "trainer.steps_per_epoch=2", "trainer.batch_size=32",
        "tracking.log_model=false", "tracking.system_metrics=false", "trainer.verbose=0"]
SAID = [*FAST[:-1], "trainer.verbose=2"]  # the jobs' lines shown (issue 21)
TIME = r"(?:\d+s|\d+m\d\ds|\d+h\d\dm)"  # 45s, 3m12s, 1h05m
JOB_LINE = (r"seqexp: job (\d) of (\d) (done|failed)(: val mae \d+\.\d{4} vs baseline \d+\.\d{4} "
            rf"\(skill [+-]\d+\.\d{{3}}\))?, elapsed {TIME}, (?:about {TIME} left|none left)")


def job_lines(stderr: str) -> list[tuple[str, ...]]:
    """``(k, N, done|failed, score)`` of each job's line, in the order printed."""
    return [match.groups()[:4] for match in re.finditer(JOB_LINE, stderr)]


def sweep_runs(uri: str):
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("seqexp")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("seqexp.sweep") == "true"]
    assert len(parents) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    return client, parents[0], children


def failing_sweep(tmp_path, jena_csv, uri):
    """Run the 3-job sweep whose third job fails; check it; return what it recorded."""
    # conv cannot be built on 24-step windows: that job fails, the other two go on.
    out = seqexp("-m", "model=gru,dense,conv", "dataset=jena", f"dataset.path={jena_csv}",
                 *SMALL_JENA, *SAID, f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 1, out.stderr[-3000:]
    # as each job ends: k of N, its score against the baseline, the time spent and left
    lines = job_lines(out.stderr)
    assert [line[:3] for line in lines] == [("1", "3", "done"), ("2", "3", "done"),
                                            ("3", "3", "failed")], out.stderr[-3000:]
    assert all(line[3] for line in lines[:2]) and lines[2][3] is None
    assert len(re.findall(rf"about {TIME} left", out.stderr)) == 2
    assert "seqexp: 1 of 3 jobs failed: model=conv (FAILED)" in out.stderr
    table = out.stdout[out.stdout.rindex("best_val_mae") - 200:]
    assert "model=gru" in table and "model=dense" in table and "model=conv" in table

    client, parent, children = sweep_runs(uri)
    assert parent.info.status == "FAILED"
    assert parent.data.metrics["sweep.jobs"] == 3 and parent.data.metrics["sweep.jobs_failed"] == 1
    by_name = {r.info.run_name: r for r in children}
    assert set(by_name) == {"model=gru", "model=dense", "model=conv"}
    assert by_name["model=conv"].info.status == "FAILED"
    assert "cannot be built" in by_name["model=conv"].data.tags["error"]
    finished = [by_name["model=gru"], by_name["model=dense"]]
    assert all(r.info.status == "FINISHED" for r in finished)
    best = min(finished, key=lambda r: r.data.metrics["best_val_mae"])
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.data.metrics["sweep.best_val_mae"] == pytest.approx(
        best.data.metrics["best_val_mae"])
    assert "best_val_mae" not in parent.data.metrics  # the parent does not read as a run
    # the leaderboard on the parent: files, and a description linking the best child
    files = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"leaderboard.md", "leaderboard.csv", "leaderboard.png"} <= files
    note = parent.data.tags["mlflow.note.content"]
    assert f"#/experiments/{parent.info.experiment_id}/runs/{best.info.run_id})" in note
    assert all(name in note for name in ("model=gru", "model=dense", "model=conv"))
    for run in finished:
        assert len(client.get_metric_history(run.info.run_id, "val_mae")) == 2
        assert "naive_val_mae" in run.data.metrics
    return client, parent, by_name, best


def test_basic_sweep_with_a_failing_job(tmp_path, jena_csv, new_store):
    failing_sweep(tmp_path, jena_csv, new_store(tmp_path / "sweep.db"))


@pytest.mark.slow  # two sweeps and a refusal: make test-slow (keeps make test <= 5 min)
def test_a_failed_sweep_resumes_and_refuses_a_different_one(tmp_path, jena_csv, new_store):
    uri = new_store(tmp_path / "sweep.db")
    client, parent, by_name, best = failing_sweep(tmp_path, jena_csv, uri)
    # sweep.resume=last: the same parent; the finished jobs reused (same runs, no new epoch),
    # the job that failed on its data runs again and fails the same way, in a new child
    again = seqexp("-m", "model=gru,dense,conv", "dataset=jena", f"dataset.path={jena_csv}",
                   *SMALL_JENA, *FAST, f"tracking.uri={uri}", "sweep.resume=last", cwd=tmp_path)
    assert again.returncode == 1, again.stderr[-3000:]
    assert f"sweep parent run {parent.info.run_id}" in again.stdout
    assert again.stderr.count("FINISHED, reused") == 2
    _, resumed, children = sweep_runs(uri)
    assert resumed.info.run_id == parent.info.run_id and resumed.info.status == "FAILED"
    by_name_now = {r.info.run_name: r for r in children}
    assert len(children) == 3 and set(by_name_now) == set(by_name)
    for name in ("model=gru", "model=dense"):
        assert by_name_now[name].info.run_id == by_name[name].info.run_id
        assert len(client.get_metric_history(by_name[name].info.run_id, "val_mae")) == 2
    conv = by_name_now["model=conv"]
    assert conv.info.run_id != by_name["model=conv"].info.run_id
    assert conv.info.status == "FAILED" and "cannot be built" in conv.data.tags["error"]
    assert resumed.data.metrics["sweep.jobs"] == 3
    assert resumed.data.metrics["sweep.best_val_mae"] == pytest.approx(
        best.data.metrics["best_val_mae"])

    # a resume whose sweep differs is refused in one line naming the keys; nothing changes
    refused = seqexp("-m", "model=gru,lstm", "dataset=jena", f"dataset.path={jena_csv}",
                     *SMALL_JENA, *FAST[:-1], "trainer.verbose=1", "trainer.epochs=3",
                     f"tracking.uri={uri}", f"sweep.resume={parent.info.run_id}", cwd=tmp_path)
    assert refused.returncode == 2
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith(f"seqexp: error: sweep.resume={parent.info.run_id}: this sweep "
                           "differs from the recorded one in ")
    assert line.split(" in ", 1)[1].split(";")[0] == "trainer.epochs, model"
    _, unchanged, children = sweep_runs(uri)
    assert unchanged.info.status == "FAILED" and len(children) == 3


def test_sweep_resume_refusals(tmp_path, new_store):
    uri = new_store(tmp_path / "none.db")
    out = seqexp("-m", "model=gru,dense", *FAST, f"tracking.uri={uri}", "sweep.resume=last",
                 cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == (
        "seqexp: error: sweep.resume=last: no sweep in experiment seqexp of "
        f"{uri}; run it without sweep.resume first")
    single = seqexp("model=gru", *FAST, f"tracking.uri={uri}", "sweep.resume=last",
                    cwd=tmp_path)
    assert single.returncode == 2
    assert single.stderr.strip().splitlines()[-1].startswith(
        "seqexp: error: sweep.resume=last continues a sweep: run it with -m")


def test_refused_combination_in_a_sweep_is_a_failed_run(tmp_path, jena_csv, new_store):
    uri = new_store(tmp_path / "sweep.db")
    # the refused job only (that the other jobs go on is the test above's): nothing trains
    out = seqexp("-m", "encoder=glove", "dataset=jena", f"dataset.path={jena_csv}",
                 *SMALL_JENA, *FAST, "model=dense", f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 1
    _, _, children = sweep_runs(uri)
    (glove,) = children
    assert glove.info.run_name.startswith("encoder=glove")
    assert glove.info.status == "FAILED"
    assert "cannot encode dataset=jena" in glove.data.tags["error"]


def test_a_sweep_stopped_early_still_ends_its_parent(tmp_path, new_store):
    uri = new_store(tmp_path / "sweep.db")
    out = seqexp("-m", "model=gru,nope", *FAST, f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 2
    assert "Could not find 'model/nope'" in out.stderr.strip().splitlines()[-1]
    _, parent, children = sweep_runs(uri)
    assert parent.info.status == "FAILED" and "stopped before" in parent.data.tags["error"]
    assert parent.data.tags["seqexp.pid"] and not children


@pytest.mark.slow  # several TensorFlow processes: make test-slow (keeps make test <= 5 min)
def test_four_parallel_jobs_share_one_sqlite_store(tmp_path, jena_csv):
    """joblib launcher, 4 jobs in 2 worker processes at once (the machine's 2 cores), MLflow's
    default sqlite store: no lost run. 20 jobs: tests/test_load.py (slow)."""
    out = seqexp("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                 "model.units=4,8,12,16", "model=gru", "dataset=jena",
                 f"dataset.path={jena_csv}", *SMALL_JENA, *SAID, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "database is locked" not in out.stderr
    # the workers' lines: each count once, whichever worker ended it
    assert sorted(line[:3] for line in job_lines(out.stderr)) == [
        (str(k), "4", "done") for k in (1, 2, 3, 4)]
    client, parent, children = sweep_runs(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert sorted(r.data.params["model.units"] for r in children) == ["12", "16", "4", "8"]
    assert {r.info.status for r in children} == {"FINISHED"}
    assert len({r.data.tags["seqexp.pid"] for r in children}) > 1  # really other processes
    for run in children:
        assert len(client.get_metric_history(run.info.run_id, "val_mae")) == 2
    assert parent.info.status == "FINISHED"


def test_optuna_search_trials_are_child_runs(tmp_path, jena_csv, new_store):
    uri = new_store(tmp_path / "optuna.db")
    out = seqexp("hparams_search=jena-optuna", "hydra.sweeper.n_trials=3",
                 "hydra.sweeper.params={model.units: 'choice(4, 8)', "
                 "trainer.learning_rate: 'tag(log, interval(0.0001, 0.01))'}",
                 "model=gru", "dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA, *SAID,
                 f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert [line[:3] for line in job_lines(out.stderr)] == [
        (str(k), "3", "done") for k in (1, 2, 3)]  # N: the search's n_trials
    client, parent, children = sweep_runs(uri)
    assert len(children) == 3 and parent.data.tags["seqexp.sweeper"] == "OptunaSweeper"
    assert {r.info.status for r in children} == {"FINISHED"}
    assert parent.data.metrics["sweep.best_val_mae"] == pytest.approx(
        min(r.data.metrics["best_val_mae"] for r in children))
    # the study persists beside the MLflow store: each trial told its child's score
    import optuna

    storage = f"sqlite:///{tmp_path}/optuna.optuna.db"  # <store>.optuna.db beside the store
    study = optuna.load_study(study_name="seqexp-jena", storage=storage)
    trials = {str(t.number): t for t in study.get_trials()}
    assert {t.state.name for t in trials.values()} == {"COMPLETE"} and len(trials) == 3
    for run in children:
        trial = trials[run.data.tags["optuna.trial"]]
        assert trial.value == pytest.approx(run.data.metrics["best_val_mae"])
        assert run.data.params["model.units"] == str(trial.params["model.units"])
        assert sorted(trial.intermediate_values) == [0, 1]  # reported per epoch


@pytest.mark.slow  # 4 jobs; the grouped table itself is test_report's (fast)
def test_seed_replicates_close_the_sweep_with_a_grouped_table(tmp_path, jena_csv, new_store):
    """2 models x 2 seeds: the closing table has one row per model with n, mean ± std, its
    interval and a p-value; the parent records it (md, csv, png) and the best group's stats."""
    uri = new_store(tmp_path / "seeds.db")
    out = seqexp("-m", "model=gru,dense", "trainer.seed=0,1", "dataset=jena",
                 f"dataset.path={jena_csv}", *SMALL_JENA, "trainer.epochs=1",
                 "trainer.steps_per_epoch=2", "trainer.batch_size=32", "trainer.verbose=0",
                 "tracking.log_model=false", "tracking.system_metrics=false",
                 f"tracking.uri={uri}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    table = out.stdout[out.stdout.rindex("beats baseline") - 200:]
    rows = [line for line in table.splitlines() if line.startswith(("1 ", "2 "))]
    assert sorted(r.split()[1] for r in rows) == ["model=dense", "model=gru"]
    assert all(r.split()[2] == "2" and " ± " in r for r in rows)  # n=2 seeds each
    assert "seed=" not in table and "p vs best" in table

    client, parent, children = sweep_runs(uri)
    assert len(children) == 4
    best = rows[0].split()[1]
    maes = [r.data.metrics["best_val_mae"] for r in children if r.info.run_name.startswith(best)]
    assert parent.data.metrics["sweep.best_n"] == 2
    assert parent.data.metrics["sweep.best_val_mae_mean"] == pytest.approx(sum(maes) / 2)
    assert "sweep.best_val_mae_ci_low" in parent.data.metrics
    files = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"leaderboard.md", "leaderboard.csv", "leaderboard.png"} <= files
