"""Resuming a sweep (``sweep.resume=last|<parent run id>``) in its own parent run.

The sweep's side (:func:`reopen_parent`): find the recorded parent run, refuse in one line a
sweep whose spec differs (naming the keys) or one still running, and set it RUNNING again.
Each job's side (:func:`prepare`): find the child run that did this job before, by the
job's digest, and

- FINISHED: reuse it (no epoch trained; its recorded best validation score is returned);
- KILLED, RUNNING with its process gone, or FAILED by an interrupt: continue it from its
  backup through the single-job resume (``trainer.resume=<run id>``, same child run);
- FAILED for another reason (its config, its data, a bug), or interrupted before it had a
  backup: run the job again in a new child run (the old one is deleted, MLflow's soft
  delete); it fails again the same way if nothing changed, with its reason recorded.

A job with no child yet simply runs.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqexp import sweep_progress
from seqexp.errors import SeqexpError
from seqexp.tracking import identity, lifecycle, store
from seqexp.tracking.run import CHECKPOINT_TAG, Run

RESUME_ENV = "SEQEXP_SWEEP_RESUME"  # set for a resumed sweep's jobs: match recorded children
QUIET_DOWNLOADS = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}  # recorded configs, specs
INTERRUPTED = ("Interrupted", "KeyboardInterrupt", "interrupted", "SystemExit",
               "TerminatedWorkerError")


def alive(tags: dict[str, str]) -> bool:
    """Whether the process a run's ``seqexp.pid``/``seqexp.host`` tags name still runs (a
    process on another host counts as gone: its sweep was found stopped)."""
    if tags.get("seqexp.host") != socket.gethostname():
        return False
    try:
        pid = int(tags.get("seqexp.pid", ""))
    except ValueError:
        return False
    if pid == os.getpid():  # this process is the resumed sweep: the recorded one is gone
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


# ------------------------------------------------------------------------ the sweep's side

def _recorded_spec(client, run_id: str) -> dict[str, str] | None:
    from mlflow.exceptions import MlflowException

    for name, value in QUIET_DOWNLOADS.items():
        os.environ.setdefault(name, value)
    try:
        path = client.download_artifacts(run_id, identity.SPEC_ARTIFACT)
    except (MlflowException, OSError):
        return None
    with open(path) as fh:
        return json.load(fh)


def _parents(client, experiment: str, extra: str = "") -> list:
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id],
                              filter_string=f"tags.`seqexp.sweep` = 'true'{extra}",
                              order_by=["attributes.start_time DESC"], max_results=50)


def _refuse_differing(which: str, recorded: dict[str, str] | None,
                      spec: dict[str, str]) -> None:
    if recorded is None:
        raise SeqexpError(f"sweep.resume={which}: that sweep recorded no {identity.SPEC_ARTIFACT}"
                          " (made before sweeps could resume); start a new sweep without "
                          "sweep.resume")
    keys = identity.differing_keys(recorded, spec)
    if keys:
        raise SeqexpError(f"sweep.resume={which}: this sweep differs from the recorded one in "
                          f"{', '.join(keys)}; give the recorded overrides, or start a new "
                          "sweep without sweep.resume")


def find_parent(client, config: DictConfig, which: str, spec: dict[str, str]):
    """The parent run ``sweep.resume`` names (``last``: the latest sweep with this spec),
    checked against ``spec``; one line naming the fix otherwise."""
    from mlflow.exceptions import MlflowException

    experiment = config.tracking.experiment
    if which == "last":
        same = _parents(client, experiment,
                        f" and tags.`{identity.SWEEP_TAG}` = '{identity.digest(spec)}'")
        if same:
            return same[0]
        latest = _parents(client, experiment)
        if not latest:
            raise SeqexpError(f"sweep.resume=last: no sweep in experiment {experiment} of "
                              f"{store.tracking_uri(config) or 'the default MLflow store'}; "
                              "run it without sweep.resume first")
        _refuse_differing(f"last ({latest[0].info.run_id})",
                          _recorded_spec(client, latest[0].info.run_id), spec)
        return latest[0]
    try:
        parent = client.get_run(which)
    except MlflowException:
        raise SeqexpError(f"sweep.resume={which}: no such run in "
                          f"{store.tracking_uri(config) or 'the default MLflow store'}; give "
                          "a sweep's parent run id, or last") from None
    if parent.data.tags.get("seqexp.sweep") != "true":
        raise SeqexpError(f"sweep.resume={which}: that run is not a sweep's parent run; give "
                          "the id the sweep printed (seqexp: sweep parent run ...), or last")
    _refuse_differing(which, _recorded_spec(client, which), spec)
    return parent


def reopen_parent(config: DictConfig, which: str, spec: dict[str, str]) -> Run:
    """The recorded parent run, RUNNING again, owned by this process."""
    client = store.client_for(store.tracking_uri(config))
    parent = find_parent(client, config, which, spec)
    if parent.info.status == "RUNNING" and alive(parent.data.tags):
        raise SeqexpError(f"sweep.resume={which}: sweep {parent.info.run_id} is still running "
                          f"(pid {parent.data.tags.get('seqexp.pid')}); wait for it or stop it")
    client.update_run(parent.info.run_id, status="RUNNING")
    if "error" in parent.data.tags:
        client.delete_tag(parent.info.run_id, "error")
    return Run(client, parent.info.run_id, resumed=True,
                        uri=store.resolved_uri(store.tracking_uri(config)))


def record_spec(parent: Run, spec: dict[str, str]) -> None:
    """What a new sweep is, on its parent run: the spec (artifact) and its digest (tag)."""
    parent.log_text(json.dumps(spec, indent=1, sort_keys=True), identity.SPEC_ARTIFACT)
    parent.set_tags({identity.SWEEP_TAG: identity.digest(spec)})


# ------------------------------------------------------------------------ each job's side

def objective(metrics: dict[str, float]) -> float:
    """A finished child's best validation score (``best_val_<metric>``), what a job returns."""
    best = [v for k, v in metrics.items() if k.startswith("best_val_") and k.count("_") == 2]
    return best[0] if best else float("nan")


