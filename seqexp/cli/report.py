"""``seqexp-report``: leaderboards of an MLflow store, printed and written as
leaderboard.md/.csv/.png (:func:`seqexp.reporting.leaderboard.report`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from seqexp import console
from seqexp.errors import SeqexpError


def parser() -> argparse.ArgumentParser:
    p = console.ArgumentParser(
        prog="seqexp-report", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Leaderboards of seqexp runs, best first: metric vs naive baseline, skill,\n"
                    "the params that differ, epochs, time, status; runs differing only by\n"
                    "trainer.seed grouped by configuration (n, mean ± std, 95% CI, Welch p).",
        epilog="examples:\n  seqexp-report --uri sqlite:///mlflow.db --out report/\n"
               "  seqexp-report --uri http://127.0.0.1:5000 --sweep latest\n"
               "  seqexp-report --end-dead    # end runs whose process was killed as FAILED")
    p.add_argument("--uri", help="tracking URI: sqlite:///path.db or http://host:port (default: "
                   "MLFLOW_TRACKING_URI, else MLflow's default store, ./mlflow.db)")
    p.add_argument("--experiment", default="seqexp", help="experiment name (default: %(default)s)")
    p.add_argument("--sweep", metavar="RUN_ID",
                   help="report only this sweep's child runs ('latest': the most recent sweep)")
    p.add_argument("--out", type=Path, default=Path("report"),
                   help="folder for leaderboard.md/.csv/.png (default: %(default)s/)")
    p.add_argument("--end-dead", action="store_true",
                   help="end the runs left RUNNING by a dead process on this host as FAILED "
                        "(tag 'error' says which process died), print them, write no report")
    return p


def main(argv: list[str] | None = None) -> None:
    console.quiet()
    p = parser()
    args = p.parse_args(argv)
    from mlflow.exceptions import MlflowException

    from seqexp.reporting.leaderboard import report
    from seqexp.tracking.store import unreadable

    try:
        report(args)
    except (SeqexpError, OSError) as err:  # OSError: --out not writable, ...
        p.exit(2, f"seqexp-report: error: {err}\n")
    except MlflowException as err:  # unreachable server, unknown run id, bad store
        p.exit(2, f"seqexp-report: error: {unreadable(args.uri, err)}\n")


if __name__ == "__main__":
    main()
