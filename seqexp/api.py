"""seqexp from Python (a notebook, a script): compose, run, sweep, read the leaderboard.

The same config, runs and tables as the commands: :func:`compose` is Hydra's Compose API on
``seqexp``'s config, validated as ``seqexp`` validates it (its one-line errors raised as
:class:`~seqexp.errors.SeqexpError`); :func:`run` is one job in this process, recorded in
MLflow as ``seqexp`` records it, its results handed back; :func:`sweep` is ``seqexp -m``
(a parent run with a child per job); :func:`leaderboard` is ``seqexp-report``'s table.

Importing this module imports neither TensorFlow, Keras nor MLflow: they load on first use.
A job run here leaves the process as it found it (:func:`isolated`).
"""

from __future__ import annotations

import contextlib
import copy
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict, read_write

from seqexp import child_process
from seqexp.errors import SeqexpError

__all__ = ["Result", "Sweep", "compose", "leaderboard", "run", "sweep", "ui_address"]


@dataclass
class Result:
    """One finished run: its MLflow id and store, the task's metric (``mae``, ``acc``,
    ``bpc``), the best validation score and the baseline's, the skill, every final score
    (``metrics``: what MLflow holds), the per-epoch ``history`` (one row per epoch, from 1)
    and the trained ``model`` with its best epoch's weights."""

    run_id: str
    uri: str
    metric: str
    best: float
    baseline: float
    skill: float
    best_epoch: int
    metrics: dict[str, float]
    history: Any  # pandas.DataFrame
    model: Any = field(repr=False)  # keras.Model
    config: DictConfig = field(repr=False)

    def __repr__(self) -> str:
        return (f"Result(run_id={self.run_id!r}, best_val_{self.metric}={self.best:.4f}, "
                f"naive_val_{self.metric}={self.baseline:.4f}, skill={self.skill:+.3f}, "
                f"best_epoch={self.best_epoch} of {len(self.history)})")


@dataclass
class Sweep:
    """A finished multirun: the parent run, its jobs and the sweep's leaderboard (grouped by
    configuration when seeds replicate, as ``seqexp-report --sweep`` shows it)."""

    parent_run_id: str
    uri: str
    experiment: str
    jobs: int
    failed: int
    leaderboard: Any  # pandas.DataFrame

    def __repr__(self) -> str:
        return (f"Sweep(parent_run_id={self.parent_run_id!r}, jobs={self.jobs}, "
                f"failed={self.failed})")


# ------------------------------------------------------------------------------- compose

def compose(*overrides: str) -> DictConfig:
    """The job config ``seqexp OVERRIDES`` would run (what ``seqexp --cfg job`` prints),
    validated; a bad override raises :class:`SeqexpError` with ``seqexp``'s one line."""
    return _compose(overrides)[1]


