"""`seqexp-book` end to end on generated data in the real formats: one MLflow sweep (a parent
run, a child per preset and seed), presets without data skipped with the reason, and
book.md / book.csv / book.png comparing seqexp with the figures in the presets' book blocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from scipy import stats

from seqexp.reporting.book import presets, render, sources, verdicts
from tests.conftest import compose_cfg
from tests.textdata import (
    COMMON,
    NEGATIVE,
    POSITIVE,
    glove_vectors,
    make_aclimdb_tar,
    make_glove,
    make_imdb_npz,
)

# the presets' windows and splits shrunk to a 4,000-row generated record (book ratios)
JENA_SMALL = ["jena:dataset.lookback=288", "jena:dataset.step=2", "jena:dataset.delay=12",
              "jena:dataset.train=[0,2400]", "jena:dataset.val=[2401,3200]",
              "jena:dataset.test=[3201,null]", "jena:dataset.stride=4"]
RAW_SMALL = ["raw-imdb:dataset.train_samples=20", "raw-imdb:dataset.val_samples=20"]


def seqexp_book(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "seqexp.cli.book", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def test_every_preset_states_what_the_book_reports():
    chapter = [p for p in presets.load_presets() if p.chapter == presets.CHAPTER]
    assert len(chapter) == 15
    for preset in chapter:
        assert preset.book["listing"] == preset.name.split("-")[0], preset.name
        assert preset.metric in ("best_val_mae", "best_val_acc"), preset.name
        assert (preset.metric == "best_val_mae") == (preset.dataset == "jena")
        low, high = verdicts.book_range(preset)
        assert low is not None and low <= high, preset.name
        reported = preset.book.get("reported")
        assert reported is None or low <= reported <= high, preset.name
    # the block is part of the composed config, not a setting: no run logs it as a param
    cfg = compose_cfg("experiment=book/6.39-gru")
    assert cfg.book.reported == 0.265 and compose_cfg().book is None


def test_verdicts_follow_the_metrics_direction():
    mae = presets.Preset("6.39-gru", "jena", "numeric", None,
                      {"listing": "6.39", "metric": "best_val_mae", "reported": 0.265,
                       "range": [0.26, 0.27]})
    acc = presets.Preset("6.27-lstm", "imdb", "embedding", 32,
                      {"listing": "6.27", "metric": "best_val_acc", "reported": 0.89,
                       "range": [0.87, 0.9]})
    assert verdicts.verdict(mae, 0.262) == "within the book's range"
    assert verdicts.verdict(mae, 0.25) == "better" and verdicts.verdict(mae, 0.3) == "worse"
    assert verdicts.verdict(acc, 0.91) == "better" and verdicts.verdict(acc, 0.8) == "worse"
    assert verdicts.verdict(acc, 0.88) == "within the book's range"


def test_without_data_every_preset_is_skipped_with_why(tmp_path):
    out = seqexp_book("--offline", "--out", str(tmp_path / "book"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    frame = pd.read_csv(tmp_path / "book" / "book.csv", dtype={"listing": str})
    assert len(frame) >= 15 and (frame["runs"] == 0).all()
    why = dict(zip(frame["listing"], frame["verdict"]))
    others = [listing for listing in why if not listing.startswith("6.")]
    assert all(why[listing].startswith(f"skipped: chapter {listing.split('.')[0]}, not in "
                                       "chapter 6's table") for listing in others)
    assert why["6.39"].startswith("skipped: no Jena record: pass --jena")
    assert why["6.27"].startswith("skipped: no imdb.npz: pass --imdb")
    assert why["6.16"].startswith("skipped: no raw IMDB reviews: pass --raw-imdb")
    assert "| 6.39 | book/6.39-gru | best_val_mae | 0.265 [0.26, 0.27] | - | - " \
        "| - (book: 0.29) | skipped" in \
        (tmp_path / "book" / "book.md").read_text()
    assert not (tmp_path / "mlflow.db").exists()  # nothing ran, no sweep


def test_glove_without_vectors_is_skipped(tmp_path):
    archive = make_aclimdb_tar(tmp_path, train=5, test=2)
    preset = [p for p in presets.load_presets() if p.encoder == "glove"][0]
    overrides, why = sources.plan(preset, sources.Sources(raw_imdb=archive))
    assert overrides is None and why.startswith("no GloVe vectors: pass --glove")
    glove = make_glove(tmp_path, glove_vectors(COMMON, 7), fmt="txt")
    overrides, _ = sources.plan(preset, sources.Sources(raw_imdb=archive, glove=glove))
    assert overrides == {"dataset": {"path": str(archive)},
                         "encoder": {"path": str(glove), "dim": 7}}


def fake_run(name: str, status: str = "FINISHED", **metrics: float) -> SimpleNamespace:
    """What table() reads of an MLflow run: its name tag, status and metrics."""
    return SimpleNamespace(info=SimpleNamespace(status=status),
                           data=SimpleNamespace(tags={"mlflow.runName": name}, metrics=metrics))


def test_one_seed_has_no_spread_and_no_interval():
    chosen = presets.load_presets(["6.7-imdb-embedding", "6.27-lstm"])
    values = [0.88, 0.89, 0.86]
    runs = [fake_run("book/6.7-imdb-embedding seed=0", best_val_acc=0.762, naive_val_acc=0.5)]
    runs += [fake_run(f"book/6.27-lstm seed={i}", best_val_acc=v, naive_val_acc=0.49)
             for i, v in enumerate(values)]
    frame = verdicts.table(chosen, runs, {}, {}).set_index("listing")
    one, three = frame.loc["6.7"], frame.loc["6.27"]
    assert one["runs"] == 1 and one["mean"] == 0.762
    assert pd.isna(one["std"]) and pd.isna(one["ci_low"]) and pd.isna(one["ci_high"])
    half = stats.t.ppf(0.975, 2) * np.std(values, ddof=1) / np.sqrt(3)
    assert three["ci_low"] == pytest.approx(np.mean(values) - half)
    assert three["ci_high"] == pytest.approx(np.mean(values) + half)
    md = render.markdown(frame.reset_index(), "t")
    assert "| 0.7620 +- n/a (1) | n/a | 0.5000 |" in md and "+- 0.0000" not in md
    assert (f"| 0.8767 +- {np.std(values, ddof=1):.4f} (3) | [{np.mean(values) - half:.4f}, "
            f"{np.mean(values) + half:.4f}] | 0.4900 |") in md


def test_a_stopped_preset_says_resume_and_a_failed_one_failed():
    chosen = presets.load_presets(["6.7-imdb-embedding", "6.27-lstm", "6.46-imdb-conv"])
    runs = [fake_run("book/6.7-imdb-embedding seed=0", "KILLED"),
            fake_run("book/6.27-lstm seed=0", "FAILED"), fake_run("book/6.27-lstm seed=1")]
    frame = verdicts.table(chosen, runs, {}, {}).set_index("listing")
    assert frame.loc["6.7", "verdict"] == "stopped (1 run; --resume continues)"
    assert frame.loc["6.27", "verdict"] == "failed (2 runs, none finished)"
    assert frame.loc["6.46", "verdict"] == "not run"


@pytest.mark.slow
def test_book_quick_on_generated_data_is_one_sweep(tmp_path, jena_csv):
    archive = make_aclimdb_tar(tmp_path, train=30, test=10)
    glove = make_glove(tmp_path, glove_vectors(COMMON + POSITIVE + NEGATIVE, 12), fmt="gz")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ("--quick", "--seeds", "2", "--offline", "--only", "6.39", "6.12", "6.7",
            "--jena", str(jena_csv), "--raw-imdb", str(archive), "--glove", str(glove),
            "--uri", uri, "--out", str(tmp_path / "book"), "trainer.verbose=0",
            *JENA_SMALL, *RAW_SMALL)
    out = seqexp_book(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "skipped book/6.7-imdb-embedding: no imdb.npz" in out.stdout

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("seqexp-book")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("seqexp.sweep") == "true"]
    assert len(parents) == 1 and len(runs) == 5  # one sweep: 2 presets x 2 seeds
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.info.run_name for r in children) == [
        "book/6.12-raw-imdb-glove seed=0", "book/6.12-raw-imdb-glove seed=1",
        "book/6.39-gru seed=0", "book/6.39-gru seed=1"]
    assert {r.data.params["trainer.seed"] for r in children} == {"0", "1"}
    glove_runs = [r for r in children if "glove" in r.info.run_name]
    assert {r.data.params["encoder.dim"] for r in glove_runs} == {"12"}  # read from the file
    assert all(r.data.params["trainer.epochs"] == "1" for r in children)  # --quick
    assert not any(key.startswith("book.") for r in children for key in r.data.params)

    frame = pd.read_csv(tmp_path / "book" / "book.csv", dtype={"listing": str})
    rows = frame.set_index("listing")
    gru = rows.loc["6.39"]
    values = [r.data.metrics["best_val_mae"] for r in children if "gru" in r.info.run_name]
    assert gru["runs"] == 2 and gru["mean"] == pytest.approx(sum(values) / 2)
    assert gru["std"] == pytest.approx(pd.Series(values).std())
    assert gru["naive"] == pytest.approx(
        [r for r in children if "gru" in r.info.run_name][0].data.metrics["naive_val_mae"])
    assert gru["verdict"] in verdicts.VERDICTS and gru["book_reported"] == 0.265
    assert rows.loc["6.12"]["verdict"] in verdicts.VERDICTS
    assert "GloVe 12d" in rows.loc["6.12"]["notes"]
    assert rows.loc["6.7"]["verdict"].startswith("skipped: no imdb.npz") and \
        rows.loc["6.7"]["runs"] == 0
    md = (tmp_path / "book" / "book.md").read_text()
    assert "| 6.39 | book/6.39-gru | best_val_mae | 0.265" in md
    assert (tmp_path / "book" / "book.png").stat().st_size > 10_000
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "book")}
    assert artifacts == {"book/book.md", "book/book.csv", "book/book.png"}

    # --resume: the same sweep continued; every job was done: reused, nothing trains again
    again = seqexp_book(*args, "--resume", cwd=tmp_path)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert again.stderr.count("FINISHED, reused") == 4
    assert f"MLflow parent run {parent.info.run_id}" in again.stdout
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 5 and {r.info.status for r in runs} == {"FINISHED"}
    rerun = pd.read_csv(tmp_path / "book" / "book.csv", dtype={"listing": str})
    assert rerun.set_index("listing").loc["6.39"]["mean"] == pytest.approx(gru["mean"])

    # --resume of a sweep that differs: the sweep's one refusal line, nothing after it
    refused = seqexp_book(*args, "trainer.batch_size=16", "--resume", cwd=tmp_path)
    assert refused.returncode == 2, refused.stdout[-3000:] + refused.stderr[-3000:]
    errors = [line for line in refused.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "differs from the recorded one in trainer.batch_size" in \
        errors[0], refused.stderr
    assert len(client.search_runs([exp.experiment_id])) == 5


@pytest.mark.slow  # a real sweep stopped mid-training (~1 min)
def test_a_sigterm_to_seqexp_book_alone_stops_the_sweep_at_a_safe_point(tmp_path, jena_csv):
    """SIGTERM to seqexp-book's own process (a scheduler, ``kill``), not its group: the sweep
    stops at the next batch end (the run KILLED, not left RUNNING by a killed or orphaned
    child), the table says --resume continues, exit code 130."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ("--seeds", "1", "--offline", "--only", "6.39", "--jena", str(jena_csv),
            "--uri", uri, "--out", str(tmp_path / "book"), "trainer.epochs=40",
            "trainer.verbose=2", *JENA_SMALL)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    book = subprocess.Popen([sys.executable, "-m", "seqexp.cli.book", *args], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    seen = []
    for line in book.stdout:
        seen.append(line)
        if line.startswith("Epoch 3/40"):
            book.send_signal(signal.SIGTERM)
            break
    seen += book.stdout.readlines()
    assert book.wait(timeout=300) == 130, "".join(seen)[-3000:]
    text = "".join(seen)
    assert "| 6.39 |" in text and "stopped (1 run; --resume continues)" in text, text[-3000:]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("seqexp-book").experiment_id])
    job = [r for r in runs if r.info.run_name == "book/6.39-gru seed=0"]
    assert len(job) == 1 and job[0].info.status == "KILLED", [r.info for r in runs]
    logged = len(client.get_metric_history(job[0].info.run_id, "val_mae"))
    assert 2 <= logged < 40


