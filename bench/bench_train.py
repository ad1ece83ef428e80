"""Training speed of the book's models on Jena and IMDB shapes, on this device and Keras backend.

    python bench/bench_train.py --presets 6.37-jena-dense,6.39-gru    # some rows (minutes)
    python bench/bench_train.py                       # every book model: about 25 min on CPU
    KERAS_BACKEND=jax python bench/bench_train.py --steps 200 --epoch-scale 1   # on a GPU

For each book preset (its exact model), trained by ``model.fit`` with the same batch size:

- ``seqexp``: seqexp's batch producer (the ``Batches`` PyDataset, ``--workers`` threads);
- ``keras``: plain Keras on the same samples held as arrays (``tf.data`` from tensors,
  batched and prefetched, on TensorFlow; numpy arrays on the other backends);
- ``book 6.33``: the book's generator (listing 6.33, a per-sample Python loop; Jena only).

- ``compute only``: one batch served again and again, the model's own step time.

The inputs of one preset are timed in ``--rounds`` interleaved rounds (compute only, seqexp,
keras, book, compute only, ...), each round ``--steps`` steps of a model built once per input
(its functions traced in the first ``--warmup`` steps), so that a load that comes and goes on a
shared machine falls on every input alike. Columns: samples/s of training and ms per step (the
median of the rounds' median steps, with the rounds' min-max; the loss is read back at each
step so that a step's time is its real compute; a row whose rounds spread over 10% of the
median is named below the table as too noisy to compare), and the share of step time spent
waiting for input: ``1 - compute-only ms / ms`` (Keras 3 fetches a batch inside the step, so
the wait is what a row's steps take beyond the compute-only ones).
Last, the
epoch time of listing 6.39 (GRU 32): 500 training steps plus the full validation pass; with
``--epoch-scale s`` < 1 (the CPU default) it runs ``s`` of both and the table says so, with the
time scaled up to a whole epoch beside it. The table is printed and appended to
``bench/RESULTS.md`` with the device, backend and versions (``--no-record`` to skip).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

RESULTS = Path(__file__).with_name("RESULTS.md")
JENA = ["6.37-jena-dense", "6.39-gru", "6.40-gru-dropout", "6.41-stacked", "6.44-bi-gru",
        "6.47-jena-conv", "6.49-conv-gru"]
IMDB = ["6.23-simple-rnn", "6.27-lstm", "6.43-bi-lstm", "6.46-imdb-conv"]


def compose(preset: str, *overrides: str):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    from seqexp.config import schemas

    schemas.register()
    with initialize_config_module(version_base="1.3", config_module="seqexp.conf"):
        return hydra_compose("config", overrides=[f"experiment=book/{preset}", *overrides])


class StepClock:
    """The span of each training step, from the previous step's end to this one's (Keras 3
    fetches a step's batch inside the step). The loss is read back at each step's end, so
    asynchronous backends finish the step inside its span."""

    def __init__(self, skip: int):
        import keras

        clock = self

        class Callback(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                float(logs["loss"])  # synchronize
                now = time.perf_counter()
                clock.steps += 1
                if clock.steps > skip and clock.end is not None:
                    clock.spans.append(now - clock.end)
                clock.end = now

        self.callback = Callback()
        self.steps = 0
        self.spans: list[float] = []
        self.end = None


def fit_timed(model, data, steps: int, warmup: int) -> float:
    """Train ``warmup + steps`` steps from ``data``; the median span (seconds) of the last
    ``steps`` (robust to a busy machine)."""
    clock = StepClock(skip=warmup)
    model.fit(data, epochs=1, steps_per_epoch=warmup + steps + 1, verbose=0,
              callbacks=[clock.callback], shuffle=False)
    return float(np.median(clock.spans))


def interleaved(data: str, preset: str, feeds: dict, make_model, args, batch: int) -> list:
    """Each input of one preset timed in ``--rounds`` interleaved rounds (A B C A B C ...),
    each round ``--steps`` steps of a model built once per input (its functions traced in
    the first round's ``--warmup`` steps): per input the median of the rounds' median steps,
    with their min and max. ``feeds`` maps an input to a function returning a fresh feed."""
    models = {source: make_model() for source in feeds}
    spans: dict[str, list[float]] = {source: [] for source in feeds}
    for round_ in range(args.rounds):
        for source, feed in feeds.items():
            spans[source].append(fit_timed(models[source], feed(), args.steps,
                                           args.warmup if round_ == 0 else 1))
    rows = []
    for source, values in spans.items():
        median = float(np.median(values))
        rows.append((data, preset, source, {
            "samples_s": batch / median, "ms_step": 1000 * median, "wait": None,
            "ms_min": 1000 * min(values), "ms_max": 1000 * max(values)}))
        print(format_row(rows[-1]), flush=True)
    return rows


def noisy(rows: list) -> list[str]:
    """The rows whose rounds spread over 10% of their median."""
    return [f"{r[1]} {r[2]}" for r in rows
            if (r[3]["ms_max"] - r[3]["ms_min"]) > 0.1 * r[3]["ms_step"]]


def compute_only(x: np.ndarray, y: np.ndarray, batch: int):
    """One batch served again and again at no cost: the model's own step time, the ceiling
    against which an input pipeline's wait is measured."""
    from seqexp.data.batches import Batches

    fixed = (x[:batch], y[:batch])

    class Same(Batches):
        def take(self, rows):
            return fixed

    return Same(len(y), batch)


def with_waits(rows: list) -> list:
    """Input wait of each row: the share of its step time beyond the compute-only step of the
    same model, ``1 - compute_ms / ms`` (0 when within noise of it)."""
    ceiling = {(r[0], r[1]): r[3]["ms_step"] for r in rows if r[2] == "compute only"}
    for data, preset, _, r in rows:
        base = ceiling.get((data, preset))
        r["wait"] = max(0.0, 1.0 - base / r["ms_step"]) if base else None
    return rows


def build(cfg, spec, layers, task):
    import keras

    from seqexp import models
    from seqexp.training import train

    keras.utils.set_random_seed(0)
    train.set_precision(cfg.trainer.precision)
    model = models.build(spec, layers, cfg.model, task)
    train.compile_model(model, task, cfg.trainer)
    return model


def plain_keras(x: np.ndarray, y: np.ndarray, batch: int):
    """The same samples as Keras takes arrays on this backend."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).repeat().prefetch(
            tf.data.AUTOTUNE)
    return ArrayBatches(x, y, batch)


def ArrayBatches(x, y, batch):  # noqa: N802 (a PyDataset over numpy arrays, no pipeline)
    from seqexp.data.batches import Batches

    class Arrays(Batches):
        def take(self, rows):
            return x[rows], y[rows]

    return Arrays(len(y), batch)


def jena_rows(args, csv: Path) -> tuple[list, object]:
    from seqexp import data

    rows, splits = [], None
    for preset in JENA:
        cfg = compose(preset, f"dataset.path={csv}", f"trainer.workers={args.workers}")
        if splits is None:
            splits = data.load(cfg.dataset)
        rows += jena_preset(preset, cfg, splits, args)
    return rows, splits


def jena_preset(preset: str, cfg, splits, args) -> list:
    from seqexp.encoders import Batching, encode
    from tests.book_generator import book_generator

    batch = cfg.trainer.batch_size
    enc = encode(splits, cfg.encoder, Batching(batch, 0, args.warmup + args.steps + 1))
    enc.train.workers = args.workers
    need = (args.warmup + args.steps + 1) * batch
    picked = np.random.default_rng(0).choice(len(splits.train), need, replace=False)
    ends = splits.train.ends[picked]
    x, y = splits.train.inputs(ends), splits.train.targets(ends)
    w = splits.train
    feeds = {
        "compute only": lambda: compute_only(x, y, batch),
        "seqexp": lambda: enc.train,
        "keras": lambda: plain_keras(x, y, batch),
        "book 6.33": lambda: book_generator(w.data, w.lookback, w.delay, 0, int(w.ends[-1]) + 1,
                                            shuffle=True, batch_size=batch, step=w.step),
    }
    return interleaved("jena", preset, feeds,
                       lambda: build(cfg, enc.spec, enc.layers, splits.task), args, batch)


def imdb_rows(args) -> list:
    rows = []
    for preset in IMDB:
        rows += imdb_preset(preset, compose(preset, f"trainer.workers={args.workers}"), args)
    return rows


def imdb_preset(preset: str, cfg, args) -> list:
    import keras

    from seqexp.encoders import InputSpec
    from seqexp.encoders.text import TextBatches
    from seqexp.tasks.binary import BINARY

    maxlen, words, batch = cfg.dataset.maxlen, cfg.dataset.num_words, cfg.trainer.batch_size
    n = (args.warmup + args.steps + 1) * batch
    rng = np.random.default_rng(0)
    x = rng.integers(1, words, size=(n, maxlen), dtype=np.int32)
    y = rng.integers(0, 2, size=n).astype(np.int32)
    spec = InputSpec((maxlen,), "int32", "sequence", words)
    train = TextBatches(x, y, batch, shuffle=True, seed=0, steps=args.warmup + args.steps + 1)
    train.workers = args.workers
    feeds = {"compute only": lambda: compute_only(x, y, batch), "seqexp": lambda: train,
             "keras": lambda: plain_keras(x, y, batch)}

    def make_model():
        layers = [keras.layers.Embedding(words, cfg.encoder.dim,
                                         mask_zero=cfg.encoder.mask_zero)]
        return build(cfg, spec, layers, BINARY)

    return interleaved("imdb", preset, feeds, make_model, args, batch)


def epoch_639(args, csv: Path, splits) -> tuple[float, float, int, int, int]:
    """Listing 6.39's epoch (500 steps + the validation pass), or ``scale`` of it; returns the
    measured seconds, the time scaled to a whole epoch, and the steps of each part run."""
    from seqexp.encoders import Batching, encode

    cfg = compose("6.39-gru", f"dataset.path={csv}", f"trainer.workers={args.workers}")
    train_steps = max(1, round(cfg.trainer.steps_per_epoch * args.epoch_scale))
    enc = encode(splits, cfg.encoder, Batching(cfg.trainer.batch_size, 0, train_steps))
    full_val = len(enc.val)
    val_steps = max(1, round(full_val * args.epoch_scale))
    model = build(cfg, enc.spec, enc.layers, splits.task)
    model.fit(enc.train, epochs=1, steps_per_epoch=2, verbose=0)  # compile train and eval
    model.evaluate(enc.val, steps=2, verbose=0)
    start = time.perf_counter()
    model.fit(enc.train, validation_data=enc.val, validation_steps=val_steps, epochs=1,
              steps_per_epoch=train_steps, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    return seconds, seconds / args.epoch_scale, train_steps, val_steps, full_val


def format_row(row) -> str:
    data, preset, source, r = row
    wait = "-" if r["wait"] is None else f"{100 * r['wait']:.0f}%"
    return (f"| {data} | {preset} | {source} | {r['samples_s']:,.0f} | {wait} "
            f"| {r['ms_step']:.1f} ({r['ms_min']:.1f}-{r['ms_max']:.1f}) |")


def environment() -> str:
    import keras

    from seqexp.tracking.lifecycle import device

    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend]
    version = getattr(sys.modules.get(module) or __import__(module), "__version__", "?")
    return (f"device {device()} ({platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs), backend {backend} {version}, keras {keras.__version__}, "
            f"numpy {np.__version__}, python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per row")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (compile)")
    parser.add_argument("--workers", type=int, default=1, help="seqexp's batch threads")
    parser.add_argument("--epoch-scale", type=float, default=0.02,
                        help="share of listing 6.39's epoch run (1: 500 steps + all validation; 0: "
                        "skip it)")
    parser.add_argument("--rows", type=int, default=420551, help="Jena-format rows generated")
    parser.add_argument("--only", choices=["jena", "imdb"], help="one family only")
    parser.add_argument("--presets", help="comma-separated book presets to run (default: all)")
    parser.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    if args.presets:
        chosen = args.presets.split(",")
        JENA[:] = [p for p in JENA if p in chosen]
        IMDB[:] = [p for p in IMDB if p in chosen]

    from seqexp.data.synthetic import write_jena_csv

    header = ("| data | book preset | input | samples/s | input wait | ms/step, median (min-max) |"
              "\n|---|---|---|---:|---:|---:|")
    print(header, flush=True)
    started = time.perf_counter()
    rows, splits, epoch = [], None, None
    with tempfile.TemporaryDirectory() as tmp:
        csv = write_jena_csv(Path(tmp) / "jena_climate_2009_2016.csv", rows=args.rows)
        if args.only != "imdb" and JENA:
            jena, splits = jena_rows(args, csv)
            rows += jena
            if args.epoch_scale > 0:
                epoch = epoch_639(args, csv, splits)
        if args.only != "jena" and IMDB:
            rows += imdb_rows(args)
    lines = [header, *map(format_row, with_waits(rows))]
    ratios = []
    for data, preset, source, r in rows:
        if source == "seqexp":
            for other in rows:
                if other[:2] == (data, preset) and other[2] in ("keras", "book 6.33"):
                    ratios.append(f"{preset} vs {other[2]}: "
                                  f"{r['samples_s'] / other[3]['samples_s']:.2f}x")
    summary = [f"seqexp / reference samples/s: {'; '.join(ratios)}"]
    if noisy(rows):
        summary.append(f"rounds spread over 10% of the median (too noisy to compare): "
                       f"{', '.join(noisy(rows))}")
    if epoch is not None:
        seconds, whole, train_steps, val_steps, full_val = epoch
        scaled = (f"scaled: {train_steps} of 500 steps + {val_steps} of {full_val} validation "
                  f"batches took {seconds:.1f} s, x{1 / args.epoch_scale:g} = " if
                  args.epoch_scale != 1 else "")
        summary.append(f"listing 6.39 epoch (500 steps + full validation, batch 128): "
                       f"{scaled}{whole:.1f} s" + (" (extrapolated)" if scaled else ""))
    env = environment()
    took = time.perf_counter() - started
    command = "python bench/bench_train.py " + " ".join(sys.argv[1:])
    print("\n" + "\n".join([*lines, "", *summary]))
    print(f"{env}; {took:.0f} s")
    if not args.no_record:
        today = datetime.date.today().isoformat()
        block = [f"\n## {today}: {env}\n", f"`{command.strip()}` ({args.rounds} interleaved "
                 f"rounds of {args.steps} timed steps per row, {args.warmup} untimed first, "
                 f"workers {args.workers}, Jena record of {args.rows:,} "
                 f"generated rows, IMDB shapes with random ids; {took:.0f} s)\n", *lines, "",
                 *(f"- {line}" for line in summary), ""]
        new = not RESULTS.exists()
        with open(RESULTS, "a", encoding="utf-8") as fh:
            if new:
                fh.write("# Training benchmark results (bench/bench_train.py)\n")
            fh.write("\n".join(block))
        print(f"appended to {RESULTS}")


if __name__ == "__main__":
    main()
