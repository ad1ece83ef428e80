"""Sweeps in MLflow: a Hydra callback that opens the sweep's parent run, hands its id to every
job (``SEQEXP_PARENT_RUN_ID``, inherited by launcher processes), and at the end records the
best child in the parent with the leaderboard (grouped by configuration when seeds replicate)
as artifacts and ``sweep.`` metrics, prints it and fails the command if any job failed.

Jobs report to MLflow themselves, so this works the same for the basic, joblib, Ray and
submitit launchers and for the Optuna sweeper: the callback only reads the children back.
With ``sweep.resume`` the recorded parent run is reopened instead (:mod:`seqexp.sweeps.resume`);
a sweep stopped midway ends its parent FAILED and says in one line how to continue it.
"""

from __future__ import annotations

import atexit
import os
import shlex
import socket
import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, flag_override

from seqexp.errors import SeqexpError
from seqexp.tracking.lifecycle import PARENT_ENV, SWEEP_KEYS_ENV, create_run
from seqexp.tracking.run import Run
from seqexp.tracking.store import tracking_uri
from seqexp.training import interrupts


class MlflowSweep(Callback):
    """Parent run for a multirun; registered in ``conf/config.yaml`` under hydra.callbacks."""

    def __init__(self) -> None:
        self.parent: Run | None = None
        self.ended = False
        self._env: dict[str, str] = {}
        self._command: list[str] = []

    def _hand_to_jobs(self, config: DictConfig, env: dict[str, str]) -> None:
        """Environment for the jobs: inherited by local launchers' processes, and passed to
        Ray workers (started by the cluster, not by us) through ``ray.init``'s runtime_env."""
        self._env = {k: v for k, v in env.items() if os.environ.get(k) != v}
        os.environ.update(self._env)
        if OmegaConf.select(config, "hydra.launcher.ray.init", default=None) is not None:
            with flag_override(config, ["struct", "readonly"], [False, False]):
                runtime_env = config.hydra.launcher.ray.init.get("runtime_env") or {}
                env_vars = {**dict(runtime_env.get("env_vars") or {}), **env}
                config.hydra.launcher.ray.init.runtime_env = {**runtime_env,
                                                              "env_vars": env_vars}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from seqexp.sweeps import resume
        from seqexp.tracking import identity

        overrides = [o for o in config.hydra.overrides.task if not o.startswith("sweep.resume=")]
        self._command = [*overrides, *(o for o in config.hydra.overrides.hydra
                                       if not o.startswith("hydra.mode="))]
        spec = identity.sweep_spec(config)
        which = OmegaConf.select(config, "sweep.resume", default=None)
        try:
            if which:
                self.parent = resume.reopen_parent(config, which, spec)
            else:
                self.parent = create_run(
                    config, name=f"sweep: {' '.join(overrides)}"[:250],
                    tags={"seqexp.sweep": "true", "seqexp.sweeper": _sweeper_name(config),
                          "seqexp.launcher": _launcher_name(config)})
        except SeqexpError as err:
            print(f"seqexp: error: {err}", file=sys.stderr)
            sys.exit(2)
        if not which:
            self.parent.log_params({"sweep.overrides": " ".join(overrides),
                                    "sweep.dir": config.hydra.sweep.dir})
            resume.record_spec(self.parent, spec)
        self.parent.set_tags({"seqexp.pid": os.getpid(), "seqexp.host": socket.gethostname(),
                              "seqexp.sweep.dir": config.hydra.sweep.dir})
        atexit.register(self._abandoned)
        # SIGTERM ends the sweep process as Ctrl-C does (its parent run recorded, the line
        # saying how to continue printed); a job in this process installs the same handler
        interrupts.install()
        self._hand_to_jobs(config, {
            PARENT_ENV: self.parent.id,
            SWEEP_KEYS_ENV: ",".join(_varied_keys(config, overrides)),
            # one store for every job, whatever folder a launcher runs it in
            "MLFLOW_TRACKING_URI": self.parent.client.tracking_uri,
            **({resume.RESUME_ENV: "1"} if which else {}),
        })
        where = tracking_uri(config) or "the default MLflow store"
        print(f"seqexp: sweep parent run {self.parent.id} in {where}"
              + (" (resumed: jobs done before are reused)" if which else ""))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.parent is None:
            return
        from seqexp.reporting.compare import best_metrics, summary
        from seqexp.reporting.leaderboard import leaderboard
        from seqexp.reporting.tables import format_table

        for name in self._env:
            os.environ.pop(name, None)
        client = self.parent.client
        exp_id = client.get_run(self.parent.id).info.experiment_id
        board = leaderboard(client, experiment_id=exp_id, parent_run_id=self.parent.id)
        failed = board[board["status"] != "FINISHED"] if len(board) else board
        self._record_best(board)
        self.parent.log_metrics({"sweep.jobs": len(board), "sweep.jobs_failed": len(failed),
                                 **best_metrics(board)})
        self._log_leaderboard(board)
        self.parent.set_description(describe_sweep(board, exp_id))
        self.parent.client.set_terminated(self.parent.id,
                                          "FAILED" if len(failed) else "FINISHED")
        self.ended = True
        print()
        print(format_table(summary(board)))
        if len(failed):
            names = ", ".join(f"{row['run']} ({row['status']})" for _, row in failed.iterrows())
            print(f"seqexp: {len(failed)} of {len(board)} jobs failed: {names}",
                  file=sys.stderr)
            sys.exit(1)

    def _abandoned(self) -> None:
        """At exit: a sweep stopped before its end (a refused job config, Ctrl-C, a crashed
        worker) still ends its parent run, FAILED, instead of leaving it RUNNING."""
        if self.parent is None or self.ended:
            return
        self.parent.set_tags({"error": "the sweep stopped before all its jobs ran"})
        self.parent.client.set_terminated(self.parent.id, "FAILED")
        self.ended = True
        if interrupts.received() is None and not self._started_jobs():
            return  # refused before any job ran (its error said above): nothing to continue
        command = " ".join(shlex.quote(o) for o in self._command)
        print(f"seqexp: the sweep stopped before its end; continue it with: seqexp -m "
              f"{command} sweep.resume={self.parent.id}", file=sys.stderr)

    def _started_jobs(self) -> bool:
        exp = self.parent.client.get_run(self.parent.id).info.experiment_id
        return bool(self.parent.client.search_runs(
            [exp], f"tags.`mlflow.parentRunId` = '{self.parent.id}'", max_results=1))

    def _log_leaderboard(self, board) -> None:
        """The leaderboard (grouped by configuration when seeds replicate) as md, csv and png
        artifacts of the parent run."""
        import tempfile

        from seqexp.reporting.leaderboard import write_leaderboard

        with tempfile.TemporaryDirectory() as folder:
            for path in write_leaderboard(board, folder, title=f"sweep {self.parent.id}"):
                self.parent.log_artifact(path)

    def _record_best(self, board) -> None:
        """Which child is best, as tags (its scores are the parent's ``sweep.`` metrics)."""
        ranked = board[board["rank"].eq(1).fillna(False)] if len(board) else board
        if len(ranked):
            best = ranked.iloc[0]
            self.parent.set_tags({"best_run_id": best["run_id"], "best_run": best["run"]})


