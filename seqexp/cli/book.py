"""``seqexp-book``: run the chapter-6 book presets whose data is at hand as one MLflow sweep and
write the table of the book's figures beside seqexp's (:mod:`seqexp.reporting.book`)."""

from __future__ import annotations

import sys
from pathlib import Path

from seqexp import console
from seqexp.errors import SeqexpError


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
    from seqexp.reporting.book.sweep import run_book

    try:
        code = run_book(args)
    except SeqexpError as err:
        print(f"seqexp-book: error: {err}", file=sys.stderr)
        sys.exit(2)
    if code:
        # 2: the sweep refused its input (its line says why); 130: it was stopped (resumable)
        sys.exit(code if code in (2, 130) else 1)


if __name__ == "__main__":
    main()
