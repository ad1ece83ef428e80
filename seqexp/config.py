"""Typed schemas for every config group, registered in Hydra's ConfigStore.

Each YAML option in ``conf/<group>/`` starts with ``defaults: [/schema/<group>/<kind>@_here_]``
so Hydra checks names and types at composition time. Ranges and the compatibility of
dataset, encoder and model are checked by :func:`validate`, still before any data is read
and before TensorFlow, Keras or MLflow are imported (this module imports neither).

Field metadata: ``help`` (one line shown by ``seqexp --help``-style docs), ``min``/``max``
(inclusive bounds) and ``choices``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf

from seqexp.errors import SeqexpError


def _f(default: Any, help: str, **meta: Any) -> Any:
    """A dataclass field with a one-line description and optional bounds."""
    meta["help"] = help
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------- datasets
# What a dataset hands downstream: "numbers" (a numeric time series), "tokens" (integer word
# ids, Keras IMDB), "text" (raw review strings). Encoders say which of these they consume.


@dataclass
class DatasetConfig:
    produces: ClassVar[str] = "numbers"
    name: str = MISSING
    loader: str = _f(MISSING, "loader family in seqexp.data", choices=["jena", "imdb", "raw-imdb"])
    path: str | None = _f(None, "local file or folder; null downloads and caches")
    url: str = _f(MISSING, "canonical download address")
    sha256: str | None = _f(None, "expected sha256 of the download (null: not checked)")
    default_encoder: str = _f("numeric", "encoder used when encoder=auto")


@dataclass
class JenaConfig(DatasetConfig):
    produces: ClassVar[str] = "numbers"
    name: str = "jena"
    loader: str = "jena"
    url: str = (
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
        "jena_climate_2009_2016.csv.zip"
    )
    features: list[str] | None = _f(None, "input columns; null = every numeric column")
    target: str = _f("T (degC)", "column to forecast")
    train: list[int | None] = _f([0, 200000], "first and last row of the training split")
    val: list[int | None] = _f([200001, 300000], "first and last row of validation")
    test: list[int | None] = _f([300001, None], "first and last row of test (null: end)")
    lookback: int = _f(1440, "rows of history per sample", min=1)
    step: int = _f(6, "sampling period within the lookback, in rows", min=1)
    delay: int = _f(144, "rows ahead of the window's end to forecast", min=0)
    stride: int = _f(1, "rows between the ends of consecutive windows (book: 1)", min=1)
    shuffle: bool = _f(True, "draw training windows at random (book listing 6.33)")


@dataclass
class ImdbConfig(DatasetConfig):
    produces: ClassVar[str] = "tokens"
    name: str = "imdb"
    loader: str = "imdb"
    path: str | None = _f(None, "local imdb.npz (Keras layout); null downloads and caches")
    url: str = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"
    sha256: str | None = _f(
        "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
        "expected sha256 of the downloaded imdb.npz (Keras's; null: not checked)",
    )
    word_index_path: str | None = _f(None, "local imdb_word_index.json; null downloads")
    word_index_url: str = (
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb_word_index.json"
    )
    word_index_sha256: str | None = _f(
        "027313fe9a320280f3bf0fac5baf58c4a683cf39a7ed9c3d3d3912bde4284cf6",
        "expected sha256 of the downloaded word index (null: not checked)",
    )
    num_words: int = _f(10000, "keep the most frequent words (Keras num_words)", min=4)
    maxlen: int = _f(500, "pad/truncate reviews to this many tokens (pad_sequences)", min=1)
    val_split: float = _f(0.2, "fraction of train held out for validation", min=0.01, max=0.9)
    seed: int = _f(113, "seed of Keras's shuffle of train and test (load_data's default)")
    reverse: bool = _f(False, "feed sequences reversed (listing 6.42)")
    default_encoder: str = "embedding"


@dataclass
class RawImdbConfig(DatasetConfig):
    produces: ClassVar[str] = "text"
    name: str = "raw-imdb"
    loader: str = "raw-imdb"
    path: str | None = _f(None, "aclImdb folder or its .tar.gz; null downloads and caches")
    url: str = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
    maxlen: int = _f(100, "pad/truncate reviews to this many tokens (pad_sequences)", min=1)
    max_words: int = _f(10000, "vocabulary size, fitted on training texts only", min=3)
    train_samples: int | None = _f(
        200, "training reviews drawn (null: every review not drawn for validation)", min=1
    )
    val_samples: int = _f(10000, "validation reviews drawn from train", min=1)
    seed: int = _f(1337, "seed of the draw")
    reverse: bool = _f(False, "feed sequences reversed (listing 6.42)")
    default_encoder: str = "embedding"


# --------------------------------------------------------------------------- encoders
# An encoder consumes one of the dataset kinds above and produces "sequence"
# (batch, time, features) or "bag" (batch, features) inputs for the model.


@dataclass
class EncoderConfig:
    consumes: ClassVar[frozenset] = frozenset()
    name: str = MISSING

    def produces(self) -> str:
        return "sequence"


@dataclass
class AutoEncoderConfig(EncoderConfig):
    """Placeholder resolved to the dataset's ``default_encoder``."""

    consumes: ClassVar[frozenset] = frozenset({"numbers", "tokens", "text"})
    name: str = "auto"


