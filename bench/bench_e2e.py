"""Whole processes, start to finish: seqexp vs a bare Keras script vs the book's listing code.

    .venv/bin/python bench/bench_e2e.py --imdb /path/to/imdb.npz          # all rows, 100 steps
    .venv/bin/python bench/bench_e2e.py --only 6.39 --steps 3 --pairs 1 --val-windows 512 \\
        --no-record                                                         # a quick smoke

Each row is one book listing, timed as three separate Python processes doing the same work:

- ``seqexp``: ``python -m seqexp.cli.run experiment=book/<preset> trainer.epochs=1
  trainer.steps_per_epoch=S`` with everything seqexp records on (MLflow run in a SQLite store
  shared by the bench's runs, params, metrics, logged model, system metrics), each in a fresh
  working directory; ``SEQEXP_CACHE_DIR`` is the bench's folder (IMDB: the warm-up fills it);
- ``bare``: a hand-written Keras script (pandas or ``numpy.load``, the book's normalization or
  ``pad_sequences``, a ``tf.data`` pipeline, the book's model, ``model.fit``), no seqexp import;
- ``book``: the book's own code (listing 6.28's CSV reading, 6.32's normalization, 6.33's
  generator from tests/book_generator.py) with ``fit`` on it (Jena only).

All three train S steps of the preset's batch and validate on the windows (reviews) seqexp
scores: every validation window, in order (``--val-windows`` takes the first V instead, for a
quick run). Jena rows use a full-size generated record, written once to a temp folder.

A warm-up run of each command first (not counted), then ``--pairs`` interleaved rounds
(seqexp, bare, book, seqexp, ...). Per command: median wall time (min-max) and peak RSS (each
child's ``ru_maxrss`` from ``os.wait4``); per row the ratios seqexp/bare and seqexp/book
(median of the per-round ratios, min-max). Printed, and appended to ``bench/RESULTS.md`` with
the date, machine and versions unless ``--no-record``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import inspect
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # seqexp and tests.book_generator from this checkout
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = Path(__file__).with_name("RESULTS.md")
GNU_TIME = Path("/usr/bin/time").exists()
FOLDER = Path(tempfile.gettempdir()) / "seqexp-bench-e2e"  # the generated record, the cache
PRESETS = {"6.37": "6.37-jena-dense", "6.39": "6.39-gru", "6.49": "6.49-conv-gru",
           "6.27": "6.27-lstm"}
MODELS = {  # the book's models, as the presets build them (checked by parameter count)
    "6.37": "layers.Flatten(), layers.Dense(32, activation='relu'), layers.Dense(1)",
    "6.39": "layers.GRU(32), layers.Dense(1)",
    "6.49": "layers.Conv1D(32, 5, activation='relu'), layers.MaxPooling1D(3), "
            "layers.Conv1D(32, 5, activation='relu'), "
            "layers.GRU(32, dropout=0.1, recurrent_dropout=0.5), layers.Dense(1)",
    "6.27": "layers.Embedding(10000, 32), layers.LSTM(32), layers.Dense(1, activation='sigmoid')",
}

HEAD = """import json, sys
import numpy as np
import keras
from keras import layers
a = json.loads(sys.argv[1])
keras.utils.set_random_seed(0)
"""
COUNT = """class Count(keras.callbacks.Callback):
    train = val = 0
    def on_train_batch_end(self, batch, logs=None): Count.train += 1
    def on_test_batch_end(self, batch, logs=None): Count.val += 1
"""
TAIL = """print("COUNTS " + json.dumps({"train_steps": Count.train, "val_batches": Count.val,
      "val_windows": VAL_WINDOWS, "params": model.count_params()}), flush=True)
"""
JENA_BARE = HEAD + """import pandas as pd
import tensorflow as tf
values = pd.read_csv(a["csv"]).drop(columns=["Date Time"]).to_numpy(np.float32)
train = values[:a["train_stop"]]
data = tf.constant((values - train.mean(axis=0)) / train.std(axis=0))
lb, st, dl, tc, b = a["lookback"], a["step"], a["delay"], a["target_col"], a["batch"]

def window(i):
    return data[i - lb:i:st], data[i + dl, tc]

def windows(ends, train):
    ds = tf.data.Dataset.from_tensor_slices(ends)
    if train:
        ds = ds.shuffle(len(ends), seed=0).repeat()
    return ds.map(window, num_parallel_calls=tf.data.AUTOTUNE).batch(b).prefetch(tf.data.AUTOTUNE)

