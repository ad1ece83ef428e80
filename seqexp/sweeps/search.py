"""seqexp's Optuna search, behind the Hydra sweeper plugin ``hydra/sweeper=optuna``.

The study lives in a persistent Optuna storage (an RDB: by default ``mlflow.optuna.db``
beside the MLflow sqlite store ``mlflow.db``), so a killed search continues where it stopped
when run again:

- trials are asked one by one (``study.ask``), launched as Hydra jobs, told their result
  (``study.tell``): COMPLETE with the job's best validation score, PRUNED when the job's
  pruning callback stopped it, FAIL when the job failed (NaN);
- ``n_trials`` counts the study's finished trials, across restarts;
- a trial left RUNNING by a process that is gone is told FAIL and enqueued again with the
  same parameters (a retry: the job, in a resumed sweep, continues the killed child run
  from its backup), and the failed one is not counted;
- the job of each trial finds its trial through ``sweep.trial`` and the storage and study
  handed in its environment, reports its validation score per epoch and asks the pruner
  (:mod:`seqexp.sweeps.pruning`).

With a launcher that runs jobs in parallel, ``n_jobs`` trials run at once, each launched on
its own as a slot frees up (a pruned trial never holds a slot until a batch ends); on the
basic launcher trials run one after another.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqexp import sweep_progress
from seqexp.sweeps import space
from seqexp.sweeps.resume import alive
from seqexp.tracking.store import given_uri

STORAGE_ENV = "SEQEXP_OPTUNA_STORAGE"
STUDY_ENV = "SEQEXP_OPTUNA_STUDY"
PRUNER_ENV = "SEQEXP_OPTUNA_PRUNER"
RETRY_OF = "seqexp.retry_of"  # user attr of a trial enqueued again for a dead one


def default_storage(tracking_uri: str | None) -> str:
    """``<store>.optuna.db`` beside a sqlite MLflow store (``mlflow.optuna.db`` beside
    ``mlflow.db``), else ``mlflow.optuna.db`` in the working directory."""
    if tracking_uri and tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri[len("sqlite:///"):].split("?")[0]).resolve()
        return f"sqlite:///{db.with_name(db.stem + '.optuna.db')}"
    return f"sqlite:///{Path('mlflow.optuna.db').resolve()}"


def open_storage(url: str):
    import optuna

    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite:") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine)


def instantiate_part(part: Any) -> Any:
    """A sampler or pruner from its config (``_target_`` and keyword arguments)."""
    from hydra.utils import instantiate

    return instantiate(OmegaConf.create(OmegaConf.to_container(part, resolve=True)))


class Search:
    """The sweeper's work: set up once by Hydra, then :meth:`sweep` over the overrides."""

    def __init__(self, sweeper: DictConfig) -> None:
        self.cfg = sweeper
        self.launcher = None
        self.config: DictConfig | None = None
        self.job_idx = 0
        self._lock = threading.Lock()

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    # ------------------------------------------------------------------ the study
    def study(self):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        url = self.cfg.storage or default_storage(given_uri(None))
        sampler = instantiate_part(self.cfg.sampler)
        pruner = instantiate_part(self.cfg.pruner)
        study = optuna.create_study(study_name=self.cfg.study_name, storage=open_storage(url),
                                    sampler=sampler, pruner=pruner, load_if_exists=True,
                                    direction=str(self.cfg.direction))
        done = len(study.get_trials(deepcopy=False))
        if done and self.cfg.sampler.get("seed") is not None:
            # a continued study: the seeded sampler goes on from its history, not from the
            # seed's first draws again (those were the first trials' parameters)
            reseeded = OmegaConf.merge(self.cfg.sampler, {"seed": self.cfg.sampler.seed + done})
            study.sampler = instantiate_part(reseeded)
        os.environ.update({STORAGE_ENV: url, STUDY_ENV: self.cfg.study_name,
                           PRUNER_ENV: json.dumps(OmegaConf.to_container(self.cfg.pruner,
                                                                         resolve=True))})
        return study, url

    @staticmethod
    def retry_dead(study) -> list[int]:
        """Trials left RUNNING by a process that is gone: FAIL, and enqueued again."""
        from optuna.trial import TrialState

        retried = []
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = {"seqexp.pid": str(trial.user_attrs.get("seqexp.pid", "")),
                     "seqexp.host": trial.user_attrs.get("seqexp.host", "")}
            if alive(owner):
                continue
            study.tell(trial.number, state=TrialState.FAIL)
            study.enqueue_trial(trial.params, user_attrs={RETRY_OF: trial.number})
            retried.append(trial.number)
        return retried

    @staticmethod
    def finished(study) -> int:
        """The study's finished trials, a failed one that was retried not counted."""
        from optuna.trial import TrialState

        trials = study.get_trials(deepcopy=False)
        retried = {t.user_attrs[RETRY_OF] for t in trials if RETRY_OF in t.user_attrs}
        done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        return sum(1 for t in trials if t.state in done and t.number not in retried)

    # ------------------------------------------------------------------ the trials
    def _ask(self, study, distributions):
        with self._lock:
            trial = study.ask(fixed_distributions=distributions)
            trial.set_user_attr("seqexp.pid", os.getpid())
            trial.set_user_attr("seqexp.host", socket.gethostname())
            self.job_idx += 1
            return trial, self.job_idx - 1

    def _run_trial(self, study, distributions, fixed: list[str]) -> Any:
        from optuna.trial import TrialState

        trial, idx = self._ask(study, distributions)
        overrides = [*fixed, *(space.as_override(k, v) for k, v in trial.params.items()),
                     f"sweep.trial={trial.number}"]
        (ret,) = self.launcher.launch([overrides], initial_job_idx=idx)
        with self._lock:
            value = ret.return_value if ret.status.name == "COMPLETED" else math.nan
            fresh = study.get_trials(deepcopy=False)[trial.number]
            if fresh.state != TrialState.RUNNING:  # told already (by a pruned job)
                return ret
            if fresh.user_attrs.get("seqexp.pruned"):
                study.tell(trial, state=TrialState.PRUNED)
            elif value is None or not math.isfinite(float(value)):
                study.tell(trial, state=TrialState.FAIL)
            else:
                study.tell(trial, float(value))
        return ret

    def sweep(self, arguments: list[str]) -> list[Any]:
        distributions, fixed = space.search_space(self.cfg.params, arguments)
        study, url = self.study()
        retried = self.retry_dead(study)
        done = self.finished(study)
        sweep_progress.count_done_before(self.config, done)  # "job k of N" goes on from there
        print(f"seqexp: Optuna study {self.cfg.study_name} in {url}: {done} of "
              f"{self.cfg.n_trials} trials finished"
              + (f", {len(retried)} left running by a stopped process retried" if retried
                 else ""), file=sys.stderr)
        parallel = self._parallel()
        results: list[Any] = []
        if parallel == 1:
            while self.finished(study) < self.cfg.n_trials:
                results.append(self._run_trial(study, distributions, fixed))
        else:
            results = self._run_parallel(study, distributions, fixed, parallel)
        self._write_results(study)
        return [results]

    def _parallel(self) -> int:
        target = OmegaConf.select(self.config, "hydra.launcher._target_", default="") or ""
        if target.endswith("BasicLauncher"):
            return 1
        return max(1, int(self.cfg.n_jobs))

    def _run_parallel(self, study, distributions, fixed, slots: int) -> list[Any]:
        """``slots`` threads, each launching one trial at a time until the study holds
        ``n_trials`` finished ones (counting those under way, so none overshoots)."""
        results: list[Any] = []
        errors: list[BaseException] = []
        state = {"started": self.finished(study)}

        def slot() -> None:
            while not errors:
                with self._lock:
                    if state["started"] >= self.cfg.n_trials:
                        return
                    state["started"] += 1
                try:
                    results.append(self._run_trial(study, distributions, fixed))
                except BaseException as err:  # noqa: B036 (re-raised in the sweeper's thread)
                    errors.append(err)
                    return

        threads = [threading.Thread(target=slot, daemon=True) for _ in range(slots)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    def _write_results(self, study) -> None:
        """``optimization_results.yaml`` in the sweep folder: the best parameters and value."""
        from optuna.trial import TrialState

        if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            return
        best = study.best_trial
        folder = Path(self.config.hydra.sweep.dir)
        folder.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(OmegaConf.create({"name": "optuna", "best_trial": best.number,
                                         "best_params": best.params,
                                         "best_value": best.value}),
                       folder / "optimization_results.yaml")
        print(f"seqexp: best trial {best.number}: {best.value:.4f} with "
              f"{' '.join(space.as_override(k, v) for k, v in best.params.items())}",
              file=sys.stderr)