@dataclass
class NumericConfig(EncoderConfig):
    consumes: ClassVar[frozenset] = frozenset({"numbers"})
    name: str = "numeric"


@dataclass
class OneHotConfig(EncoderConfig):
    consumes: ClassVar[frozenset] = frozenset({"tokens", "text"})
    name: str = "onehot"
    mode: str = _f(
        "multi_hot",
        "bag of words (multi_hot, count, tf_idf) or one-hot per timestep (sequence)",
        choices=["multi_hot", "count", "tf_idf", "sequence"],
    )
    ngrams: int = _f(1, "bag of n-grams up to this n (text, bag modes only)", min=1, max=5)
    level: str = _f("word", "tokens are words or characters (text only)", choices=["word", "char"])

    def produces(self) -> str:
        return "sequence" if self.mode == "sequence" else "bag"

    def check(self, data: str) -> None:
        """Refuse settings the dataset's kind (``tokens`` or ``text``) cannot honour."""
        if self.ngrams > 1 and self.mode == "sequence":
            raise SeqexpError(f"encoder.ngrams={self.ngrams} makes a bag of n-grams, not a "
                              "sequence: use encoder.mode=multi_hot/count/tf_idf or "
                              "encoder.ngrams=1")
        if data == "tokens" and (self.ngrams > 1 or self.level == "char"):
            what = "encoder.level=char" if self.level == "char" else f"encoder.ngrams={self.ngrams}"
            raise SeqexpError(f"{what} needs raw text but dataset=imdb holds word ids: use "
                              "dataset=raw-imdb, or encoder.level=word encoder.ngrams=1")


@dataclass
class HashConfig(EncoderConfig):
    consumes: ClassVar[frozenset] = frozenset({"tokens", "text"})
    name: str = "hash"
    dim: int = _f(1000, "hash buckets, bucket 0 included (kept for padding)", min=2)
    mode: str = _f("multi_hot", "bag of hashed words or one-hot per timestep",
                   choices=["multi_hot", "count", "sequence"])
    salt: int = _f(0, "0: FarmHash; else SipHash keyed by this salt (stable across processes)",
                   min=0)

    def produces(self) -> str:
        return "sequence" if self.mode == "sequence" else "bag"


@dataclass
class EmbeddingConfig(EncoderConfig):
    consumes: ClassVar[frozenset] = frozenset({"tokens", "text"})
    name: str = "embedding"
    dim: int = _f(32, "embedding size (8, 32 or 128 in the listings)", min=1)
    mask_zero: bool = _f(False, "mask padding (index 0) in recurrent layers")


@dataclass
class GloveConfig(EncoderConfig):
    consumes: ClassVar[frozenset] = frozenset({"tokens", "text"})
    name: str = "glove"
    path: str | None = _f(None, "local glove .txt, .txt.gz or .zip; null downloads glove.6B")
    url: str = "https://nlp.stanford.edu/data/glove.6B.zip"
    dim: int = _f(100, "vector size; must match the file (glove.6B: 50, 100, 200 or 300)", min=1)
    trainable: bool = _f(False, "fine-tune the pretrained vectors")
    mask_zero: bool = _f(False, "mask padding (index 0) in recurrent layers")


