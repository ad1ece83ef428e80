"""``seqexp-rerun RUN_ID``: run a recorded run again from its own config, in a new run
(:func:`seqexp.tracking.rerun.rerun`)."""

from __future__ import annotations

import sys

from seqexp import console
from seqexp.errors import SeqexpError
from seqexp.tracking.rerun import PROG


def parser() -> console.ArgumentParser:
    p = console.ArgumentParser(
        prog=PROG, description="Run a recorded seqexp run again from its recorded config "
                               "(a new MLflow run in the same experiment), after saying how the "
                               "code and packages differ from the run's record.")
    p.add_argument("run_id", help="MLflow run id of the run to recreate")
    p.add_argument("--uri", help="tracking URI of the run's store (default: "
                                 "MLFLOW_TRACKING_URI, else ./mlflow.db); the new run goes there")
    p.add_argument("--check", action="store_true",
                   help="only say how this checkout and environment differ from the record")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="seqexp overrides on top of the recorded config (e.g. trainer.epochs=1)")
    return p


def main(argv: list[str] | None = None) -> None:
    console.quiet()
    args = parser().parse_args(argv)
    from mlflow.exceptions import MlflowException

    from seqexp.tracking.rerun import rerun
    from seqexp.tracking.store import unreadable

    try:
        code = rerun(args)
    except SeqexpError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except MlflowException as err:
        print(f"{PROG}: error: {unreadable(args.uri, err)}", file=sys.stderr)
        sys.exit(2)
    sys.exit(code)


if __name__ == "__main__":
    main()
