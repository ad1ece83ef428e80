"""Validation rules the schemas' types cannot express, checked before any data is read and
before TensorFlow, Keras or MLflow are imported. One function per concern:

- :func:`check_keys`: every key is a field of its schema (``+trainer.epoch=3`` is a typo);
- :func:`check_ranges`: the bounds each schema field declares (``min``, ``max``, ``min_len``);
- :func:`check_combination`: whether the dataset, the encoder and the model fit together;
- :func:`check_splits`: the row ranges and window of a Jena-format dataset;
- :func:`check_text`: the split fractions and baseline order of a text corpus;
- :func:`check_tracking` and :func:`check_layers`: settings whose parts must agree.

Types (enums included) and overrides of existing keys are checked by Hydra and OmegaConf at
composition; keys added with ``+`` (or by a YAML file) are checked here, against the schemas.
"""

from __future__ import annotations

import dataclasses
import difflib
import sys
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from seqexp.errors import SeqexpError

SPARSE_BACKENDS = ("tensorflow", "jax")  # Keras backends that train on sparse inputs
BOUNDED = ("dataset", "encoder", "model", "trainer", "tracking", "generate")  # with bounds


def validate(cfg: DictConfig) -> None:
    """Resolve ``encoder=auto``, then check ranges and combinations; raise SeqexpError."""
    check_keys(cfg)
    resolve_auto_encoder(cfg)
    drop_unusable_mask(cfg)
    check_ranges(cfg)
    check_combination(cfg)
    if cfg.dataset.loader == "jena":
        check_splits(cfg.dataset)
    if cfg.dataset.loader == "text":
        check_text(cfg.dataset, cfg.trainer.evaluate_test)
    check_tracking(cfg.tracking)
    check_layers(cfg.model)


def schema_of(cfg: DictConfig, group: str) -> type:
    schema = OmegaConf.get_type(cfg[group])
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        raise SeqexpError(f"config group '{group}' has no schema: its YAML must list a "
                          f"'{group}' option in its defaults")
    return schema


def resolve_auto_encoder(cfg: DictConfig) -> None:
    """Replace ``encoder=auto`` by the dataset's default encoder with its schema defaults."""
    from seqexp.encoders import ENCODERS

    if cfg.encoder.name != "auto":
        return
    choice = cfg.dataset.default_encoder
    options = ENCODERS.options()
    if choice not in options or choice == "auto":
        raise SeqexpError(f"dataset.default_encoder={choice} is not an encoder: choose one of "
                          f"{', '.join(k for k in options if k != 'auto')}")
    with open_dict(cfg):
        cfg.encoder = OmegaConf.structured(options[choice])


# --------------------------------------------------------------------------- keys


def check_keys(node: DictConfig, prefix: str = "") -> None:
    """Refuse a key that is not a field of its node's schema, naming the nearest field. A node
    typed as a plain dict (the root's ``extra``) holds free-form keys."""
    schema = OmegaConf.get_type(node)
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        return
    fields = [f.name for f in dataclasses.fields(schema)]
    for key in node.keys():
        if key not in fields:
            raise SeqexpError(unknown_key(f"{prefix}{key}", [f"{prefix}{f}" for f in fields]))
        value = node._get_node(key)
        if isinstance(value, DictConfig) and not value._is_none():
            check_keys(value, f"{prefix}{key}.")


def unknown_key(key: str, valid: list[str]) -> str:
    where, _, name = key.rpartition(".")
    names = [v.rpartition(".")[2] for v in valid]
    near = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if near:
        return f"unknown key {key}; did you mean {where + '.' if where else ''}{near[0]}?"
    return (f"unknown key {key}: {where or 'the top level'} has {', '.join(names)} "
            "(free-form keys go under extra., e.g. +extra.note=...)")


def drop_unusable_mask(cfg: DictConfig) -> None:
    """``encoder.mask_zero=false`` for a model whose first layers cannot carry a mask (Flatten,
    Conv1D: Keras would warn that they destroy it), said in one line; the run's params then
    record the mask it trained with."""
    if cfg.encoder.get("mask_zero") and not schema_of(cfg, "model").uses_mask:
        cfg.encoder.mask_zero = False
        print(f"seqexp: encoder.mask_zero=true turned off: model={cfg.model.name} starts with "
              "layers that cannot use a mask (a recurrent model uses it)", file=sys.stderr)


# --------------------------------------------------------------------------- ranges


def check_ranges(cfg: DictConfig) -> None:
    """Every field's declared bounds, group by group."""
    from seqexp.data import DATASETS

    loaders = DATASETS.options()
    if cfg.dataset.loader not in loaders:
        raise SeqexpError(f"dataset.loader={cfg.dataset.loader} is not allowed: choose one of "
                          f"{', '.join(loaders)}")
    for group in BOUNDED:
        if group not in cfg:  # generate: absent from configs recorded before it existed
            continue
        for f in dataclasses.fields(schema_of(cfg, group)):
            check_field(f"{group}.{f.name}", cfg[group].get(f.name), f.metadata)


def check_field(key: str, value: Any, meta: Any) -> None:
    if isinstance(value, ListConfig):
        if len(value) < meta.get("min_len", 0):
            raise SeqexpError(f"{key}={list(value)} must list at least {meta['min_len']} "
                              "value(s)")
        if "min" in meta and any(v is not None and v < meta["min"] for v in value):
            raise SeqexpError(f"{key}={list(value)}: every entry must be >= {meta['min']}")
        return
    if value is None or isinstance(value, DictConfig):
        return
    if "min" in meta and value < meta["min"]:
        raise SeqexpError(f"{key}={value} is too small: it must be >= {meta['min']}")
    if "max" in meta and value > meta["max"]:
        raise SeqexpError(f"{key}={value} is too large: it must be <= {meta['max']}")