def test_a_missing_file_is_one_line_and_exit_2(tmp_path):
    out = seqexp_book("--jena", str(tmp_path / "nope.csv"), cwd=tmp_path)
    assert out.returncode == 2
    assert "--jena" in out.stderr and "does not exist" in out.stderr


@pytest.mark.slow
def test_every_preset_quick_on_generated_data(tmp_path, jena_csv):
    npz, index, _ = make_imdb_npz(tmp_path, train=40, test=20)
    archive = make_aclimdb_tar(tmp_path, train=30, test=10)
    glove = make_glove(tmp_path, glove_vectors(COMMON + POSITIVE + NEGATIVE, 12), fmt="gz")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = seqexp_book("--quick", "--seeds", "1", "--offline", "--jena", str(jena_csv),
                      "--imdb", str(npz), "--raw-imdb", str(archive), "--glove", str(glove),
                      "--uri", uri, "--out", str(tmp_path / "book"), "trainer.verbose=0",
                      "imdb:dataset.sha256=null", "imdb:dataset.maxlen=60",
                      *JENA_SMALL, *RAW_SMALL, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    frame = pd.read_csv(tmp_path / "book" / "book.csv", dtype={"listing": str})
    frame = frame[frame["listing"].str.startswith("6.")]
    assert len(frame) == 15 and (frame["runs"] == 1).all()
    assert frame["verdict"].isin(verdicts.VERDICTS).all()