def _resumable(run) -> bool:
    folder = run.data.tags.get(CHECKPOINT_TAG)
    if not folder or not os.path.isdir(folder):
        return False
    status = run.info.status
    if status == "KILLED":
        return True
    if status == "RUNNING":
        return not alive(run.data.tags)
    return status == "FAILED" and run.data.tags.get("error", "").startswith(INTERRUPTED)


def _validated(cfg: DictConfig) -> DictConfig:
    """``cfg`` as the job records it: validated (``encoder=auto`` resolved), or as far as
    validation got when it refuses the config (what
    :func:`seqexp.tracking.lifecycle.record_failure` sees)."""
    import copy

    from seqexp.config import schemas

    probe = copy.deepcopy(cfg)
    try:
        schemas.validate(probe)
    except SeqexpError:
        pass
    return probe


def prepare(cfg: DictConfig) -> tuple[float | None, DictConfig]:
    """For a job of a resumed sweep: ``(score, cfg)`` where a score means the job was done
    before (reuse it), else the config to run (``trainer.resume`` set to continue a child).
    Outside a resumed sweep: ``(None, cfg)``."""
    parent = os.environ.get(lifecycle.PARENT_ENV)
    if not os.environ.get(RESUME_ENV) or not parent or cfg.trainer.get("resume"):
        return None, cfg
    client = store.client_for(store.tracking_uri(cfg))
    experiment = client.get_run(parent).info.experiment_id
    digest = identity.job_digest(_validated(cfg))
    children = client.search_runs(
        [experiment], filter_string=f"tags.`mlflow.parentRunId` = '{parent}' and "
                                    f"tags.`{identity.JOB_TAG}` = '{digest}'",
        order_by=["attributes.start_time DESC"])
    finished = [r for r in children if r.info.status == "FINISHED"]
    if finished:
        run = finished[0]
        print(f"seqexp: job done before: run {run.info.run_id} ({run.info.run_name}) "
              "FINISHED, reused", file=sys.stderr)
        sweep_progress.count_reused(run.data.metrics)  # the sweep's "job k of N" counts it
        return objective(run.data.metrics), cfg
    resumable = [r for r in children if _resumable(r)]
    for run in children:  # what this job's new run replaces
        if not resumable or run is not resumable[0]:
            client.delete_run(run.info.run_id)
    if resumable:
        for name, value in QUIET_DOWNLOADS.items():
            os.environ.setdefault(name, value)
        run = resumable[0]
        print(f"seqexp: job interrupted before: run {run.info.run_id} ({run.info.status}) "
              "continues from its backup", file=sys.stderr)
        resumed: Any = OmegaConf.merge(cfg, {"trainer": {"resume": run.info.run_id}})
        return None, resumed
    return None, cfg