def describe_sweep(board, experiment_id: str) -> str:
    """The parent run's description: what it is, the best child (a link to it in the UI),
    and the leaderboard as a Markdown table."""
    from seqexp.reporting.compare import summary
    from seqexp.reporting.tables import format_markdown

    ranked = board[board["rank"].eq(1).fillna(False)] if len(board) else board
    failed = int((board["status"] != "FINISHED").sum()) if len(board) else 0
    # the first line is what the runs table shows: plain text
    lines = [f"Sweep of {len(board)} jobs ({failed} failed), not a training run: "
             "expand it for its child runs", ""]
    if len(ranked):
        best = ranked.iloc[0]
        link = f"#/experiments/{experiment_id}/runs/{best['run_id']}"
        scores = [f"{key} {best[key]:.4f}" for key in board.columns
                  if key.startswith(("best_val_", "naive_val_")) and key.count("_") == 2
                  and best.get(key) == best.get(key)]
        if best.get("val_skill") == best.get("val_skill"):
            scores.append(f"skill {best['val_skill']:+.3f}")
        lines += [f"Best: [{best['run']}]({link}) ({', '.join(scores)}).", ""]
    lines += [format_markdown(summary(board)) if len(board) else "(no jobs)", "",
              "Files: `leaderboard.md`, `leaderboard.csv`, `leaderboard.png` (Artifacts)."]
    return "\n".join(lines)


def _varied_keys(config: DictConfig, overrides: list[str]) -> list[str]:
    """The keys a sweep varies: comma/range overrides and the sweeper's own ``params``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    keys = [o.key_or_group for o in parsed if o.is_sweep_override()]
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    return keys + [k for k in params if k not in keys]


def _sweeper_name(config: DictConfig) -> str:
    target = OmegaConf.select(config, "hydra.sweeper._target_", default="") or ""
    return target.rsplit(".", 1)[-1]


def _launcher_name(config: DictConfig) -> str:
    target = OmegaConf.select(config, "hydra.launcher._target_", default="") or ""
    return target.rsplit(".", 1)[-1]
