"""A run's training state on disk: one generation per completed epoch, written atomically.

Layout of ``<run folder>/backup/``::

    epoch-0003.weights.h5   weights and optimizer state after 3 completed epochs
    epoch-0003.json         that epoch's record: step 2, its logged metrics, the best so far

Each file is written under a temporary name and renamed into place, weights first: a
generation exists once its ``.json`` exists (the commit point), so a kill at any moment
leaves either the previous generation or the new one, never a torn file under a final name.
The weights of the latest two generations and of the best epoch are kept (the best epoch's
are the run's best weights); every ``.json`` is kept: together they are the run's per-epoch
journal, the source of the history the job reports and of the metrics the tracker logs
(buffered there while the MLflow store is away).
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqexp.errors import SeqexpError
from seqexp.files import write_atomic

NAME = re.compile(r"^epoch-(\d{4,})\.json$")


@dataclass
class Record:
    """One completed epoch: ``step`` (0-based), its metrics, and the best epoch so far."""

    step: int
    metrics: dict[str, float]
    timestamp: int  # ms since the epoch, when the epoch ended
    best_step: int | None
    best_value: float | None

    @property
    def epochs_done(self) -> int:
        return self.step + 1

    def to_json(self) -> str:
        return json.dumps({"step": self.step, "metrics": self.metrics,
                           "timestamp": self.timestamp, "best_step": self.best_step,
                           "best_value": self.best_value})

    @classmethod
    def from_json(cls, text: str) -> Record:
        raw = json.loads(text)
        return cls(int(raw["step"]), {k: float(v) for k, v in raw["metrics"].items()},
                   int(raw["timestamp"]), raw.get("best_step"), raw.get("best_value"))


class Backup:
    """The generations under ``folder`` (``<run folder>/backup``)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def weights(self, epochs_done: int) -> Path:
        return self.folder / f"epoch-{epochs_done:04d}.weights.h5"

    def record_path(self, epochs_done: int) -> Path:
        return self.folder / f"epoch-{epochs_done:04d}.json"

    def journal(self) -> list[Record]:
        """Every committed epoch's record, by step (unreadable records are skipped)."""
        records = {}
        if not self.folder.is_dir():
            return []
        for path in self.folder.iterdir():
            match = NAME.match(path.name)
            if not match:
                continue
            try:
                record = Record.from_json(path.read_text())
            except (OSError, ValueError, KeyError, TypeError):
                continue
            records[record.step] = record
        return [records[step] for step in sorted(records)]

    def history(self, keys: list[str]) -> dict[str, list[float]]:
        """Each key's per-epoch values in step order (NaN where an epoch lacks it)."""
        journal = self.journal()
        return {key: [r.metrics.get(key, math.nan) for r in journal] for key in keys}

    def commit(self, model, record: Record) -> None:
        """Write the generation of ``record.epochs_done`` completed epochs, then prune."""
        self.folder.mkdir(parents=True, exist_ok=True)
        done = record.epochs_done
        write_atomic(self.weights(done),
                     lambda tmp: model.save_weights(str(tmp), overwrite=True))
        write_atomic(self.record_path(done), lambda tmp: tmp.write_text(record.to_json()))
        keep = {done, done - 1}
        if record.best_step is not None:
            keep.add(record.best_step + 1)
        for path in self.folder.glob("epoch-*.weights.h5"):
            number = int(path.name.split("-")[1].split(".")[0])
            if number not in keep:
                path.unlink(missing_ok=True)

    def restore(self, model) -> Record | None:
        """Load the latest whole generation into ``model``; None if there is none at all.

        A generation that cannot be read (a damaged file) is reported in one line and the
        one before it is used; its record and any later ones are dropped, so the epochs
        after it are trained again.
        """
        for stale in self.folder.glob(".epoch-*"):  # temporary files of a killed write
            stale.unlink(missing_ok=True)
        journal = self.journal()
        damaged: list[str] = []
        for record in reversed(journal):
            path = self.weights(record.epochs_done)
            if not path.exists():
                if record is journal[-1]:
                    damaged.append(f"{path.name} is missing")
                continue
            try:
                load_weights(model, path)
            except Exception as err:  # h5py/Keras raise OSError, ValueError, KeyError...
                damaged.append(f"{path.name} is damaged ({type(err).__name__})")
                continue
            if damaged:
                print(f"seqexp: warning: backup {'; '.join(damaged)} in {self.folder}: "
                      f"continuing from epoch {record.epochs_done}", file=sys.stderr)
                for later in journal:
                    if later.step > record.step:
                        self.record_path(later.epochs_done).unlink(missing_ok=True)
                        self.weights(later.epochs_done).unlink(missing_ok=True)
            return record
        if journal:
            raise SeqexpError(f"the backup in {self.folder} has no readable generation "
                              f"({'; '.join(damaged) or 'no weights'}): this run cannot "
                              "continue; start a new run")
        return None

    def best_weights(self, model, target: Path) -> Record | None:
        """Load the best epoch's weights into ``model`` and copy them to ``target``."""
        journal = self.journal()
        if not journal or journal[-1].best_step is None:
            return None
        best = next((r for r in journal if r.step == journal[-1].best_step), None)
        source = self.weights(journal[-1].best_step + 1)
        if best is None or not source.exists():
            return None
        load_weights(model, source)
        write_atomic(target, lambda tmp: tmp.write_bytes(source.read_bytes()))
        return best

    def epoch_callback(self, monitor: str, mode: str, on_commit: Callable[[Record], Any],
                       best: tuple[int, float] | None = None):
        """A Keras callback committing each completed epoch, then calling ``on_commit``
        (the tracker): the tracker never sees an epoch the backup does not hold."""
        import keras

        backup = self

        class CommitEpochs(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.best = best

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                metrics = {k: float(v) for k, v in (logs or {}).items()}
                metrics["epoch_seconds"] = time.perf_counter() - self._start
                value = metrics.get(monitor)
                if value is not None and math.isfinite(value) and (
                        self.best is None or (value < self.best[1] if mode == "min"
                                              else value > self.best[1])):
                    self.best = (epoch, value)
                record = Record(epoch, metrics, int(time.time() * 1000),
                                *(self.best or (None, None)))
                backup.commit(self.model, record)
                on_commit(record)

        return CommitEpochs()


def load_weights(model, path: Path) -> None:
    """Weights and optimizer state (the optimizer is built first, as Keras needs)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)
    model.load_weights(str(path))