# --------------------------------------------------------------------------- models
# Each model accepts "sequence" and/or "bag" inputs; sizes are all in config.


@dataclass
class ModelConfig:
    accepts: ClassVar[frozenset] = frozenset({"sequence"})
    name: str = MISSING


@dataclass
class DenseConfig(ModelConfig):
    accepts: ClassVar[frozenset] = frozenset({"sequence", "bag"})
    name: str = "dense"
    units: list[int] = _f([32], "hidden Dense layers (relu); [] for none (listing 6.7)", min=1)


@dataclass
class RecurrentConfig(ModelConfig):
    name: str = MISSING
    units: int = _f(32, "recurrent units", min=1)
    dropout: float = _f(0.0, "input dropout of the recurrent layer", min=0.0, max=0.95)
    recurrent_dropout: float = _f(
        0.0, "recurrent dropout (listing 6.40; disables cuDNN)", min=0.0, max=0.95
    )


@dataclass
class SimpleRnnConfig(RecurrentConfig):
    name: str = "simple-rnn"


@dataclass
class LstmConfig(RecurrentConfig):
    name: str = "lstm"


@dataclass
class GruConfig(RecurrentConfig):
    name: str = "gru"


@dataclass
class StackedConfig(ModelConfig):
    name: str = "stacked"
    cell: str = _f("gru", "recurrent cell", choices=["gru", "lstm"])
    units: list[int] = _f([32, 64], "units of each stacked layer (listing 6.41)", min=1,
                          min_len=1)
    activation: list[str] = _f(["tanh", "relu"], "activation of each layer (6.41: relu on 2nd)",
                               min_len=1)
    dropout: float = _f(0.1, "input dropout of each layer", min=0.0, max=0.95)
    recurrent_dropout: float = _f(0.5, "recurrent dropout of each layer", min=0.0, max=0.95)


@dataclass
class BidirectionalConfig(RecurrentConfig):
    name: str = "bi"
    cell: str = _f("gru", "recurrent cell (6.44: gru, 6.43: lstm)", choices=["gru", "lstm"])


@dataclass
class ConvConfig(ModelConfig):
    name: str = "conv"
    filters: list[int] = _f([32, 32, 32], "filters of each Conv1D (listing 6.47)", min=1,
                            min_len=1)
    kernel_size: int = _f(5, "Conv1D kernel size", min=1)
    pool_size: int = _f(3, "MaxPooling1D between convolutions", min=1)


@dataclass
class ConvGruConfig(ConvConfig):
    name: str = "conv-gru"
    filters: list[int] = _f([32, 32], "filters of each Conv1D (listing 6.49)", min=1, min_len=1)
    units: int = _f(32, "GRU units", min=1)
    dropout: float = _f(0.1, "GRU input dropout", min=0.0, max=0.95)
    recurrent_dropout: float = _f(0.5, "GRU recurrent dropout", min=0.0, max=0.95)


# --------------------------------------------------------------------------- trainer, tracking


@dataclass
class TrainerConfig:
    epochs: int = _f(5, "training epochs", min=1)
    steps_per_epoch: int | None = _f(None, "batches per epoch; null = one pass over the data",
                                     min=1)
    batch_size: int = _f(128, "samples per batch", min=1)
    optimizer: str = _f("rmsprop", "Keras optimizer name", choices=["rmsprop", "adam", "sgd"])
    learning_rate: float = _f(0.001, "optimizer learning rate", min=0.0)
    seed: int = _f(42, "seed of weights, shuffling and dropout")
    early_stopping: int | None = _f(None, "stop after this many epochs without improvement",
                                       min=1)
    evaluate_test: bool = _f(False, "also score the test split with the best weights")
    checkpoint_dir: str = _f("checkpoints", "best-weights checkpoints (relative: run dir)")
    verbose: int = _f(2, "Keras progress: 0 silent, 1 bar, 2 one line per epoch", min=0, max=2)
    resume: str | None = _f(None, "MLflow run id of a killed or failed run to continue from "
                                  "its last completed epoch (its own config is used)")


