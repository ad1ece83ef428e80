"""``seqexp-book``: the chapter's table in one command.

Runs every book preset (``conf/experiment/book/``) whose data is at hand, each for ``--seeds``
seeds, as ONE Hydra multirun of ``seqexp`` (so one MLflow parent run with a child run per
preset and seed, made by the sweep callback as for any sweep), then reads the children back
and writes ``book.md``, ``book.csv`` and ``book.png``: listing | what the book reports |
seqexp mean +- std | naive baseline | verdict. The book's figures are read from each preset's
``book:`` block, the one place they are written.

How the presets get their data within one sweep: for each runnable preset seqexp-book writes
a two-line experiment config into a scratch folder on Hydra's search path
(``experiment=book-run/<preset>``) that includes the preset and adds the local paths (and, with
``--quick``, fewer epochs and steps); the sweep then varies ``experiment`` over those and
``trainer.seed`` over the seeds.
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from seqexp import console

RUN_GROUP = "book-run"
CHAPTER = "6"  # the table is chapter 6's; other book presets (8.1) run when named by --only
URLS = {  # where each dataset downloads from (see the dataset schemas)
    "jena": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
            "jena_climate_2009_2016.csv.zip",
    "imdb": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz",
    "raw-imdb": "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
    "glove": "https://nlp.stanford.edu/data/glove.6B.zip",
}
VERDICTS = ("within the book's range", "better", "worse")


@dataclass
class Preset:
    """One book preset and what the book reports for it (its ``book:`` block)."""

    name: str  # file stem, e.g. "6.39-gru"
    dataset: str  # jena, imdb, raw-imdb
    encoder: str | None
    encoder_dim: int | None
    book: dict[str, Any]

    @property
    def listing(self) -> str:
        return str(self.book.get("listing") or self.name.split("-")[0])

    @property
    def metric(self) -> str:
        return self.book.get("metric") or ("best_val_mae" if self.dataset == "jena"
                                           else "best_val_acc")

    @property
    def lower_is_better(self) -> bool:
        return self.metric.endswith(("mae", "loss", "bpc"))

    @property
    def chapter(self) -> str:
        return self.listing.split(".")[0]


def book_dir() -> Path:
    return Path(str(resources.files("seqexp.conf").joinpath("experiment", "book")))


def load_presets(names: list[str] | None = None) -> list[Preset]:
    """Every book preset (or those named), in listing order, composed as ``seqexp`` composes
    them: its dataset, encoder and ``book:`` block."""
    from hydra import compose, initialize_config_module

    from seqexp import config

    config.register()
    # _jena.yaml & co. hold what the listings share: not listings themselves
    names = names or [p.stem for p in book_dir().glob("*.yaml") if not p.stem.startswith("_")]
    presets = []
    with initialize_config_module(version_base="1.3", config_module="seqexp.conf"):
        for name in names:
            cfg = compose("config", overrides=[f"experiment=book/{name}"])
            block = OmegaConf.to_container(cfg.book) if cfg.get("book") else {}
            presets.append(Preset(name=name, dataset=cfg.dataset.name,
                                  encoder=cfg.encoder.name, encoder_dim=cfg.encoder.get("dim"),
                                  book=block))
    return sorted(presets, key=lambda p: tuple(int(n) for n in p.listing.split(".")[:2]))


# --------------------------------------------------------------------------- data at hand


@dataclass
class Sources:
    """The local files given on the command line, and whether downloads are possible."""

    jena: Path | None = None
    imdb: Path | None = None
    word_index: Path | None = None
    raw_imdb: Path | None = None
    glove: Path | None = None
    online: bool = False
    notes: dict[str, str] = field(default_factory=dict)


@functools.cache
def reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether ``url`` answers (a HEAD request), or its download is cached already."""
    from seqexp.data.download import DOWNLOADS, cache_dir

    if (cache_dir() / DOWNLOADS / Path(url).name).exists():
        return True
    try:
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def glove_dim(path: Path) -> int | None:
    """The dimension of the vectors in a GloVe ``.txt`` / ``.txt.gz`` (None for a ``.zip``,
    which may hold several: the preset's dimension is then looked for in it)."""
    if path.suffix == ".zip":
        return None
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            first = handle.readline().rstrip("\n").split(" ")
    except (OSError, UnicodeDecodeError):
        return None
    return len(first) - 1 if len(first) > 1 else None


