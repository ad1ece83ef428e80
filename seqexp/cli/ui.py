"""``seqexp-ui`` (``make ui``): MLflow's UI on the store seqexp's runs went to, with the
address of the experiment's runs table (:func:`seqexp.reporting.ui.serve`)::

    seqexp-ui                                   # default store, experiment "seqexp"
    seqexp-ui tracking.uri=sqlite:///runs.db --port 5001
    seqexp-ui --no-server                       # save the view, print the address, exit
"""

from __future__ import annotations

import argparse
import sys

from seqexp import console
from seqexp.errors import SeqexpError


def parser() -> argparse.ArgumentParser:
    p = console.ArgumentParser(
        prog="seqexp-ui", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Start MLflow's UI on the store seqexp's runs went to and print the\n"
                    "address of the experiment's runs table, each run beside its baseline.",
        epilog="examples:\n"
               "  seqexp-ui\n"
               "  seqexp-ui tracking.uri=sqlite:///runs.db tracking.experiment=jena\n"
               "  seqexp-ui --port 5001")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="tracking.uri=... / tracking.experiment=..., as on seqexp's command "
                        "line (default: the config's, else MLFLOW_TRACKING_URI, else "
                        "sqlite:///mlflow.db)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (%(default)s)")
    p.add_argument("--port", type=int, default=None,
                   help="port (default: 5000, or a free one if 5000 is taken)")
    p.add_argument("--no-server", action="store_true",
                   help="save the table view and print the address only (a UI already runs)")
    return p


def main(argv: list[str] | None = None) -> None:
    console.setup()
    args = parser().parse_args(argv)
    from seqexp.reporting.ui import serve

    try:
        serve(args)
    except SeqexpError as err:
        print(f"seqexp-ui: error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
