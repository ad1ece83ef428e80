"""An Optuna search on the bundled Jena sample with and without pruning: the same seeded TPE
search (hparams_search=jena-optuna), once with hydra/sweeper/pruner=none and once with
median. Prints, for each, the epochs trained (summed over the trials' child runs), trials
pruned, the best trial's validation MAE and configuration, and the wall time.

    .venv/bin/python bench/bench_pruning.py [--trials 10] [--epochs 6] [--steps 10]

Each search runs in a temp folder with its own MLflow store and study.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def search(folder: Path, pruner: str, args) -> dict:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{folder / 'mlflow.db'}"
    command = [sys.executable, "-m", "seqexp.cli.run", "hparams_search=jena-optuna",
               f"hydra/sweeper/pruner={pruner}", f"hydra.sweeper.n_trials={args.trials}",
               "hydra.sweeper.params={model: 'choice(gru)', model.units: 'choice(8, 16, 32)', "
               "trainer.learning_rate: 'tag(log, interval(0.00001, 0.1))'}",
               f"trainer.epochs={args.epochs}", f"trainer.steps_per_epoch={args.steps}",
               "trainer.verbose=0", "tracking.log_model=false",
               "tracking.system_metrics=false", f"tracking.uri={uri}"]
    start = time.monotonic()
    out = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    wall = time.monotonic() - start
    if out.returncode != 0:
        sys.exit(f"search with pruner={pruner} failed:\n{out.stderr[-3000:]}")
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("seqexp")
    children = [r for r in client.search_runs([exp.experiment_id])
                if r.data.tags.get("mlflow.parentRunId")]
    best = min(children, key=lambda r: r.data.metrics["best_val_mae"])
    return {"epochs": int(sum(r.data.metrics["epochs_run"] for r in children)),
            "trials": len(children),
            "pruned": sum(r.data.tags.get("optuna.state") == "PRUNED" for r in children),
            "best": best.data.metrics["best_val_mae"],
            "config": f"units={best.data.params['model.units']} "
                      f"lr={float(best.data.params['trainer.learning_rate']):.2g}",
            "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    results = {}
    for pruner in ("none", "median"):
        with tempfile.TemporaryDirectory(prefix=f"bench-pruning-{pruner}-") as folder:
            results[pruner] = search(Path(folder), pruner, args)
    print(f"{args.trials} trials x {args.epochs} epochs of {args.steps} steps, jena-sample")
    print(f"{'pruner':8} {'epochs':>6} {'pruned':>6} {'best val MAE':>12}  {'best config':22} "
          f"{'wall':>7}")
    for pruner, r in results.items():
        print(f"{pruner:8} {r['epochs']:6d} {r['pruned']:6d} {r['best']:12.4f}  "
              f"{r['config']:22} {r['wall']:6.0f}s")
    ratio = results["median"]["epochs"] / results["none"]["epochs"]
    print(f"epochs trained with pruning / without: {ratio:.2f}")


if __name__ == "__main__":
    main()
