"""The configs of seqexp's Optuna sweeper (``hydra/sweeper=optuna``) and of its sampler and
pruner groups (``hydra/sweeper/sampler=tpe|random``, ``hydra/sweeper/pruner=none|median|
successive_halving|hyperband``), stored in Hydra's ConfigStore by the plugin
(``hydra_plugins.seqexp_sweeper``). Nothing here imports Optuna.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

SWEEPER_TARGET = "hydra_plugins.seqexp_sweeper.optuna_sweeper.OptunaSweeper"


class Direction(enum.StrEnum):
    minimize = "minimize"
    maximize = "maximize"


@dataclass
class TPESamplerConfig:
    _target_: str = "optuna.samplers.TPESampler"
    seed: int | None = None
    n_startup_trials: int = 10
    multivariate: bool = True  # Optuna 5's default
    constant_liar: bool = True  # parallel trials do not all sample the same point


@dataclass
class RandomSamplerConfig:
    _target_: str = "optuna.samplers.RandomSampler"
    seed: int | None = None


@dataclass
class NopPrunerConfig:
    _target_: str = "optuna.pruners.NopPruner"


@dataclass
class MedianPrunerConfig:
    """Stop a trial whose epoch's validation score is worse than the median of the earlier
    trials at the same epoch."""

    _target_: str = "optuna.pruners.MedianPruner"
    n_startup_trials: int = 3  # trials that always run to the end first
    n_warmup_steps: int = 1  # first epochs of each trial, never pruned
    interval_steps: int = 1
    n_min_trials: int = 1


@dataclass
class SuccessiveHalvingPrunerConfig:
    _target_: str = "optuna.pruners.SuccessiveHalvingPruner"
    min_resource: Any = 1  # epochs before the first rung ("auto": Optuna's estimate)
    reduction_factor: int = 3
    min_early_stopping_rate: int = 0
    bootstrap_count: int = 0


@dataclass
class HyperbandPrunerConfig:
    _target_: str = "optuna.pruners.HyperbandPruner"
    min_resource: int = 1  # epochs before the first rung
    max_resource: Any = "auto"  # epochs of a full trial ("auto": the most a trial reported)
    reduction_factor: int = 3
    bootstrap_count: int = 0


SAMPLERS = {"tpe": TPESamplerConfig, "random": RandomSamplerConfig}
PRUNERS = {"none": NopPrunerConfig, "median": MedianPrunerConfig,
           "successive_halving": SuccessiveHalvingPrunerConfig,
           "hyperband": HyperbandPrunerConfig}


@dataclass
class OptunaSweeperConfig:
    """``hydra.sweeper`` for ``hydra/sweeper=optuna``: an Optuna study asked and told trial by
    trial, kept in a persistent storage so a killed search continues where it stopped."""

    _target_: str = SWEEPER_TARGET
    _recursive_: bool = False  # the sampler and pruner reach the sweeper as configs
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"},
                                                         {"pruner": "none"}])
    sampler: Any = MISSING
    pruner: Any = MISSING
    direction: Direction = Direction.minimize
    # null: <store>.optuna.db beside the MLflow sqlite store (else mlflow.optuna.db in the
    # working directory); any
    # SQLAlchemy URL of an RDB (postgresql://..., mysql://...) shares a study between hosts
    storage: str | None = None
    study_name: str = "seqexp"
    n_trials: int = 20  # finished trials of the study, counted across restarts
    n_jobs: int = 1  # trials at once (on a launcher that runs jobs in parallel)
    params: dict[str, str] | None = None  # key: choice(...) | range(...) | interval(...)