@dataclass
class TrackingConfig:
    uri: str | None = _f(None, "MLflow tracking URI; null: MLFLOW_TRACKING_URI or default")
    experiment: str = _f("seqexp", "MLflow experiment name")
    run_name: str | None = _f(None, "MLflow run name; null: made from the overrides")


@dataclass
class Config:
    dataset: DatasetConfig = MISSING
    encoder: EncoderConfig = MISSING
    model: ModelConfig = MISSING
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


SCHEMAS = {
    "dataset": {"jena": JenaConfig, "imdb": ImdbConfig, "raw-imdb": RawImdbConfig},
    "encoder": {
        "auto": AutoEncoderConfig,
        "numeric": NumericConfig,
        "onehot": OneHotConfig,
        "hash": HashConfig,
        "embedding": EmbeddingConfig,
        "glove": GloveConfig,
    },
    "model": {
        "dense": DenseConfig,
        "simple-rnn": SimpleRnnConfig,
        "lstm": LstmConfig,
        "gru": GruConfig,
        "stacked": StackedConfig,
        "bi": BidirectionalConfig,
        "conv": ConvConfig,
        "conv-gru": ConvGruConfig,
    },
    "trainer": {"default": TrainerConfig},
    "tracking": {"default": TrackingConfig},
}


def bundled_file(name: str) -> str:
    """Absolute path of a data file shipped inside the package (``seqexp/data/``)."""
    return str(resources.files("seqexp.data").joinpath(name))


def register() -> None:
    """Register every schema as ``schema/<group>/<kind>`` and the root ``schema/config``."""
    cs = ConfigStore.instance()
    for group, kinds in SCHEMAS.items():
        for kind, node in kinds.items():
            cs.store(group=f"schema/{group}", name=kind, node=node)
    cs.store(group="schema", name="config", node=Config)
    if not OmegaConf.has_resolver("seqexp.bundled"):
        OmegaConf.register_new_resolver("seqexp.bundled", bundled_file)


# --------------------------------------------------------------------------- validation


def _check_range(group: str, node: Any, schema: type) -> None:
    for f in dataclasses.fields(schema):
        value = node.get(f.name) if isinstance(node, DictConfig) else None
        meta = f.metadata
        key = f"{group}.{f.name}"
        if isinstance(value, ListConfig):
            if len(value) < meta.get("min_len", 0):
                raise SeqexpError(f"{key}={list(value)} must list at least {meta['min_len']} "
                                  "value(s)")
            for item in value:
                if item is not None and "min" in meta and item < meta["min"]:
                    raise SeqexpError(f"{key}={list(value)}: every entry must be >= "
                                      f"{meta['min']}")
            continue
        if value is None or isinstance(value, DictConfig):
            continue
        if "choices" in meta and value not in meta["choices"]:
            raise SeqexpError(
                f"{key}={value} is not allowed: choose one of "
                f"{', '.join(map(str, meta['choices']))}"
            )
        if "min" in meta and value < meta["min"]:
            raise SeqexpError(f"{key}={value} is too small: it must be >= {meta['min']}")
        if "max" in meta and value > meta["max"]:
            raise SeqexpError(f"{key}={value} is too large: it must be <= {meta['max']}")


def schema_of(cfg: DictConfig, group: str) -> type:
    schema = OmegaConf.get_type(cfg[group])
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        raise SeqexpError(f"config group '{group}' has no schema: its YAML must list "
                          f"'/schema/{group}/<kind>@_here_' in its defaults")
    return schema


def encoder_choice(cfg: DictConfig) -> str:
    """The encoder the run uses: ``encoder=auto`` means the dataset's default encoder."""
    name = cfg.encoder.name
    return cfg.dataset.default_encoder if name == "auto" else name