def _compose(overrides: tuple[str, ...] | list[str]) -> tuple[DictConfig, DictConfig]:
    """(the config with its ``hydra`` node: run folder, overrides; the job's config as Hydra
    hands it to the task, validated as ``seqexp`` validates it). Hydra's global state is
    cleared again afterwards."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from seqexp.config import schemas

    schemas.register()
    if GlobalHydra.instance().is_initialized():
        raise SeqexpError("Hydra is already initialized in this process (inside a Hydra app, "
                          "or an unclosed hydra.initialize): call seqexp's API outside it")
    try:
        with initialize_config_module(version_base="1.3", config_module="seqexp.conf"):
            cfg = hydra_compose("config", overrides=list(overrides), return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as err:
        raise SeqexpError(_one_line(err)) from None
    job = copy.deepcopy(cfg)  # as Hydra's run_job hands it to the task function
    with read_write(job), open_dict(job):
        del job["hydra"]
    schemas.validate(job)  # which also fills what follows from others (encoder=auto)
    return cfg, job


def _one_line(err: BaseException) -> str:
    from seqexp.config.messages import one_line

    return one_line(err)


# ----------------------------------------------------------------------------------- run

def run(*overrides: str) -> Result:
    """Run the job ``seqexp OVERRIDES`` runs, in this process: the same MLflow run (name,
    params, per-epoch metrics, artifacts, description), the same run folder under
    ``outputs/``; return its :class:`Result`. Bad input raises :class:`SeqexpError`
    (the run, if opened, is FAILED with the reason); Ctrl-C stops at a safe point and
    raises ``KeyboardInterrupt`` (the run KILLED, resumable with ``trainer.resume=<id>``)."""
    full, cfg = _compose(overrides)
    with isolated(full):
        from seqexp import console

        console.load_backend()
        from seqexp.training.job import train_job

        outcome = train_job(cfg)
    return _result(outcome)


def _result(outcome) -> Result:
    import pandas as pd

    from seqexp.tracking.store import resolved_uri, tracking_uri

    results, naive = outcome.results, outcome.naive
    metric = next(k[len("best_val_"):] for k in results
                  if k.startswith("best_val_") and f"naive_val_{k[len('best_val_'):]}" in naive)
    history = pd.DataFrame(outcome.epochs, index=pd.RangeIndex(1, len(outcome.epochs) + 1,
                                                              name="epoch"))
    return Result(run_id=outcome.run_id, uri=resolved_uri(tracking_uri(outcome.config)),
                  metric=metric, best=results[f"best_val_{metric}"],
                  baseline=naive[f"naive_val_{metric}"], skill=results["val_skill"],
                  best_epoch=int(results["best_epoch"]), metrics={**naive, **results},
                  history=history, model=outcome.model, config=outcome.config)


@contextlib.contextmanager
def isolated(full: DictConfig) -> Iterator[None]:
    """A job as the command runs it, leaving the process as it was: Hydra's run config set
    (run name from the overrides, the run folder ``hydra.run.dir`` created) and cleared;
    seqexp's SIGINT/SIGTERM handlers (stop at a safe point) and then the caller's again;
    Python's and NumPy's random states and Keras's dtype policy restored (each job clears
    the Keras session and seeds itself first); the working directory unchanged; no MLflow
    run left active that was not active before."""
    from hydra.core.hydra_config import HydraConfig

    from seqexp.training import interrupts

    folder = Path(full.hydra.run.dir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    full = copy.deepcopy(full)
    with read_write(full), open_dict(full):
        full.hydra.runtime.output_dir = str(folder)
    handlers = ({s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
                if threading.current_thread() is threading.main_thread() else {})
    states = _random_states()
    cwd = os.getcwd()
    HydraConfig.instance().set_config(full)
    try:
        if handlers:
            interrupts.install()
        yield
    finally:
        HydraConfig.instance().cfg = None
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        os.chdir(cwd)
        _restore(states)


def _random_states() -> dict[str, Any]:
    import numpy as np

    states: dict[str, Any] = {"random": random.getstate(), "numpy": np.random.get_state()}
    if "keras" in sys.modules:
        import keras

        states["dtype_policy"] = keras.config.dtype_policy()
    if "mlflow" in sys.modules:
        import mlflow

        states["mlflow_run"] = getattr(mlflow.active_run(), "info", None)
    return states


def _restore(states: dict[str, Any]) -> None:
    import numpy as np

    random.setstate(states["random"])
    np.random.set_state(states["numpy"])
    if "keras" in sys.modules:
        import keras

        keras.config.set_dtype_policy(states.get("dtype_policy", "float32"))
    if "mlflow" in sys.modules:
        import mlflow

        mine = getattr(states.get("mlflow_run"), "run_id", None)
        while (active := mlflow.active_run()) is not None and active.info.run_id != mine:
            mlflow.end_run()  # one started during the job (seqexp's own runs are not fluent)


# --------------------------------------------------------------------------------- sweep

def sweep(*overrides: str) -> Sweep:
    """``seqexp -m OVERRIDES``, as a child process (the same parent and child runs, the
    same launchers and sweepers), its output shown as it comes; return its :class:`Sweep`.
    A refused sweep raises :class:`SeqexpError` with its line; failed jobs do not raise:
    they are counted (``failed``) and are rows of the leaderboard."""
    from seqexp.cli import run as cli
    from seqexp.reporting.ui import tracking_settings

    uri, experiment = tracking_settings(_tracking_overrides(overrides))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    command = [sys.executable, "-m", cli.__name__, "-m", *overrides]
    errors, last = [], ""
    # the caller's Ctrl-C (a notebook's interrupt) or SIGTERM reaches the sweep once: its
    # jobs stop at a safe point, then KeyboardInterrupt here
    with child_process.forwarding(command, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, env=env,
                                  bufsize=1) as child:
        for line in child.stdout:
            print(line, end="", flush=True)
            last = line.strip() or last
            if line.startswith("seqexp: error: "):
                errors.append(line.rstrip("\n")[len("seqexp: error: "):])
        code = child.wait()
    if child.forwarded:
        raise KeyboardInterrupt(f"signal {child.forwarded[0]}: the sweep stopped ({last})")
    if code not in (0, 1):  # refused (2) or stopped: its line is the reason
        raise SeqexpError(errors[-1] if errors else f"the sweep stopped (exit code {code}): "
                          f"{last}")
    parent = _sweep_parent(uri, experiment, child.pid)
    if parent is None:
        raise SeqexpError(f"the sweep opened no parent run in {uri} (experiment "
                          f"{experiment!r}): {last}")
    client = _store(uri)
    children = client.search_runs([client.get_run(parent).info.experiment_id],
                                  f"tags.`mlflow.parentRunId` = '{parent}'")
    failed = sum(r.info.status != "FINISHED" for r in children)
    return Sweep(parent, uri, experiment, len(children), failed,
                 leaderboard(experiment=experiment, sweep=parent, uri=uri))


def _tracking_overrides(overrides: tuple[str, ...]) -> list[str]:
    """The overrides setting the store and the experiment (single values only)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
    except Exception as err:  # Hydra's parse error: one line, as seqexp prints it
        raise SeqexpError(_one_line(err)) from None
    return [o.input_line for o in parsed
            if o.key_or_group in ("tracking.uri", "tracking.experiment")
            and not o.is_sweep_override()]


