"""The Jena climate record (Deep Learning with Python 6.3): read, normalize, window."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from seqexp.data import REGRESSION, DataInfo, Splits, register
from seqexp.data.download import local_or_download, sha256sum
from seqexp.data.schemas import JenaConfig
from seqexp.data.windows import Windows
from seqexp.errors import SeqexpError

TIME_COLUMN = "Date Time"


def read_record(source: Path):
    """Read a Jena-format CSV, or the CSV inside a .zip, into a DataFrame."""
    import pandas as pd

    try:
        frame = pd.read_csv(source, compression="zip" if source.suffix == ".zip" else None)
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise SeqexpError(f"{source} is not a readable Jena CSV or zip ({err}); "
                          "download it again or pass another dataset.path") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise SeqexpError(f"{source} is not a valid CSV ({str(err).splitlines()[0]}); "
                          "pass the jena_climate_2009_2016.csv file or its zip") from None
    return frame


def _numeric(frame, columns: list[str], source: Path) -> np.ndarray:
    import pandas as pd

    for col in columns:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            bad = pd.to_numeric(frame[col], errors="coerce").isna() & frame[col].notna()
            row = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
            raise SeqexpError(f"{source}: column '{col}' has a non-numeric value "
                              f"{frame[col].iloc[row]!r} at data row {row + 1}; fix or "
                              "remove that row")
    values = frame[columns].to_numpy(dtype=np.float32)
    if np.isnan(values).any():
        row, col = np.argwhere(np.isnan(values))[0]
        raise SeqexpError(f"{source}: column '{columns[col]}' is empty at data row {row + 1}; "
                          "fill or remove that row")
    return values


def select_columns(frame, cfg: DictConfig, source: Path) -> list[str]:
    available = [c for c in frame.columns if c != TIME_COLUMN]
    if TIME_COLUMN not in frame.columns:
        raise SeqexpError(f"{source} has no '{TIME_COLUMN}' column: is it the Jena climate "
                          f"CSV? Its header starts with \"{TIME_COLUMN}\",\"p (mbar)\",...")
    features = list(cfg.features) if cfg.features else available
    missing = [c for c in features + [cfg.target] if c not in frame.columns]
    if missing:
        raise SeqexpError(f"{source} lacks column(s) {', '.join(map(repr, missing))}: "
                          f"it has {', '.join(map(repr, available))}; fix dataset.features "
                          "/ dataset.target or the file's header")
    if cfg.target not in features:
        raise SeqexpError(f"dataset.target='{cfg.target}' must be one of dataset.features "
                          "(the persistence baseline reads it from the window)")
    return features


def unit_of(column: str) -> str:
    """Metric-name suffix for a column's unit: "T (degC)" -> "degc", "p (mbar)" -> "mbar"."""
    match = re.search(r"\(([^)]*)\)", column)
    return re.sub(r"[^a-z0-9]+", "_", (match.group(1) if match else "units").lower()).strip("_")


@register(JenaConfig)
def load_jena(cfg: DictConfig) -> Splits:
    source = local_or_download(cfg.path, cfg.url, "dataset.path", cfg.sha256)
    frame = read_record(source)
    features = select_columns(frame, cfg, source)
    values = _numeric(frame, features, source)
    rows = len(values)
    for name in ("train", "val", "test"):
        start, stop = cfg[name]
        if start >= rows or (stop is not None and stop > rows):
            raise SeqexpError(f"{source} has {rows} rows but dataset.{name}={list(cfg[name])} "
                              f"reaches row {stop if stop is not None else start}: lower "
                              "dataset.train/val/test or use the full record")
    train_start, train_stop = cfg.train
    mean = values[train_start:train_stop].mean(axis=0)  # the book: float_data[:200000]
    std = values[train_start:train_stop].std(axis=0)
    std[std == 0] = 1.0
    data = (values - mean) / std
    target_col = features.index(cfg.target)

    def split(name: str) -> Windows:
        start, stop = cfg[name]
        windows = Windows.between(data, start, stop, lookback=cfg.lookback, step=cfg.step,
                                  delay=cfg.delay, target_col=target_col, stride=cfg.stride)
        if len(windows) == 0:
            raise SeqexpError(
                f"dataset.{name}={list(cfg[name])} holds no window of lookback "
                f"{cfg.lookback} and delay {cfg.delay} in {rows} rows: widen the split "
                "or lower dataset.lookback / dataset.delay")
        return windows

    return Splits(
        holds="numbers", task=REGRESSION,
        train=split("train"), val=split("val"), test=split("test"),
        info=DataInfo(source=str(source), sha256=sha256sum(source), rows=rows, features=features,
                      scale=float(std[target_col]), unit=unit_of(cfg.target)),
    )
