"""A sweep's progress: one line as each of its jobs ends, with how many remain and when the
sweep should end.

    seqexp: job 2 of 3 done: val mae 0.3012 vs baseline 0.3330 (skill +0.096), elapsed 3m12s,
    about 1m36s left

:class:`SweepProgress` is a Hydra callback (``conf/config.yaml``, beside the MLflow sweep
callback). Hydra calls ``on_job_end`` in the process that ran the job: the sweep's own with
the basic launcher (and the Optuna sweeper, which launches its trials through it), a worker
process with joblib or Ray. So the sweep's count lives in a small JSON file in the sweep's
folder, written when the sweep starts (jobs planned, start time) and counted up under a file
lock by each job that ends, wherever it ran; a job hands its score to the callback of its own
process through :func:`record_result`. N is the number of jobs the overrides (and the basic
sweeper's ``params``) expand to, or an Optuna search's ``n_trials``.

A resumed sweep's job that reuses a recorded child calls :func:`count_reused` (and
:func:`record_result` with the recorded scores), and a search continuing its study calls
:func:`count_done_before` with the trials it already holds: they count as done, and the time
estimate is made from the jobs that did run. ``trainer.verbose=0`` silences the lines (they
are still counted).
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from seqexp.files import file_lock, write_atomic

STATE = ".seqexp-progress.json"  # in the sweep's folder (hydra.sweep.dir)


@dataclass
class Result:
    metric: str  # short name: mae, acc, bpc
    value: float
    baseline: float
    skill: float


# What the job that last ran in this process said about itself (reset as each job starts).
_job: dict[str, Any] = {"result": None, "reused": False}


def record_result(metric: str, value: float, baseline: float, skill: float) -> None:
    """The job's best validation score, its baseline and its skill, for its line."""
    _job["result"] = Result(metric, float(value), float(baseline), float(skill))


def count_reused(metrics: Mapping[str, float] | None = None) -> None:
    """The job reused a finished run of an earlier try of this sweep (nothing trained): it
    counts as done and is left out of the time estimate; its line says the scores in that
    run's ``metrics`` (``best_val_<m>``, ``naive_val_<m>``, ``val_skill``) when given."""
    _job["reused"] = True
    metrics = metrics or {}
    for key, value in metrics.items():
        metric = key.removeprefix("best_val_")
        if (key.startswith("best_val_") and "_" not in metric and "val_skill" in metrics
                and f"naive_val_{metric}" in metrics):
            record_result(metric, value, metrics[f"naive_val_{metric}"], metrics["val_skill"])


def count_done_before(config: DictConfig, jobs: int) -> None:
    """A sweeper continuing a search (an Optuna study's trials finished by an earlier try):
    ``jobs`` count as done and reused, so that k goes on from there and the estimate is made
    from the jobs this try runs. Call it after the sweep started, in the sweep's process."""
    path = state_path(config)
    if jobs > 0 and path.exists():
        _count(path, jobs, jobs)


def duration(seconds: float) -> str:
    """``45s``, ``3m12s``, ``1h05m``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def planned_jobs(config: DictConfig) -> int | None:
    """How many jobs the sweep will run: an Optuna search's ``n_trials``, else the product of
    the sizes of the swept overrides (the command line's over the basic sweeper's
    ``params``); None when a sweep cannot be counted up front (a glob over a group)."""
    trials = OmegaConf.select(config, "hydra.sweeper.n_trials", default=None)
    if trials is not None:
        return int(trials)
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import ValueType

    parser = OverridesParser.create()
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    swept = {o.key_or_group: o for o in parser.parse_overrides(
        [f"{key}={value}" for key, value in params.items()])}
    swept.update({o.key_or_group: o for o in parser.parse_overrides(
        list(config.hydra.overrides.task))})
    jobs = 1
    for override in swept.values():
        if override.is_sweep_override():
            glob = override.value_type == ValueType.GLOB_CHOICE_SWEEP
            if glob or not override.is_discrete_sweep():
                return None  # glob(...): the group's options decide; interval: a sweeper's
            jobs *= len(list(override.sweep_string_iterator()))
    return jobs


def line(done: int, planned: int | None, reused: int, elapsed: float, ok: bool,
         result: Result | None, was_reused: bool) -> str:
    """``seqexp: job k of N done: <score> vs baseline <b> (skill +x.xxx), elapsed 3m12s,
    about 6m00s left``: the time left is the time per job that ran times the jobs left."""
    of = f" of {planned}" if planned else ""
    state = "reused" if was_reused else "done" if ok else "failed"
    text = f"seqexp: job {done}{of} {state}"
    if result is not None and ok:
        text += (f": val {result.metric} {result.value:.4f} vs baseline {result.baseline:.4f}"
                 f" (skill {result.skill:+.3f})")
    text += f", elapsed {duration(elapsed)}"
    if planned:
        left, ran = max(planned - done, 0), done - reused
        if left == 0:
            text += ", none left"
        elif ran > 0:
            text += f", about {duration(elapsed / ran * left)} left"
    return text


class SweepProgress(Callback):
    """Counts a sweep's jobs as they end and prints one line for each (module doc)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        folder = state_path(config).parent
        folder.mkdir(parents=True, exist_ok=True)
        _write(folder / STATE, {"planned": planned_jobs(config), "started": time.time(),
                                "done": 0, "reused": 0})

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        _job.update(result=None, reused=False)

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        mode = OmegaConf.select(config, "hydra.mode", default=None)
        if getattr(mode, "name", mode) != "MULTIRUN":  # hydra.types.RunMode, or its name
            return
        path = state_path(config)
        if not path.exists():  # a remote worker that does not share the sweep's folder
            return
        reused = bool(_job["reused"])
        state = _count(path, 1, int(reused))
        result: Result | None = _job["result"]
        ok = _succeeded(job_return) and (result is None or not math.isnan(result.value))
        if OmegaConf.select(config, "trainer.verbose", default=1) in (0, "0", False):
            return
        print(line(state["done"], state["planned"], state["reused"],
                   time.time() - state["started"], ok, result, reused),
              file=sys.stderr, flush=True)


def state_path(config: DictConfig) -> Path:
    """The sweep's count: in its folder, a relative one taken from where the sweep was started
    (``hydra.runtime.cwd``; a launcher's worker may run elsewhere)."""
    folder = Path(str(config.hydra.sweep.dir))
    started_in = OmegaConf.select(config, "hydra.runtime.cwd", default=None)
    return (Path(started_in) / folder if started_in else folder) / STATE


def _succeeded(job_return: Any) -> bool:
    """A job that raised, or returned NaN (seqexp's failed job, a failed Optuna trial)."""
    from hydra.core.utils import JobStatus

    if getattr(job_return, "status", None) != JobStatus.COMPLETED:
        return False
    value = job_return.return_value
    return not (isinstance(value, float) and math.isnan(value))


def _count(path: Path, done: int, reused: int) -> dict:
    """Add to the sweep's count under its lock (jobs end in several processes at once)."""
    with file_lock(path.with_name(path.name + ".lock")):
        state = json.loads(path.read_text())
        state["done"] += done
        state["reused"] += reused
        _write(path, state)
    return state


def _write(path: Path, state: dict) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(state)))