def plan(preset: Preset, src: Sources) -> tuple[dict[str, Any] | None, str]:
    """The overrides that point ``preset`` at its data, or None and why it is skipped."""
    def online(what: str) -> bool:
        return src.online and reachable(URLS[what])

    out: dict[str, Any] = {}
    if preset.dataset == "jena":
        if src.jena:
            out["dataset"] = {"path": str(src.jena)}
        elif not online("jena"):
            return None, ("no Jena record: pass --jena jena_climate_2009_2016.csv(.zip) "
                          "or run online")
    elif preset.dataset == "imdb":
        if src.imdb:
            index = src.word_index or src.imdb.with_name("imdb_word_index.json")
            if not index.exists() and not src.online:
                return None, (f"no word index: {index} does not exist; pass --word-index "
                              "imdb_word_index.json or run online")
            out["dataset"] = {"path": str(src.imdb)}
            if index.exists():
                out["dataset"]["word_index_path"] = str(index)
        elif not online("imdb"):
            return None, "no imdb.npz: pass --imdb imdb.npz (Keras's) or run online"
    elif preset.dataset == "raw-imdb":
        if src.raw_imdb:
            out["dataset"] = {"path": str(src.raw_imdb)}
        elif not online("raw-imdb"):
            return None, ("no raw IMDB reviews: pass --raw-imdb aclImdb (folder or "
                          "aclImdb_v1.tar.gz) or run online")
    elif preset.dataset != "text":  # text: the bundled corpus, or text:dataset.path=...
        return None, f"seqexp-book does not know dataset={preset.dataset}"
    if preset.encoder == "glove":
        if src.glove:
            out["encoder"] = {"path": str(src.glove)}
            dim = glove_dim(src.glove)
            if dim and dim != preset.encoder_dim:
                out["encoder"]["dim"] = dim
        elif not online("glove"):
            return None, "no GloVe vectors: pass --glove glove.6B.100d.txt(.gz) or run online"
    return out, ""


def quick_overrides(preset: Preset) -> dict[str, Any]:
    """``--quick``: one short epoch on fewer validation examples (a smoke run)."""
    out: dict[str, Any] = {"trainer": {"epochs": 1, "steps_per_epoch": 3}}
    if preset.dataset == "jena":
        out["dataset"] = {"stride": 60}  # a window every 10 hours: few validation batches
    elif preset.dataset == "raw-imdb":
        out["dataset"] = {"train_samples": 100, "val_samples": 200}
    return out


def scoped_overrides(items: list[str], preset: Preset) -> dict[str, Any]:
    """The command line's ``DATASET:KEY=VALUE`` overrides that apply to ``preset`` (those
    whose DATASET is the preset's), as a config tree for its run file."""
    mine = []
    for item in items:
        scope, sep, rest = item.partition(":")
        if sep and "=" not in scope and scope == preset.dataset:
            mine.append(rest)
    return OmegaConf.to_container(OmegaConf.from_dotlist(mine)) if mine else {}


def split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """Overrides for every job (``KEY=VALUE``) and scoped ones (``DATASET:KEY=VALUE``)."""
    scoped = [i for i in items if ":" in i.split("=", 1)[0]]
    return [i for i in items if i not in scoped], scoped


