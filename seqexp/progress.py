"""Progress of the long data stages: a tqdm bar on a terminal, one line when there is none.

A stage (a download, reading an archive, vectorizing texts, parsing GloVe vectors, building a
character corpus, cleaning a record) is a context manager that counts what it has done:

    with progress.stage("read aclImdb_v1.tar.gz", total=size, unit="B") as bar:
        for member in archive:
            ...
            bar.update_to(raw.tell())
        bar.result = f"{reviews:,} reviews"

When stderr is a terminal, a tqdm bar is drawn there while the stage runs and replaced by the
stage's line when it ends; otherwise (CI, a log file, ``nohup``) only that line is written,
once: ``seqexp: read aclImdb_v1.tar.gz: 50,000 reviews in 11.6 s``. A stage done within
:data:`SHORT_S` shows neither, unless it has a ``report`` (the data faults it fixed); a stage
that fails writes no line (its error says why). ``trainer.verbose=0`` silences bars and lines alike
(:func:`verbosity`, entered by each job with that setting; Keras's own bar follows it too).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

_verbose: Any = 1  # trainer.verbose of the job running in this process
SHORT_S = 1.0  # a stage done sooner shows no bar and says nothing (unless it has a report)


def set_verbose(level: Any) -> None:
    """Follow ``trainer.verbose``: 0 shows nothing, anything else bars or lines."""
    global _verbose
    _verbose = level


@contextlib.contextmanager
def verbosity(level: Any) -> Iterator[None]:
    """:func:`set_verbose` for one job, the previous level restored after it (jobs that share
    a process, such as a notebook's, do not inherit each other's setting)."""
    before = _verbose
    set_verbose(level)
    try:
        yield
    finally:
        set_verbose(before)


def shown() -> bool:
    return _verbose not in (0, "0", False)


def on_terminal(stream: IO | None = None) -> bool:
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def amount(n: float, unit: str) -> str:
    """``84.1 MB`` for bytes, ``50,000 reviews`` for anything else."""
    if unit == "B":
        for size, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
            if n >= size:
                return f"{n / size:.1f} {name}"
        return f"{int(n)} B"
    return f"{int(n):,} {unit}"


class Stage:
    """What a running stage has done: ``update``/``update_to`` move its count (and its bar);
    ``result`` is the text of its closing line (default: the count in its unit); ``report``,
    what it found that the user must see (data faults fixed), follows the time."""

    def __init__(self, what: str, total: float | None, unit: str, bar=None):
        self.what, self.total, self.unit = what, total, unit
        self.n = 0
        self.result: str | None = None
        self.report: str | None = None  # must be seen, said after the time: "; 3 ... filled"
        self.started = time.perf_counter()
        self._bar = bar

    def set_total(self, total: float | None) -> None:
        """The total, once known (a download learns it from the first response)."""
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def update(self, n: float = 1) -> None:
        self.n += n
        if self._bar is not None and n:
            self._bar.update(n)

    def update_to(self, n: float) -> None:
        self.update(n - self.n)

    def wrap(self, items: Iterable) -> Iterator:
        """Yield ``items``, counting each one handed out."""
        for item in items:
            yield item
            self.update()

    def line(self) -> str:
        seconds = time.perf_counter() - self.started
        line = f"seqexp: {self.what}: {self.result or amount(self.n, self.unit)} in {seconds:.1f} s"
        return f"{line}; {self.report}" if self.report else line

    def worth_a_line(self) -> bool:
        return self.report is not None or time.perf_counter() - self.started >= SHORT_S


@contextlib.contextmanager
def stage(what: str, total: float | None = None, unit: str = "items") -> Iterator[Stage]:
    """A long stage of data preparation (see the module doc); ``what`` reads as done:
    ``"read aclImdb_v1.tar.gz"``, ``"vectorized 45,000 texts"``."""
    bar = None
    if shown() and on_terminal():
        from tqdm import tqdm

        bar = tqdm(total=total, desc=f"seqexp: {what}", unit=unit, file=sys.stderr,
                   leave=False, dynamic_ncols=True, mininterval=0.2, delay=SHORT_S,
                   unit_scale=unit == "B", unit_divisor=1000)
    done = Stage(what, total, unit, bar)
    try:
        yield done
    finally:
        if bar is not None:
            bar.close()  # leave=False: the bar is wiped, the line takes its place
    if shown() and done.worth_a_line():
        print(done.line(), file=sys.stderr, flush=True)
