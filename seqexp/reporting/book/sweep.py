"""The presets' runs as ONE Hydra multirun of ``seqexp``.

For each runnable preset a two-line experiment config is written into a scratch folder on
Hydra's search path (``experiment=book-run/<preset>``) that includes the preset and adds the
local paths (and, with ``--quick``, fewer epochs and steps); the sweep then varies
``experiment`` over those and ``trainer.seed`` over the seeds. :func:`run_book` is
``seqexp-book`` from the presets to the written table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from seqexp import child_process
from seqexp.errors import SeqexpError
from seqexp.reporting.book.presets import CHAPTER, load_presets
from seqexp.reporting.book.render import markdown, write_outputs
from seqexp.reporting.book.sources import (
    Sources,
    deviations,
    plan,
    quick_overrides,
    scoped_overrides,
    split_overrides,
)
from seqexp.reporting.book.verdicts import table
from seqexp.tracking.store import default_uri

RUN_GROUP = "book-run"


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
    return [sys.executable, "-m", "seqexp.cli.run", "-m",
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


def run_book(args: argparse.Namespace) -> int:
    """``seqexp-book``'s work: plan the presets, run them as one sweep, write the table and
    print it. Returns the sweep's exit code (0: every job finished)."""
    presets = load_presets()
    runs, skipped, notes = {}, {}, {}
    if args.only:
        chosen = [p for p in presets if any(p.name == o or p.name.startswith(f"{o}-")
                                            or p.listing == o for o in args.only)]
        if not chosen:
            raise SeqexpError(f"--only {' '.join(args.only)} names no preset: choose "
                              f"from {', '.join(p.name for p in presets)}")
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
        overrides = OmegaConf.to_container(OmegaConf.merge(
            overrides, quick_overrides(preset) if args.quick else {},
            scoped_overrides(scoped, preset)))
        runs[preset.name] = overrides
        notes[preset.name] = deviations(preset, overrides, args.quick)
    for name, why in skipped.items():
        print(f"seqexp-book: skipped book/{name}: {why}")
    uri = default_uri(args.uri)
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
            # a SIGTERM/Ctrl-C of seqexp-book stops the sweep at a safe point, then the table
            code = child_process.run(command, env={**os.environ}).returncode
        client = MlflowClient(tracking_uri=uri)
        parent = find_parent(client, args.experiment, sweep_dir)
        if parent is None and code == 2:  # refused (bad input): the sweep said why, in one line
            return code
        if parent is None:
            raise SeqexpError(f"the sweep (exit code {code}) recorded no parent run in {uri}: "
                              "see its messages above")
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
    return code
