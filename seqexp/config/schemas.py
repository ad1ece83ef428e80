"""The config the CLI composes: the trainer, tracking and book schemas, the root schema, and
their registration in Hydra's ConfigStore next to every dataset, encoder and model option.

The options of the dataset, encoder and model groups come from their registries
(:mod:`seqexp.config.registry`): each is stored as ``<group>/<name>`` with its schema, so
``model=gru`` needs no YAML file. Rules beyond types and enums live in :mod:`seqexp.config.rules`
(:func:`validate`). This module imports neither TensorFlow, Keras nor MLflow.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from seqexp import console
from seqexp.config.registry import Registry, option
from seqexp.config.rules import validate
from seqexp.data import DATASETS, DatasetConfig
from seqexp.encoders import ENCODERS, EncoderConfig
from seqexp.models import MODELS, ModelConfig

__all__ = ["Config", "GROUPS", "register", "validate"]

GROUPS: dict[str, Registry] = {r.group: r for r in (DATASETS, ENCODERS, MODELS)}


class Optimizer(enum.StrEnum):
    rmsprop = "rmsprop"
    adam = "adam"
    sgd = "sgd"


class Precision(enum.StrEnum):
    float32 = "float32"
    mixed_bfloat16 = "mixed_bfloat16"
    mixed_float16 = "mixed_float16"


@dataclass
class TrainerConfig:
    """Training loop settings. Modest by default; the book presets in experiment/ are exact."""

    epochs: int = option(5, "training epochs", min=1)
    steps_per_epoch: int | None = option(None, "batches per epoch; null = one pass over the "
                                               "data", min=1)
    batch_size: int = option(128, "samples per batch", min=1)
    eval_batch_size: int | None = option(None, "samples per validation and test batch; null: "
                                               "4 x batch_size (the same scores in fewer "
                                               "steps)", min=1)
    optimizer: Optimizer = option(Optimizer.rmsprop, "Keras optimizer name")
    learning_rate: float = option(0.001, "optimizer learning rate", min=0.0)
    seed: int = option(42, "seed of weights, shuffling and dropout")
    early_stopping: int | None = option(None, "stop after this many epochs without "
                                              "improvement", min=1)
    evaluate_test: bool = option(False, "also score the test split with the best weights")
    checkpoint_dir: str = option("checkpoints", "best-weights checkpoints (relative: run dir)")
    verbose: int = option(2, "Keras progress: 0 silent, 1 bar, 2 one line per epoch",
                          min=0, max=2)
    precision: Precision = option(Precision.float32, "float32, or mixed_bfloat16 / "
                                  "mixed_float16 (Keras's dtype policy; the output stays float32)")
    jit_compile: bool | None = option(None, "compile the train step (XLA, jax.jit, "
                                            "torch.compile): true, false, null: Keras's auto")
    workers: int = option(1, "threads producing batches (PyDataset workers); 1: in the "
                             "training loop itself", min=1)
    resume: str | None = option(None, "MLflow run id of a killed or failed run to continue "
                                      "from its last completed epoch (its own config is used)")


@dataclass
class TrackingConfig:
    """MLflow: uri null = MLFLOW_TRACKING_URI if set, else MLflow's default store."""

    uri: str | None = option(None, "MLflow tracking URI; null: MLFLOW_TRACKING_URI or default")
    experiment: str = option("seqexp", "MLflow experiment name")
    run_name: str | None = option(None, "MLflow run name; null: made from the overrides")
    log_model: bool = option(True, "log the trained model as an MLflow model (Keras flavor)")
    system_metrics: bool = option(True, "log CPU, memory (and GPU) use as system/ metrics")


@dataclass
class BookConfig:
    """What the book reports for the listing a preset reproduces (read by tools comparing
    runs with the book; not a setting of the run, and not logged as a param)."""

    listing: str = option(MISSING, "listing number, e.g. '6.39'")
    metric: str = option(MISSING, "the run's metric the book's figure compares with: "
                                  "best_val_mae (normalized, Jena) or best_val_acc (IMDB)")
    reported: float | None = option(None, "the book's figure (null: only described)")
    range: list[float] | None = option(None, "[low, high] the book's figure falls in")
    baseline: float | None = option(None, "the book's naive baseline on the same metric")
    note: str = option("", "what the book says, in a line")


@dataclass
class GenerateConfig:
    """Text sampled during training of a next-character model (dataset=text only; listings
    8.6-8.7): every `every` epochs, `length` characters after a seed at each temperature."""

    every: int = option(1, "sample every N epochs (0: only after training, with the best "
                           "weights)", min=0)
    length: int = option(400, "characters generated per sample (listing 8.7: 400)", min=1)
    temperatures: list[float] = option([0.2, 0.5, 1.0, 1.2], "softmax temperatures "
                                       "(listing 8.7)", min=0.01, min_len=1)
    seed_text: str | None = option(None, "text the samples continue; null: a validation "
                                         "window")
    seed: int = option(0, "seed of the draws (and of the validation window picked)")


@dataclass
class SweepConfig:
    """A sweep's own switches (``seqexp -m ...``); not part of a job's identity."""

    resume: str | None = option(None, "continue a sweep in its own parent run: last (the "
                                      "latest sweep with these overrides) or its parent run id")
    trial: int | None = option(None, "set by the Optuna sweeper: the job's trial number in "
                                     "the study (per-epoch reports, pruning)")


@dataclass
class Config:
    dataset: DatasetConfig = MISSING
    encoder: EncoderConfig = MISSING
    model: ModelConfig = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    book: BookConfig | None = None  # set by the experiment/book/ presets
    # free-form keys (+extra.note=...), the one place keys outside the schemas are taken:
    # recorded in config.yaml and as params extra.*, read by nothing in seqexp
    extra: dict[str, Any] = field(default_factory=dict)
    sweep: SweepConfig = field(default_factory=SweepConfig)


def bundled_file(name: str) -> str:
    """Absolute path of a data file shipped inside the package (``seqexp/data/``)."""
    return str(resources.files("seqexp.data").joinpath(name))


def group_options(group: str, default: str) -> str:
    """The options of a config group as ``seqexp --help`` lists them, the default first: what
    Hydra finds (the registry's schemas and any YAML file), so a new option is listed as soon
    as it is registered."""
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        options = GlobalHydra.instance().config_loader().get_group_options(group)
    else:
        options = sorted(GROUPS[group].options())
    return ", ".join([f"{default} (default)"] + [o for o in options if o != default])


def register() -> None:
    """Store every option as ``<group>/<name>`` and the root schema as ``schema/config``."""
    cs = ConfigStore.instance()
    for group, registry in GROUPS.items():
        for name, schema in registry.options().items():
            cs.store(group=group, name=name, node=schema)
    cs.store(group="trainer", name="default", node=TrainerConfig)
    cs.store(group="tracking", name="default", node=TrackingConfig)
    cs.store(group="schema", name="config", node=Config)
    from hydra_plugins.seqexp_sweeper.optuna_sweeper import install  # hydra/sweeper=optuna

    install()
    if not OmegaConf.has_resolver("seqexp.bundled"):
        OmegaConf.register_new_resolver("seqexp.bundled", bundled_file)
    if not OmegaConf.has_resolver("seqexp.options"):
        OmegaConf.register_new_resolver("seqexp.options", group_options)
    if not OmegaConf.has_resolver("seqexp.console_level"):
        OmegaConf.register_new_resolver("seqexp.console_level", console.console_level)
