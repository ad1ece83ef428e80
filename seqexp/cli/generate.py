"""``seqexp-generate RUN_ID``: text sampled from a finished ``dataset=text`` run's model
(:func:`seqexp.training.generation.from_run`)::

    seqexp-generate RUN_ID                                # the run's own seed, 4 temperatures
    seqexp-generate RUN_ID --seed "the old doctor " --temperatures 0.5 1.0 --length 300
    seqexp-generate RUN_ID --uri sqlite:///mlflow.db --random-seed 7
"""

from __future__ import annotations

import argparse
import os
import sys

from seqexp import console
from seqexp.errors import SeqexpError


def parser() -> argparse.ArgumentParser:
    p = console.ArgumentParser(
        prog="seqexp-generate",
        description="Print text sampled from a finished dataset=text run's model.")
    p.add_argument("run_id", help="MLflow run id of a finished dataset=text run")
    p.add_argument("--seed", dest="seed_text", default=None,
                   help="text to continue (default: the seed the run sampled from)")
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.2, 0.5, 1.0, 1.2])
    p.add_argument("--length", type=int, default=400, help="characters per sample")
    p.add_argument("--random-seed", type=int, default=0, help="seed of the draws")
    p.add_argument("--uri", default=None,
                   help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or ./mlflow.db)")
    return p


def main(argv: list[str] | None = None) -> None:
    console.quiet()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    args = parser().parse_args(argv)
    from mlflow.exceptions import MlflowException

    from seqexp.tracking.store import unreadable
    from seqexp.training.generation import from_run

    try:
        print(from_run(args.uri, args.run_id, args.seed_text, args.temperatures, args.length,
                       args.random_seed))
    except SeqexpError as err:
        _fail(str(err))
    except MlflowException as err:
        _fail(str(unreadable(args.uri, err)))


def _fail(message: str) -> None:
    print(f"seqexp-generate: error: {message}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    main()
