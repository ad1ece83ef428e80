"""What recreates a run: its commit, dirty flag and diff (untracked files too), the installed
packages and versions; and the differences seqexp-rerun reports. On a real git repository."""

from __future__ import annotations

import platform
import subprocess

import pytest

from seqexp.tracking import provenance


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A git checkout standing in for seqexp's own (source_root)."""
    repo = tmp_path / "repo"
    (repo / "seqexp").mkdir(parents=True)
    (repo / "seqexp" / "model.py").write_text("UNITS = 32\n")
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "first")
    monkeypatch.setattr(provenance, "source_root", lambda: repo)
    return repo


class Recorder:
    """Stands in for a tracking Run: what record() tags and logs."""

    def __init__(self):
        self.tags, self.texts = {}, {}

    def set_tags(self, tags):
        self.tags.update({k: str(v) for k, v in tags.items() if v is not None})

    def log_text(self, text, name):
        self.texts[name] = text


def test_a_clean_checkout_records_commit_versions_and_packages(checkout):
    run = Recorder()
    provenance.record(run, "tensorflow")
    head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    assert run.tags[provenance.COMMIT_TAG] == head and run.tags[provenance.DIRTY_TAG] == "false"
    assert run.tags["python_version"] == platform.python_version()
    import keras

    assert run.tags["keras_version"] == keras.__version__
    assert run.tags["keras_backend"] == "tensorflow" and run.tags["backend_version"][0].isdigit()
    packages = provenance.parse_requirements(run.texts[provenance.REQUIREMENTS])
    assert packages["keras"] == keras.__version__ and "mlflow" in packages
    assert provenance.DIFF not in run.texts
    # the same checkout and environment: nothing differs
    assert provenance.differences(run.tags, run.texts[provenance.REQUIREMENTS], None) == []


def test_a_dirty_checkout_records_its_diff_with_untracked_files(checkout):
    (checkout / "seqexp" / "model.py").write_text("UNITS = 64\n")
    (checkout / "seqexp" / "new.py").write_text("NEW = True\n")
    run = Recorder()
    provenance.record(run, "jax")
    assert run.tags[provenance.DIRTY_TAG] == "true" and run.tags["keras_backend"] == "jax"
    diff = run.texts[provenance.DIFF]
    assert "-UNITS = 32" in diff and "+UNITS = 64" in diff
    assert "+++ b/seqexp/new.py" in diff and "+NEW = True" in diff
    # the diff applies to the recorded commit: what recreates the tree
    git(checkout, "stash", "-u")
    (checkout / "run.diff").write_text(diff)
    git(checkout, "apply", "run.diff")
    assert (checkout / "seqexp" / "model.py").read_text() == "UNITS = 64\n"
    assert (checkout / "seqexp" / "new.py").read_text() == "NEW = True\n"


def test_differences_name_the_commit_the_tree_and_the_packages(checkout):
    run = Recorder()
    provenance.record(run, "tensorflow")
    recorded = run.texts[provenance.REQUIREMENTS].replace(
        f"keras=={provenance.version_of('keras')}", "keras==3.0.0")
    tags = {**run.tags, provenance.COMMIT_TAG: "0123456789abcdef", "python_version": "3.9.1"}
    (checkout / "seqexp" / "model.py").write_text("UNITS = 8\n")
    found = provenance.differences(tags, recorded + "gone-package==1.0\n", None)
    assert found[0].startswith("code: the run was at commit 0123456789ab, this checkout is at")
    assert found[1] == ("code: this tree has uncommitted changes the run did not have "
                        "(git diff HEAD)")
    assert found[2].startswith("packages: 2 differ from the run's environment/requirements.txt:")
    assert f"keras 3.0.0 -> {provenance.version_of('keras')}" in found[2]
    assert "gone-package 1.0 -> -" in found[2]
    assert found[3] == f"python: the run used 3.9.1, this is {platform.python_version()}"


def test_outside_a_checkout_nothing_is_claimed(tmp_path, monkeypatch):
    monkeypatch.setattr(provenance, "source_root", lambda: tmp_path)
    run = Recorder()
    provenance.record(run, "tensorflow")
    assert provenance.COMMIT_TAG not in run.tags and provenance.DIRTY_TAG not in run.tags
    assert provenance.REQUIREMENTS in run.texts


@pytest.mark.slow  # two trainings (TensorFlow processes): make test-slow
def test_seqexp_rerun_recreates_a_recorded_run(tmp_path, new_store):
    """A run on a copy of the bundled sample, the copy then gone (a record from another
    machine): seqexp-rerun says the code and packages are the same, reads the bundled sample,
    and the new run has the recorded run's params, data and code."""
    import os
    import shutil
    import sys
    from pathlib import Path

    from mlflow.tracking import MlflowClient

    from seqexp.config.schemas import bundled_file
    from tests.test_end_to_end import only_run, seqexp

    uri = new_store(tmp_path / "s.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sample = shutil.copy(bundled_file("jena_sample.csv.zip"), elsewhere)
    first = seqexp(f"dataset.path={sample}", "model.units=8", "trainer.seed=3",
                   "trainer.epochs=1", "trainer.steps_per_epoch=2", "tracking.log_model=false",
                   "tracking.system_metrics=false", f"tracking.uri={uri}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    client, original = only_run(uri)
    shutil.rmtree(elsewhere)
    rerun = [str(Path(sys.executable).with_name("seqexp-rerun")), original.info.run_id,
             "--uri", uri]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    check = subprocess.run([*rerun, "--check"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=300)
    assert check.returncode == 0 and check.stdout.splitlines() == [
        f"seqexp-rerun: the same code and packages as run {original.info.run_id}"], check
    out = subprocess.run(rerun, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert ("seqexp-rerun: dataset.path: the run's bundled jena_sample.csv.zip is read from "
            "this install") in out.stdout
    runs = client.search_runs([original.info.experiment_id], order_by=["start_time DESC"])
    again = MlflowClient(tracking_uri=uri).get_run(runs[0].info.run_id)
    assert again.info.run_id != original.info.run_id and again.info.status == "FINISHED"
    assert again.info.run_name == f"rerun of {original.info.run_name}"
    assert again.data.params.pop("extra.rerun_of") == original.info.run_id
    before, after = dict(original.data.params), dict(again.data.params)
    for params in (before, after):
        params.pop("dataset.path")
        params.pop("tracking.run_name", None)
    assert after == before and after["model.units"] == "8" and after["trainer.seed"] == "3"
    for tag in ("data.sha256", "mlflow.source.git.commit", "git.dirty", "keras_version"):
        assert again.data.tags[tag] == original.data.tags[tag], tag
