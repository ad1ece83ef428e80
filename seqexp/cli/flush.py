"""``seqexp-flush FOLDER``: upload what a run kept in its folder while its MLflow store was
unavailable and set the run's final status (:func:`seqexp.tracking.outage.flush`)."""

from __future__ import annotations

import sys
from pathlib import Path

from seqexp import console
from seqexp.errors import SeqexpError


def main(argv: list[str] | None = None) -> None:
    console.quiet()
    parser = console.ArgumentParser(
        prog="seqexp-flush",
        description="Upload the metrics, scores and weights a run kept in its folder while "
                    "its MLflow store was unavailable, and set the run's final status.")
    parser.add_argument("folder", help="the run's folder, as the job's last line named it")
    args = parser.parse_args(argv)
    from seqexp.tracking.outage import flush

    try:
        print(flush(Path(args.folder)))
    except SeqexpError as err:
        print(f"seqexp-flush: error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
