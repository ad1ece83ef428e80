"""The Jena climate record (Deep Learning with Python 6.3): read, normalize, window."""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
from omegaconf import DictConfig

from seqexp import progress
from seqexp.data import DataInfo, Splits, register, task_of
from seqexp.data.download import cached_arrays, local_or_download, sha256sum
from seqexp.data.schemas import JenaConfig
from seqexp.data.windows import Windows
from seqexp.errors import SeqexpError

TIME_COLUMN = "Date Time"
TIME_FORMAT = "%d.%m.%Y %H:%M:%S"  # 01.01.2009 00:10:00
# dataset.clean=fill: a value at or below GLITCH_AT is the logger's missing-value code (the
# real record holds -9999.0 in "wv (m/s)" and "max. wv (m/s)"), treated as an empty cell.
GLITCH_AT = -9000.0
# dataset.clean=fill: the longest run of missing target rows filled (6 rows = one hour);
# a longer gap is an error naming its rows (a made-up target would be trained and scored).
MAX_TARGET_GAP = 6
CACHE_VERSION = 1  # of the prepared record's cache entries (bump when preparation changes)
TIME_CHUNK = 20_000  # rows of Date Time parsed at once (the cleaning stage's bar steps)


@contextlib.contextmanager
def _csv_bytes(source: Path) -> Iterator[tuple[IO[bytes], int]]:
    """The CSV's bytes as a stream and their number: the file, or the one file of a .zip."""
    if source.suffix != ".zip":
        with open(source, "rb") as fh:
            yield fh, source.stat().st_size
        return
    with zipfile.ZipFile(source) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            raise ValueError(f"the zip holds {len(members)} files, not one CSV")
        with archive.open(members[0]) as fh:
            yield fh, members[0].file_size


def read_record(source: Path):
    """Read a Jena-format CSV, or the CSV inside a .zip, into a DataFrame (a progress stage
    in bytes of the CSV)."""
    import pandas as pd
    from tqdm.utils import CallbackIOWrapper

    try:
        with _csv_bytes(source) as (fh, size), \
                progress.stage(f"read {source.name}", total=size, unit="B") as bar:
            frame = pd.read_csv(CallbackIOWrapper(bar.update, fh, "read"))
            bar.result = f"{len(frame):,} rows"
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise SeqexpError(f"{source} is not a readable Jena CSV or zip ({err}); "
                          "download it again or pass another dataset.path") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        raise SeqexpError(f"{source} is not a valid CSV ({str(err).splitlines()[0]}); "
                          "pass the jena_climate_2009_2016.csv file or its zip") from None
    return frame


def rows_named(rows) -> str:
    """ "data rows 3, 8, 9 (and 4 more)": 1-based data rows, the first five named."""
    rows = [int(r) + 1 for r in rows]
    named = ", ".join(map(str, rows[:5]))
    more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
    return f"data row{'s' if len(rows) > 1 else ''} {named}{more}"


def metric_key(column: str) -> str:
    """An MLflow-safe metric name part: "max. wv (m/s)" -> "max_wv_m_s"."""
    return re.sub(r"[^A-Za-z0-9]+", "_", column).strip("_")


def clean_record(frame, features: list[str], target: str, source: Path):
    """dataset.clean=fill: return the cleaned frame and the counts of what was fixed.

    Rows are sorted by time (stable) when out of order, rows repeating an earlier timestamp
    are dropped (the first kept), values <= GLITCH_AT and empty cells become missing and are
    filled by time interpolation between their neighbours (the record's edges: the nearest
    value). Unreadable timestamps and target gaps over MAX_TARGET_GAP rows raise SeqexpError
    naming the rows (numbered as in the file)."""
    with progress.stage(f"cleaned {source.name}", total=len(frame), unit="rows") as bar:
        frame, counts = _cleaned(frame, features, target, source, bar)
        bar.result, bar.report = f"{len(frame):,} rows", cleaned_line(counts, features)
    return frame, counts


def parse_times(column, bar: progress.Stage):
    """``Date Time`` as datetimes (NaT where unreadable), parsed in chunks counted by ``bar``
    (this format's strptime costs 10-20 s per million rows here)."""
    import pandas as pd

    chunks = []
    for start in range(0, len(column), TIME_CHUNK):
        part = column.iloc[start:start + TIME_CHUNK]
        chunks.append(pd.to_datetime(part, format=TIME_FORMAT, errors="coerce"))
        bar.update(len(part))
    return pd.concat(chunks) if chunks else pd.to_datetime(column, format=TIME_FORMAT)