def _sweep_parent(uri: str, experiment: str, pid: int) -> str | None:
    """The parent run the sweep process ``pid`` opened on this host."""
    import socket

    client = _store(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = client.search_runs([found.experiment_id], filter_string=(
        f"tags.`seqexp.sweep` = 'true' and tags.`seqexp.pid` = '{pid}' and "
        f"tags.`seqexp.host` = '{socket.gethostname()}'"), max_results=1)
    return runs[0].info.run_id if runs else None


# ------------------------------------------------------------------------ reading back

def leaderboard(experiment: str = "seqexp", sweep: str | None = None,
                uri: str | None = None):
    """``seqexp-report``'s table as a DataFrame: the experiment's top-level runs, or with
    ``sweep`` (a parent run id, or ``"latest"``) that sweep's children; best first, rows
    grouped by configuration where seeds replicate (n, mean, std, 95% interval, Welch's p
    against the best). ``uri``: the store (default: ``MLFLOW_TRACKING_URI``, else
    ``./mlflow.db``)."""
    import argparse

    from seqexp.reporting.compare import summary
    from seqexp.reporting.leaderboard import PARENT, board, selection, top_level

    client = _store(uri)
    with _store_errors(uri):
        runs, parents = selection(client, argparse.Namespace(experiment=experiment,
                                                             sweep=sweep))
        rows = (runs[runs[PARENT].eq(parents["run_id"].iloc[0])] if sweep
                else top_level(runs))
        return summary(board(client, rows))


def ui_address(experiment: str = "seqexp", uri: str | None = None,
               base: str = "http://127.0.0.1:5000") -> str:
    """The address of the experiment's runs table in MLflow's UI served at ``base`` (what
    ``seqexp-ui`` prints and serves; an ``http(s)://`` store is its own UI), its comparison
    view (baseline, best, skill columns) saved."""
    from seqexp.reporting import ui

    client = _store(uri)
    if client.tracking_uri.startswith(("http://", "https://")):
        base = client.tracking_uri
    with _store_errors(uri):
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise SeqexpError(f"no experiment named {experiment!r} in {client.tracking_uri}: "
                              "run a job first, or pass experiment=")
        return ui.runs_address(base, found.experiment_id,
                               ui.save_view(client, found.experiment_id))


def _store(uri: str | None):
    from seqexp.reporting.leaderboard import open_store

    return open_store(uri)


@contextlib.contextmanager
def _store_errors(uri: str | None) -> Iterator[None]:
    from mlflow.exceptions import MlflowException

    from seqexp.tracking.store import unreadable

    try:
        yield
    except MlflowException as err:
        raise unreadable(uri, err) from None