val_ends = np.arange(a["val_start"] + lb, a["val_start"] + lb + a["val_windows"])
VAL_WINDOWS = len(val_ends)
model = keras.Sequential([keras.Input((lb // st, values.shape[1])), MODEL])
model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="mae", metrics=["mae"])
""" + COUNT + """model.fit(windows(np.arange(lb, a["train_stop"]), True), epochs=1,
          steps_per_epoch=a["steps"], validation_data=windows(val_ends, False), verbose=2,
          callbacks=[Count()])
""" + TAIL
JENA_BOOK = HEAD + """f = open(a["csv"])  # listing 6.28
text = f.read()
f.close()
lines = text.split("\\n")
header = lines[0].split(",")
lines = [line for line in lines[1:] if line]  # (the generated file ends with a newline)
float_data = np.zeros((len(lines), len(header) - 1))
for i, line in enumerate(lines):
    values = [float(x) for x in line.split(",")[1:]]
    float_data[i, :] = values
mean = float_data[:a["train_stop"]].mean(axis=0)  # listing 6.32
float_data -= mean
std = float_data[:a["train_stop"]].std(axis=0)
float_data /= std
GENERATOR
lb, st, dl, b = a["lookback"], a["step"], a["delay"], a["batch"]
train_gen = generator(float_data, lookback=lb, delay=dl, min_index=0,
                      max_index=a["train_stop"], shuffle=True, step=st, batch_size=b)
# max_index one past seqexp's last window end: listing 6.33 never serves the batch reaching it
val_gen = generator(float_data, lookback=lb, delay=dl, min_index=a["val_start"],
                    max_index=a["val_start"] + lb + a["val_windows"] + 1, step=st, batch_size=b)
val_steps = -(-a["val_windows"] // b)
VAL_WINDOWS = val_steps * b  # the generator serves full batches only (wraps at its end)
model = keras.Sequential([keras.Input((lb // st, float_data.shape[-1])), MODEL])
model.compile(optimizer=keras.optimizers.RMSprop(), loss="mae")
""" + COUNT + """model.fit(train_gen, steps_per_epoch=a["steps"], epochs=1, validation_data=val_gen,
          validation_steps=val_steps, verbose=2, callbacks=[Count()])
""" + TAIL
IMDB_BARE = HEAD + """import tensorflow as tf
with np.load(a["npz"], allow_pickle=True) as f:
    x, y = f["x_train"], f["y_train"]
order = np.arange(len(x))
np.random.RandomState(113).shuffle(order)  # keras.datasets.imdb.load_data's shuffle
x, y, nw, b = x[order], y[order], a["num_words"], a["batch"]
x = [[1] + [w + 3 if w + 3 < nw else 2 for w in review] for review in x]
x = keras.utils.pad_sequences(x, maxlen=a["maxlen"])
split = len(x) - a["val_windows"]
train = tf.data.Dataset.from_tensor_slices((x[:split], y[:split]))
train = train.shuffle(split, seed=0).repeat().batch(b).prefetch(tf.data.AUTOTUNE)
val = tf.data.Dataset.from_tensor_slices((x[split:], y[split:])).batch(b)
VAL_WINDOWS = len(x) - split
model = keras.Sequential([keras.Input((a["maxlen"],), dtype="int32"), MODEL])
model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="binary_crossentropy",
              metrics=["accuracy"])
""" + COUNT + """model.fit(train, epochs=1, steps_per_epoch=a["steps"], validation_data=val,
          verbose=2, callbacks=[Count()])
""" + TAIL


def compose(preset: str, overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from seqexp.config import schemas

    schemas.register()
    with initialize_config_module(version_base="1.3", config_module="seqexp.conf"):
        return hydra_compose("config", overrides=[f"experiment=book/{preset}", *overrides])


def jena_row(listing: str, csv: Path, args, splits) -> tuple[list[str], dict]:
    """seqexp's overrides and the scripts' arguments for a Jena listing: the validation
    windows are those of seqexp's val split (the first ``--val-windows`` of them)."""
    from seqexp.data.windows import Windows

    d = compose(PRESETS[listing], [f"dataset.path={csv}"]).dataset
    (val_start, val_stop), train_stop = d.val, d.train[1]
    full = Windows.between(splits.val.data, val_start, val_stop, lookback=d.lookback,
                           step=d.step, delay=d.delay, target_col=0, stride=d.stride)
    n = min(args.val_windows or len(full), len(full))
    overrides = [f"dataset.path={csv}"]
    if n < len(full):
        overrides.append(f"dataset.val=[{val_start},{val_start + d.lookback + n}]")
    assert d.stride == 1 and splits.train.target_col == 1, "listing 6.33 reads column 1"
    return overrides, {"csv": str(csv), "lookback": d.lookback, "step": d.step,
                       "delay": d.delay, "target_col": splits.train.target_col,
                       "train_stop": train_stop, "val_start": val_start, "val_windows": n}


def imdb_row(npz: Path, args) -> tuple[list[str], dict]:
    """The reviews seqexp validates on: the last val_split of train, as seqexp splits it."""
    from seqexp import data

    overrides = [f"dataset.path={npz}",
                 f"dataset.word_index_path={npz.with_name('imdb_word_index.json')}"]
    if args.val_windows:
        overrides.append(f"dataset.val_split={args.val_windows / 25000}")
    d = compose(PRESETS["6.27"], overrides).dataset
    splits = data.load(d)  # also fills the bench's cache, as seqexp's warm-up would
    return overrides, {"npz": str(npz), "num_words": d.num_words, "maxlen": d.maxlen,
                       "val_windows": len(splits.val[1])}


def timed(argv: list[str], cwd: Path, log: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process: GNU time's %M where /usr/bin/time is,
    else the child's ru_maxrss from ``os.wait4`` (Linux counts the bench's own RSS in it: the
    child starts as a copy of this process)."""
    if GNU_TIME:
        argv = ["/usr/bin/time", "-f", "%M", "-o", str(cwd / "rss"), *argv]
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(argv[:6])}... exited {proc.returncode}; its output ends:\n"
                 + "\n".join(log.read_text().splitlines()[-15:]))
    kib = int((cwd / "rss").read_text().split()[-1]) if GNU_TIME else usage.ru_maxrss
    return wall, kib / 1024


def seqexp_counts(uri: str) -> dict:
    """The latest run in the bench's store: its status, steps, validation windows, params."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("seqexp")
    run = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"],
                             max_results=1)[0]
    profile = json.loads(run.inputs.dataset_inputs[0].dataset.profile)
    return {"status": run.info.status, "train_steps": run.data.params.get(
        "trainer.steps_per_epoch"), "val_windows": profile["val"],
        "params": int(run.data.params.get("model.parameters", -1))}


def script_counts(log: Path) -> dict:
    line = [x for x in log.read_text().splitlines() if x.startswith("COUNTS ")][-1]
    return json.loads(line[len("COUNTS "):])


def mismatches(listing: str, name: str, counts: dict, first: dict, batch: int) -> list[str]:
    """What differs from seqexp's run (the first command) in steps, windows or parameters;
    the book's generator may serve up to a batch more (full batches only)."""
    if "counts" not in first:
        return []
    ref, found = first["counts"], []
    for key in ("train_steps", "params", "val_windows"):
        extra = int(counts[key]) - int(ref[key])
        if extra and not (key == "val_windows" and name == "book" and 0 < extra < batch):
            found.append(f"{listing} {name}: {key} {counts[key]} vs seqexp's {ref[key]}")
    for line in found:
        print(f"warning: {line}", flush=True)
    return found


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def shell(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="training steps of each run")
    parser.add_argument("--pairs", type=int, default=3, help="interleaved timed rounds")
    parser.add_argument("--only", nargs="+", choices=list(PRESETS), help="these listings only")
    parser.add_argument("--val-windows", type=int, help="validate on the first V windows only")
    parser.add_argument("--imdb", type=Path, help="imdb.npz (Keras's); without it: no 6.27 row")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    FOLDER.mkdir(exist_ok=True)
    os.environ["SEQEXP_CACHE_DIR"] = str(FOLDER / "cache")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT),
                                                             os.environ.get("PYTHONPATH")]))
    load_before = os.getloadavg()
    from seqexp import data
    from seqexp.data.synthetic import write_jena_csv
    from tests.book_generator import book_generator

    listings = args.only or list(PRESETS)
    if "6.27" in listings and args.imdb is None:
        print("6.27 (LSTM on IMDB): skipped, pass --imdb PATH to imdb.npz")
        listings = [x for x in listings if x != "6.27"]
    csv, splits = FOLDER / "jena_climate_2009_2016.csv", None
    if any(x != "6.27" for x in listings):
        if not csv.exists():
            print(f"writing a full-size Jena record to {csv}", flush=True)
            write_jena_csv(csv.with_suffix(".part.csv"))
            csv.with_suffix(".part.csv").rename(csv)
        splits = data.load(compose(PRESETS["6.39"], [f"dataset.path={csv}"]).dataset)
    generator = inspect.getsource(book_generator).replace("def book_generator", "def generator")
    work = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    uri = f"sqlite:///{work}/bench.db"
    rows, noisy, mismatched = [], [], []
    try:
        for listing in listings:
            if listing == "6.27":
                overrides, params = imdb_row(args.imdb.resolve(), args)
                scripts = {"bare": IMDB_BARE}
            else:
                overrides, params = jena_row(listing, csv, args, splits)
                scripts = {"bare": JENA_BARE,
                           "book": JENA_BOOK.replace("GENERATOR", generator)}
            cfg = compose(PRESETS[listing], overrides)
            params.update(steps=args.steps, batch=cfg.trainer.batch_size)
            commands = {"seqexp": [sys.executable, "-m", "seqexp.cli.run",
                                   f"experiment=book/{PRESETS[listing]}", *overrides,
                                   "trainer.epochs=1", f"trainer.steps_per_epoch={args.steps}",
                                   f"tracking.uri={uri}"]}
            for name, text in scripts.items():
                path = work / f"{listing}-{name}.py"
                path.write_text(text.replace("MODEL", MODELS[listing]))
                commands[name] = [sys.executable, str(path), json.dumps(params)]
            times = {name: [] for name in commands}
            rss = {name: [] for name in commands}
            first: dict = {}
            for round_ in range(args.pairs + 1):  # round 0: the warm-up, not counted
                for name, argv in commands.items():
                    cwd = Path(tempfile.mkdtemp(dir=work))
                    log = cwd / "out.log"
                    wall, peak = timed(argv, cwd, log)
                    counts = seqexp_counts(uri) if name == "seqexp" else script_counts(log)
                    print(f"{listing} {name:6} {'warm-up' if round_ == 0 else f'round {round_}'}"
                          f": {wall:6.1f} s, {peak:5.0f} MiB, {counts}", flush=True)
                    if name == "seqexp" and counts["status"] != "FINISHED":
                        sys.exit(f"seqexp's run ended {counts['status']}: see {log}")
                    if round_ == 0:
                        mismatched += mismatches(listing, name, counts, first, params["batch"])
                        first.setdefault("counts", counts)
                    else:
                        times[name].append(wall)
                        rss[name].append(peak)
            rows.append((listing, times, rss))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    header = ["| listing | command | wall s, median (min-max) | peak RSS MiB | "
              "seqexp / this, median (min-max) |", "|---|---|---:|---:|---:|"]
    lines = list(header)
    for listing, times, rss in rows:
        for name, walls in times.items():
            ratio = "" if name == "seqexp" else spread(
                [a / b for a, b in zip(times["seqexp"], walls, strict=True)])
            lines.append(f"| {listing} | {name} | {spread(walls)} | {max(rss[name]):,.0f} | "
                         f"{ratio} |")
            if (max(walls) - min(walls)) / statistics.median(walls) > 0.10:
                noisy.append(f"{listing} {name}")
    load_after = os.getloadavg()
    cpu = next((x.split(":", 1)[1].strip() for x in Path("/proc/cpuinfo").read_text()
                .splitlines() if x.startswith("model name")), "?")
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}"
                         for p in ("keras", "tensorflow", "mlflow"))
    machine = (f"{shell('nproc')} CPUs ({cpu}), load average "
               f"{' '.join(f'{x:.2f}' for x in load_before)} before, "
               f"{' '.join(f'{x:.2f}' for x in load_after)} after; {versions}")
    command = "python bench/bench_e2e.py " + " ".join(sys.argv[1:])
    note = (f"{args.steps} training step{'s' if args.steps != 1 else ''}, validation on "
            f"{args.val_windows or 'all'} windows, {args.pairs} interleaved rounds after a "
            "warm-up; peak RSS: " + ("GNU time's %M" if GNU_TIME else
                                       "each child's ru_maxrss (os.wait4, with the bench's)"))
    print("\n" + "\n".join(lines) + f"\n\n{note}\n{machine}")
    if noisy:
        print(f"warning: {', '.join(noisy)} spread over 10% of the median: too noisy to "
              "compare: rerun with more --pairs on a quiet machine")
    for line in mismatched:
        print(f"warning: not the same work as seqexp's run: {line}")
    if not args.no_record:
        block = [f"\n## {shell('date', '-u')}: whole processes (bench/bench_e2e.py)\n",
                 f"`{command.strip()}` ({note}). {machine}\n", *lines, ""]
        if noisy:
            block.append(f"- too noisy to compare: {', '.join(noisy)}")
        block += [f"- differs from seqexp's run: {line}" for line in mismatched]
        block.append("")
        with open(RESULTS, "a", encoding="utf-8") as fh:
            fh.write("\n".join(block))
        print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
