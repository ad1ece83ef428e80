"""Jena window pipeline: seqexp's vectorized batches vs the book's generator (listing 6.33)
and keras.utils.timeseries_dataset_from_array, measured in the same run on the same array.

    .venv/bin/python bench/bench_windows.py [--csv jena.csv] [--batches 200]

Without --csv it generates a full-size Jena-format record (420,551 rows) in a temp folder.
Prints samples/s for each and the two ratios the foundation issue asks for (bars: >= 2x the
book's generator, >= 10x timeseries_dataset_from_array).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.book_generator

import numpy as np  # noqa: E402

LOOKBACK, STEP, DELAY, BATCH = 1440, 6, 144, 128
TRAIN_LAST = 200000


def timed(batches, n: int) -> float:
    """Samples per second drawing ``n`` batches (after one warm-up batch)."""
    it = iter(batches)
    next(it)
    start = time.perf_counter()
    samples = 0
    for _ in range(n):
        x, y = next(it)
        samples += len(np.asarray(y))
    return samples / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, help="a Jena-format CSV or zip (default: generate)")
    parser.add_argument("--batches", type=int, default=200)
    args = parser.parse_args()

    from omegaconf import OmegaConf

    from seqexp.data import load
    from seqexp.data.batches import WindowBatches
    from seqexp.data.schemas import JenaConfig
    from seqexp.data.synthetic import write_jena_csv
    from tests.book_generator import book_generator

    with tempfile.TemporaryDirectory() as tmp:
        csv = args.csv
        if csv is None:
            csv = write_jena_csv(Path(tmp) / "jena_climate_2009_2016.csv")
        cfg = OmegaConf.structured(JenaConfig(path=str(csv)))
        splits = load(cfg)
    data = splits.train.data
    print(f"record: {len(data):,} rows x {data.shape[1]} features; train windows "
          f"{len(splits.train):,}; batch {BATCH}, lookback {LOOKBACK}, step {STEP}, "
          f"delay {DELAY}; {args.batches} batches each")

    import keras

    ours = WindowBatches(splits.train, BATCH, shuffle=True, seed=0, steps=args.batches + 1)
    book = book_generator(data, LOOKBACK, DELAY, 0, TRAIN_LAST, shuffle=True, batch_size=BATCH,
                          step=STEP)
    # Same windows as listing 6.33: input rows [i-lookback, i) every `step`, target i+delay.
    keras_ds = keras.utils.timeseries_dataset_from_array(
        data[:-DELAY], targets=data[LOOKBACK + DELAY:, 1], sequence_length=LOOKBACK // STEP,
        sampling_rate=STEP, batch_size=BATCH, shuffle=True, seed=0, end_index=TRAIN_LAST)

    rates = {
        "seqexp WindowBatches": timed((ours[i] for i in range(len(ours))), args.batches),
        "book generator (6.33)": timed(book, args.batches),
        "timeseries_dataset_from_array": timed(keras_ds.as_numpy_iterator(), args.batches),
    }
    for name, rate in rates.items():
        print(f"{name:32s} {rate:12,.0f} samples/s")
    ours_rate = rates["seqexp WindowBatches"]
    print(f"ratio vs book generator:            {ours_rate / rates['book generator (6.33)']:.1f}x"
          "  (bar: >= 2x)")
    print(f"ratio vs timeseries_dataset_from_array: "
          f"{ours_rate / rates['timeseries_dataset_from_array']:.1f}x  (bar: >= 10x)")


if __name__ == "__main__":
    main()