# --------------------------------------------------------------------------- combination


def check_combination(cfg: DictConfig) -> None:
    """What the dataset holds must be what the encoder consumes; the encoder's layout (a
    sequence or a bag) one the model accepts."""
    from seqexp.encoders import ENCODERS
    from seqexp.models import MODELS

    data = schema_of(cfg, "dataset").holds
    encoder = OmegaConf.to_object(cfg.encoder)
    if data not in type(encoder).consumes:
        fits = [k for k, s in ENCODERS.options().items() if data in s.consumes and k != "auto"]
        raise SeqexpError(f"encoder={encoder.name} cannot encode dataset={cfg.dataset.name} "
                          f"({data}): use encoder={' or encoder='.join(fits)}")
    encoder.check(data)
    if encoder.name == "onehot":
        check_sparse(cfg)
    produced = encoder.layout()
    if produced not in schema_of(cfg, "model").accepts:
        fits = [k for k, s in MODELS.options().items() if produced in s.accepts]
        hint = (f"use model={' or model='.join(fits)}" if produced == "bag" else
                "use a bag-of-words model")
        if produced == "bag" and hasattr(encoder, "mode"):
            hint += f", or encoder.mode=sequence for a per-timestep {encoder.name} encoding"
        raise SeqexpError(
            f"model={cfg.model.name} needs sequences but encoder={encoder.name} "
            f"(mode {getattr(encoder, 'mode', '?')}) gives a bag of words: {hint}"
        )


def check_sparse(cfg: DictConfig) -> None:
    """``encoder.sparse``: a bag, a backend with sparse tensors, no dropout on the inputs."""
    import os

    if not cfg.encoder.sparse:
        return
    if cfg.encoder.mode == "sequence":
        raise SeqexpError("encoder.sparse=true hands on a bag, not a sequence: use "
                          "encoder.mode=multi_hot/count/tf_idf or encoder.sparse=false")
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend not in SPARSE_BACKENDS:
        raise SeqexpError(f"encoder.sparse=true needs sparse tensors, which KERAS_BACKEND="
                          f"{backend} lacks: use KERAS_BACKEND=tensorflow or jax, or "
                          "encoder.sparse=false")
    if cfg.model.get("input_dropout"):
        raise SeqexpError(f"model.input_dropout={cfg.model.input_dropout} cannot drop "
                          "entries of a sparse bag: use model.input_dropout=0 or "
                          "encoder.sparse=false")


# --------------------------------------------------------------------------- parts that agree


def check_splits(d: DictConfig) -> None:
    """A window holds at least one step; train, val and test are ordered row ranges
    [start, stop), stop excluded (a Python slice)."""
    if d.lookback < d.step:
        raise SeqexpError(
            f"dataset.lookback={d.lookback} is smaller than dataset.step={d.step}: "
            "a window needs at least one step; raise lookback or lower step"
        )
    bounds = []
    for split in ("train", "val", "test"):
        part = list(d[split])
        if len(part) != 2:
            raise SeqexpError(f"dataset.{split} must be [start, stop) rows, two numbers, "
                              f"got {part}")
        start, stop = part
        if start is None or start < 0 or (stop is not None and stop <= start):
            raise SeqexpError(f"dataset.{split}={part} is not a row range: use [start, stop) "
                              "with 0 <= start < stop (stop is excluded, as in a Python slice)")
        if stop is None and split != "test":
            raise SeqexpError(f"dataset.{split}={part} must end: only dataset.test may run to "
                              "the end of the record (stop null)")
        bounds.append((split, start, stop))
    for (a, _, a_stop), (b, b_start, _) in zip(bounds, bounds[1:]):
        if a_stop > b_start:
            raise SeqexpError(
                f"dataset.{a} and dataset.{b} overlap: {a} stops at row {a_stop} (excluded) "
                f"but {b} starts at row {b_start}; use {b}=[{a_stop}, ...] or later")


def check_text(d: DictConfig, evaluate_test: bool = False) -> None:
    """Text left to train on; a window long enough for the n-gram baseline's context; a test
    part to score when asked to."""
    if evaluate_test and d.test_fraction == 0:
        raise SeqexpError("trainer.evaluate_test=true but dataset.test_fraction=0 holds no test "
                          "text: set dataset.test_fraction (e.g. 0.1) or evaluate_test=false")
    if d.val_fraction + d.test_fraction >= 0.95:
        raise SeqexpError(f"dataset.val_fraction={d.val_fraction} + dataset.test_fraction="
                          f"{d.test_fraction} leave too little text to train on: keep their "
                          "sum below 0.95")
    if d.baseline_order - 1 > d.maxlen:
        raise SeqexpError(f"dataset.baseline_order={d.baseline_order} needs "
                          f"{d.baseline_order - 1} characters of context but a window holds "
                          f"dataset.maxlen={d.maxlen}: lower baseline_order or raise maxlen")


def check_tracking(t: DictConfig) -> None:
    if t.uri is not None and not str(t.uri).strip():
        raise SeqexpError("tracking.uri is empty: give a tracking URI (sqlite:///path/mlflow.db, "
                          "http://host:5000) or tracking.uri=null for MLflow's default store")


def check_layers(m: DictConfig) -> None:
    activation = m.get("activation")
    if isinstance(activation, ListConfig) and len(activation) != len(m.units):
        raise SeqexpError("model.activation must name one activation per entry of model.units")