def _cleaned(frame, features: list[str], target: str, source: Path, bar: progress.Stage):
    time = parse_times(frame[TIME_COLUMN], bar)
    bad = np.flatnonzero(time.isna().to_numpy())
    if len(bad):
        raise SeqexpError(f"{source}: '{TIME_COLUMN}' is empty or not a {TIME_FORMAT} time at "
                          f"{rows_named(bad)}; fix or remove those rows")
    counts: dict[str, int] = {}
    diffs = time.diff().dt.total_seconds().to_numpy()[1:]
    counts["reordered"] = int((diffs < 0).sum())  # rows earlier than the row before them
    frame = frame.assign(**{TIME_COLUMN: time}).reset_index(names="_row")
    if counts["reordered"]:
        frame = frame.sort_values(TIME_COLUMN, kind="stable")
    duplicated = frame[TIME_COLUMN].duplicated(keep="first")
    counts["duplicates"] = int(duplicated.sum())
    frame = frame[~duplicated].set_index(TIME_COLUMN)
    values = frame[features]
    glitch, empty = values <= GLITCH_AT, values.isna()
    counts["glitches"], counts["empty"] = int(glitch.to_numpy().sum()), int(empty.to_numpy().sum())
    for col in features:
        for kind, mask in (("glitches", glitch), ("empty", empty)):
            if mask[col].any():
                counts[f"{kind}.{metric_key(col)}"] = int(mask[col].sum())
    missing = glitch | empty
    gap = missing[target].to_numpy()
    if gap.any():  # runs of missing target rows: (start, length)
        edges = np.diff(np.concatenate([[0], gap.astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        long = [(a, b) for a, b in zip(starts, stops, strict=True) if b - a > MAX_TARGET_GAP]
        if long:
            a, b = long[0]
            rows = frame["_row"].to_numpy()[a:b]
            raise SeqexpError(f"{source}: target '{target}' is missing for {b - a} rows in a "
                              f"row (data rows {rows[0] + 1}-{rows[-1] + 1}), more than the "
                              f"{MAX_TARGET_GAP} dataset.clean=fill fills; remove that stretch "
                              "or pick another dataset.target")
    if missing.to_numpy().any():
        filled = values.mask(missing).interpolate(method="time").ffill().bfill()
        frame = frame.assign(**{c: filled[c] for c in features})
    return frame.reset_index(drop=True), counts


def cleaned_line(counts: dict[str, int], features: list[str]) -> str | None:
    """What dataset.clean=fill changed, for the cleaning stage's line (None: nothing)."""
    parts = []
    for col in features:
        for kind, what in (("glitches", "glitches"), ("empty", "empty cells")):
            n = counts.get(f"{kind}.{metric_key(col)}", 0)
            if n:
                parts.append(f"{col} {n} {what} filled")
    if counts["duplicates"]:
        parts.append(f"{counts['duplicates']} duplicate timestamps dropped")
    if counts["reordered"]:
        parts.append(f"{counts['reordered']} out-of-order rows sorted by time")
    return ", ".join(parts) or None


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
        rows, cols = np.nonzero(np.isnan(values))
        col = cols[0]
        raise SeqexpError(f"{source}: column '{columns[col]}' is empty at "
                          f"{rows_named(rows[cols == col])} (dataset.clean=none keeps the raw "
                          "values); fill or remove those rows, or use dataset.clean=fill")
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


def prepare_record(source: Path, cfg: DictConfig) -> dict[str, np.ndarray]:
    """The record's chosen columns as float32 values, cleaned (``dataset.clean=fill``), with
    the column names and what cleaning changed: what :func:`load_jena` caches."""
    frame = read_record(source)
    features = select_columns(frame, cfg, source)
    _numeric(frame.fillna(0.0), features, source)  # non-numeric text: one line naming the row
    counts: dict[str, int] = {}
    if cfg.get("clean", "fill") == "fill":
        frame, counts = clean_record(frame, features, cfg.target, source)
    return {"values": _numeric(frame, features, source), "features": np.array(features),
            "count_names": np.array(list(counts), dtype=str),
            "count_values": np.array(list(counts.values()), dtype=np.int64)}


def prepared_record(source: Path, cfg: DictConfig) -> tuple[np.ndarray, list[str], dict | None]:
    """:func:`prepare_record`, once per record file and column/cleaning settings: later runs
    (a sweep's jobs, a rerun) read the prepared values from the cache instead of parsing
    and cleaning the CSV again."""
    clean = str(cfg.get("clean", "fill"))
    key = {"v": CACHE_VERSION, "loader": "jena", "sha256": sha256sum(source),
           "features": list(cfg.features) if cfg.features else None, "target": cfg.target,
           "clean": clean}
    arrays, hit = cached_arrays("jena", key, lambda: prepare_record(source, cfg))
    features = [str(f) for f in arrays["features"]]
    counts = None if clean != "fill" else {
        str(k): int(v) for k, v in zip(arrays["count_names"], arrays["count_values"])}
    if hit:
        with progress.stage(f"read {source.name} (prepared, from the cache)") as bar:
            bar.result = f"{len(arrays['values']):,} rows"
            if counts:
                bar.report = cleaned_line(counts, features)
    return arrays["values"], features, counts


@register(JenaConfig)
def load_jena(cfg: DictConfig) -> Splits:
    source = local_or_download(cfg.path, cfg.url, "dataset.path", cfg.sha256)
    values, features, counts = prepared_record(source, cfg)
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
        holds="numbers", task=task_of(cfg),
        train=split("train"), val=split("val"), test=split("test"),
        info=DataInfo(source=str(source), sha256=sha256sum(source), rows=rows, features=features,
                      scale=float(std[target_col]), unit=unit_of(cfg.target),
                      cleaned=None if counts is None else
                      {f"data.cleaned.{k}": v for k, v in counts.items()}),
    )