def merge(tree: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(tree.get(key), dict):
            merge(tree[key], value)
        else:
            tree[key] = value
    return tree


def deviations(preset: Preset, overrides: dict[str, Any], quick: bool) -> str:
    """What differs from the book in this run (shown in the table)."""
    notes = []
    dim = (overrides.get("encoder") or {}).get("dim")
    if dim:
        notes.append(f"GloVe {dim}d (book: {preset.encoder_dim}d)")
    if quick:
        notes.append("--quick")
    return "; ".join(notes)


# --------------------------------------------------------------------------- the sweep


def write_run_configs(folder: Path, runs: dict[str, dict[str, Any]]) -> None:
    """``<folder>/experiment/book-run/<preset>.yaml``: the preset plus its overrides."""
    target = folder / "experiment" / RUN_GROUP
    target.mkdir(parents=True, exist_ok=True)
    for name, overrides in runs.items():
        body = OmegaConf.to_yaml(OmegaConf.create({
            "defaults": [f"/experiment/book/{name}", "_self_"],
            **overrides,
            "tracking": {"run_name": f"book/{name} seed=${{trainer.seed}}"},
        }))
        (target / f"{name}.yaml").write_text(
            "# @package _global_\n# written by seqexp-book: the book preset with this "
            f"machine's data\n{body}")


def sweep_command(folder: Path, names: list[str], seeds: int, uri: str, experiment: str,
                  sweep_dir: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "seqexp.run", "-m",
            f"hydra.searchpath=[file://{folder}]",
            f"hydra.sweep.dir={sweep_dir}",
            "experiment=" + ",".join(f"{RUN_GROUP}/{n}" for n in names),
            "trainer.seed=" + ",".join(str(s) for s in range(seeds)),
            f"tracking.uri={uri}", f"tracking.experiment={experiment}", *extra]


def find_parent(client, experiment: str, sweep_dir: Path):
    """The sweep's parent run: the one that ran (or, with --resume, continued) in
    ``sweep_dir`` (its ``seqexp.sweep.dir`` tag)."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return None
    runs = client.search_runs([exp.experiment_id],
                              filter_string=f"tags.`seqexp.sweep.dir` = '{sweep_dir}'")
    return runs[0] if runs else None


# --------------------------------------------------------------------------- the table


def verdict(preset: Preset, mean: float) -> str:
    low, high = book_range(preset)
    if low is None or mean != mean:
        return "n/a"
    if low <= mean <= high:
        return VERDICTS[0]
    above = mean > high
    return VERDICTS[2] if above == preset.lower_is_better else VERDICTS[1]


# A figure the book gives only as "~x" (no range) is read to the precision it is written in:
# x +- 0.01 for an MAE (~0.265), x +- 0.02 for an accuracy (~85%).
APPROXIMATE = {"mae": 0.01, "acc": 0.02}


def book_range(preset: Preset) -> tuple[float | None, float | None]:
    """The book's range for the preset: its ``range``, else ``reported`` read as "~x"."""
    rng = preset.book.get("range")
    if rng:
        return float(min(rng)), float(max(rng))
    reported = preset.book.get("reported")
    if reported is None:
        return None, None
    tolerance = APPROXIMATE["mae" if preset.lower_is_better else "acc"]
    return float(reported) - tolerance, float(reported) + tolerance


def book_text(preset: Preset) -> str:
    reported, (low, high) = preset.book.get("reported"), book_range(preset)
    if reported is None and low is None:
        return preset.book.get("note") or "not stated"
    text = f"{reported:g}" if reported is not None else ""
    if low is not None:
        text += f" [{low:g}, {high:g}]" if preset.book.get("range") else " (~)"
    return text.strip()


def table(presets: list[Preset], children: list, skipped: dict[str, str],
          notes: dict[str, str]):
    """One row per preset: the book's figure, seqexp's mean +- std over seeds and its 95%
    Student-t interval, the naive baseline, the verdict (or why it was skipped / failed)."""
    import numpy as np
    import pandas as pd

    from seqexp.compare import interval

    by_preset: dict[str, list] = {}
    for run in children:
        name = run.data.tags.get("mlflow.runName", "")
        if name.startswith("book/"):
            by_preset.setdefault(name[5:].rsplit(" seed=", 1)[0], []).append(run)
    rows = []
    for preset in presets:
        runs = by_preset.get(preset.name, [])
        done = [r for r in runs if r.info.status == "FINISHED"
                and preset.metric in r.data.metrics]
        values = [r.data.metrics[preset.metric] for r in done]
        naive_key = preset.metric.replace("best_", "naive_", 1)
        naive = np.array([r.data.metrics.get(naive_key, math.nan) for r in done], dtype=float)
        # one seed has no spread and no interval: NaN (shown n/a), never a made-up 0
        _, mean, std, ci_low, ci_high = interval(values)
        if preset.name in skipped:
            result = f"skipped: {skipped[preset.name]}"
        elif not done:
            result = f"failed ({len(runs)} runs, none finished)" if runs else "not run"
        else:
            result = verdict(preset, mean)
        low, high = book_range(preset)
        rows.append({
            "listing": preset.listing, "preset": f"book/{preset.name}",
            "metric": preset.metric, "book": book_text(preset),
            "book_reported": preset.book.get("reported"), "book_low": low, "book_high": high,
            "mean": mean, "std": std, "ci_low": ci_low, "ci_high": ci_high,
            "runs": len(done), "failed": len(runs) - len(done),
            "naive": float(naive.mean()) if len(naive) else math.nan,
            "book_baseline": preset.book.get("baseline"),
            "verdict": result, "notes": notes.get(preset.name, ""),
        })
    return pd.DataFrame(rows)


def markdown(frame, title: str) -> str:
    lines = [f"# {title}", "",
             "| listing | preset | metric | what the book reports | seqexp mean +- std (n) "
             "| 95% interval | naive baseline | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for row in frame.itertuples():
        if row.runs:
            spread = f"{row.std:.4f}" if row.std == row.std else "n/a"
            ours = f"{row.mean:.4f} +- {spread} ({row.runs})"
            ci = f"[{row.ci_low:.4f}, {row.ci_high:.4f}]" if row.ci_low == row.ci_low else "n/a"
            naive = f"{row.naive:.4f}"
        else:
            ours, ci, naive = "-", "-", "-"
        if row.book_baseline == row.book_baseline and row.book_baseline is not None:
            naive += f" (book: {row.book_baseline:g})"
        verdict_text = row.verdict + (f" ({row.notes})" if row.notes else "")
        lines.append(f"| {row.listing} | {row.preset} | {row.metric} | {row.book} | {ours} "
                     f"| {ci} | {naive} | {verdict_text} |")
    return "\n".join(lines) + "\n"


def figure(frame):
    """Per preset run: seqexp's mean +- std, the book's range and figure, the baseline;
    one panel per metric."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ran = frame[frame["runs"] > 0]
    metrics = list(dict.fromkeys(ran["metric"])) or ["(nothing ran)"]
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 1.2 + 0.6 * max(
        1, max((ran["metric"] == m).sum() for m in metrics))), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        part = ran[ran["metric"] == metric].reset_index(drop=True)
        for y, row in part.iterrows():
            if row["book_low"] == row["book_low"] and row["book_low"] is not None:
                ax.plot([row["book_low"], row["book_high"]], [y, y], color="tab:green",
                        linewidth=8, alpha=0.3, solid_capstyle="butt",
                        label="book's range" if y == 0 else None)
            if row["book_reported"] is not None and row["book_reported"] == row["book_reported"]:
                ax.plot(row["book_reported"], y, "g|", markersize=14,
                        label="book" if y == 0 else None)
            spread = row["std"] if row["std"] == row["std"] else None  # n=1: no bar
            ax.errorbar(row["mean"], y, xerr=spread, fmt="o", color="tab:blue",
                        capsize=4, label="seqexp mean +- std" if y == 0 else None)
            ax.plot(row["naive"], y, "kx", label="naive baseline" if y == 0 else None)
        ax.set_yticks(range(len(part)), [f"{r.listing} {r.preset[5:]}" for r in
                                         part.itertuples()])
        ax.invert_yaxis()
        ax.set_xlabel(metric)
        if len(part):
            ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def write_outputs(frame, out: Path, title: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "book.md", out / "book.csv", out / "book.png"]
    paths[0].write_text(markdown(frame, title))
    frame.to_csv(paths[1], index=False)
    fig = figure(frame)
    fig.savefig(paths[2], dpi=120)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return paths


# --------------------------------------------------------------------------- entry point


def parse_args(argv: list[str] | None):
    parser = console.ArgumentParser(
        prog="seqexp-book",
        description="Run the chapter-6 book presets whose data is at hand, each for --seeds "
                    "seeds, as one MLflow sweep, and write book.md, book.csv and book.png "
                    "(what the book reports beside seqexp's mean +- std and the baseline).")
    parser.add_argument("--jena", type=Path, help="jena_climate_2009_2016.csv or its .zip")
    parser.add_argument("--imdb", type=Path, help="Keras's imdb.npz (word index beside it "
                                                  "as imdb_word_index.json, or --word-index)")
    parser.add_argument("--word-index", type=Path, help="imdb_word_index.json")
    parser.add_argument("--raw-imdb", type=Path, help="the aclImdb folder or its .tar.gz")
    parser.add_argument("--glove", type=Path, help="GloVe vectors (.txt, .txt.gz or .zip); "
                                                   "another dimension than 100 is used as is")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per preset (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: one short epoch per job, fewer validation examples")
    parser.add_argument("--only", nargs="+", metavar="PRESET",
                        help="run only these presets (e.g. 6.39-gru 6.12)")
    parser.add_argument("--offline", action="store_true",
                        help="never try downloads: presets without a local file are skipped")
    parser.add_argument("--out", type=Path, default=Path("book"),
                        help="folder for book.md, book.csv, book.png (default ./book)")
    parser.add_argument("--uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI, "
                                      "else sqlite:///mlflow.db)")
    parser.add_argument("--experiment", default="seqexp-book", help="MLflow experiment")
    parser.add_argument("--resume", action="store_true",
                        help="continue the latest book sweep with the same presets, seeds and "
                             "overrides: finished jobs are reused, interrupted ones continue "
                             "from their backups (seqexp's sweep.resume=last)")
    parser.add_argument("overrides", nargs="*", metavar="[DATASET:]KEY=VALUE",
                        help="more seqexp overrides: KEY=VALUE for every job (e.g. "
                             "trainer.verbose=0), DATASET:KEY=VALUE for the presets on that "
                             "dataset only (e.g. jena:dataset.train=[0,100000])")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    for option in ("jena", "imdb", "word_index", "raw_imdb", "glove"):
        path = getattr(args, option)
        if path is not None and not path.exists():
            parser.error(f"--{option.replace('_', '-')} {path} does not exist: give the path "
                         "of a local copy, or leave the option out")
        if path is not None:
            setattr(args, option, path.resolve())
    return args


def main(argv: list[str] | None = None) -> None:
    console.quiet()
    args = parse_args(argv)
    presets = load_presets()
    runs, skipped, notes = {}, {}, {}
    if args.only:
        chosen = [p for p in presets if any(p.name == o or p.name.startswith(f"{o}-")
                                            or p.listing == o for o in args.only)]
        if not chosen:
            print(f"seqexp-book: error: --only {' '.join(args.only)} names no preset: choose "
                  f"from {', '.join(p.name for p in presets)}", file=sys.stderr)
            sys.exit(2)
        presets = chosen
    else:  # the chapter's table; the other book presets only when named with --only
        for preset in presets:
            if preset.chapter != CHAPTER:
                skipped[preset.name] = (f"chapter {preset.chapter}, not in chapter {CHAPTER}'s "
                                        f"table: --only {preset.listing} runs it")
    common, scoped = split_overrides(args.overrides)
    src = Sources(jena=args.jena, imdb=args.imdb, word_index=args.word_index,
                  raw_imdb=args.raw_imdb, glove=args.glove, online=not args.offline)
    for preset in presets:
        if preset.name in skipped:
            continue
        overrides, why = plan(preset, src)
        if overrides is None:
            skipped[preset.name] = why
            continue
        if args.quick:
            merge(overrides, quick_overrides(preset))
        merge(overrides, scoped_overrides(scoped, preset))
        runs[preset.name] = overrides
        notes[preset.name] = deviations(preset, overrides, args.quick)
    for name, why in skipped.items():
        print(f"seqexp-book: skipped book/{name}: {why}")
    uri = args.uri or os.environ.get("MLFLOW_TRACKING_URI") or \
        f"sqlite:///{Path('mlflow.db').resolve()}"
    out = args.out.resolve()
    title = (f"Deep Learning with Python, chapter {CHAPTER}: the book vs seqexp "
             f"({args.seeds} seed{'s' if args.seeds > 1 else ''} per preset"
             f"{', --quick' if args.quick else ''})")
    children, parent, code = [], None, 0
    if runs:
        from mlflow.tracking import MlflowClient

        with tempfile.TemporaryDirectory(prefix="seqexp-book-") as scratch:
            folder = Path(scratch)
            write_run_configs(folder, runs)
            sweep_dir = out / "multirun" / time.strftime("%Y-%m-%d_%H-%M-%S")
            command = sweep_command(folder, list(runs), args.seeds, uri, args.experiment,
                                    sweep_dir, common + (["sweep.resume=last"] if args.resume
                                                         else []))
            print(f"seqexp-book: {len(runs)} presets x {args.seeds} seeds = "
                  f"{len(runs) * args.seeds} jobs, one sweep in {uri}", flush=True)
            code = subprocess.run(command, env={**os.environ}).returncode
        client = MlflowClient(tracking_uri=uri)
        parent = find_parent(client, args.experiment, sweep_dir)
        if parent is None:
            print(f"seqexp-book: error: the sweep (exit code {code}) recorded no parent run "
                  f"in {uri}: see its messages above", file=sys.stderr)
            sys.exit(2)
        children = client.search_runs(
            [parent.info.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    frame = table(presets, children, skipped, notes)
    paths = write_outputs(frame, out, title)
    if parent is not None:
        for path in paths:
            client.log_artifact(parent.info.run_id, str(path), "book")
    print()
    print(markdown(frame, title))
    print(f"seqexp-book: wrote {', '.join(str(p) for p in paths)}"
          + (f"; MLflow parent run {parent.info.run_id}" if parent is not None else ""))
    if code:
        sys.exit(1)


if __name__ == "__main__":
    main()