def resolve_auto_encoder(cfg: DictConfig) -> None:
    """Replace ``encoder=auto`` by the dataset's default encoder with its schema defaults."""
    if cfg.encoder.name != "auto":
        return
    choice = cfg.dataset.default_encoder
    schema = SCHEMAS["encoder"].get(choice)
    if schema is None:
        raise SeqexpError(f"dataset.default_encoder={choice} is not an encoder: choose one of "
                          f"{', '.join(k for k in SCHEMAS['encoder'] if k != 'auto')}")
    with open_dict_struct(cfg):
        cfg.encoder = OmegaConf.structured(schema)


class open_dict_struct:
    """Temporarily allow replacing a whole group node in a struct config."""

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg

    def __enter__(self) -> DictConfig:
        self._struct = OmegaConf.is_struct(self.cfg)
        OmegaConf.set_struct(self.cfg, False)
        return self.cfg

    def __exit__(self, *exc: Any) -> None:
        OmegaConf.set_struct(self.cfg, self._struct)


def _check_jena(d: DictConfig) -> None:
    if d.lookback < d.step:
        raise SeqexpError(
            f"dataset.lookback={d.lookback} is smaller than dataset.step={d.step}: "
            "a window needs at least one step; raise lookback or lower step"
        )
    bounds = []
    for split in ("train", "val", "test"):
        part = list(d[split])
        if len(part) != 2:
            raise SeqexpError(f"dataset.{split} must be [first_row, last_row], got {part}")
        first, last = part
        if first is None or first < 0 or (last is not None and last < first):
            raise SeqexpError(f"dataset.{split}={part} is not a row range: use "
                              "[first_row, last_row] with 0 <= first_row <= last_row")
        bounds.append((split, first, last))
    for (a, _, a_last), (b, b_first, _) in zip(bounds, bounds[1:]):
        if a_last is None or a_last >= b_first:
            raise SeqexpError(
                f"dataset.{a} and dataset.{b} overlap: {a} must end before row {b_first} "
                f"where {b} starts"
            )


def validate(cfg: DictConfig) -> None:
    """Check ranges and the dataset/encoder/model combination; raise SeqexpError."""
    resolve_auto_encoder(cfg)
    for group in ("dataset", "encoder", "model", "trainer", "tracking"):
        _check_range(group, cfg[group], schema_of(cfg, group))
    dataset = schema_of(cfg, "dataset")
    encoder_schema = schema_of(cfg, "encoder")
    encoder = OmegaConf.to_object(cfg.encoder)
    model = schema_of(cfg, "model")
    if dataset.produces not in encoder_schema.consumes:
        fits = [k for k, s in SCHEMAS["encoder"].items()
                if dataset.produces in s.consumes and k != "auto"]
        raise SeqexpError(
            f"encoder={encoder.name} cannot encode dataset={cfg.dataset.name} "
            f"({dataset.produces}): use encoder={' or encoder='.join(fits)}"
        )
    check = getattr(encoder, "check", None)  # encoder-specific limits (e.g. onehot char level)
    if check is not None:
        check(dataset.produces)
    produced = encoder.produces()
    if produced not in model.accepts:
        fits = [k for k, s in SCHEMAS["model"].items() if produced in s.accepts]
        hint = (f"use model={' or model='.join(fits)}" if produced == "bag" else
                "use a bag-of-words model")
        if produced == "bag" and hasattr(encoder, "mode"):
            hint += f", or encoder.mode=sequence for a per-timestep {encoder.name} encoding"
        raise SeqexpError(
            f"model={cfg.model.name} needs sequences but encoder={encoder.name} "
            f"(mode {getattr(encoder, 'mode', '?')}) gives a bag of words: {hint}"
        )
    if cfg.dataset.loader == "jena":
        _check_jena(cfg.dataset)
    if cfg.tracking.uri is not None and not str(cfg.tracking.uri).strip():
        raise SeqexpError("tracking.uri is empty: give a tracking URI (sqlite:///path/mlflow.db, "
                          "http://host:5000) or tracking.uri=null for MLflow's default store")
    if isinstance(cfg.model.get("activation"), ListConfig) and len(cfg.model.activation) != len(
        cfg.model.units
    ):
        raise SeqexpError("model.activation must name one activation per entry of model.units")
