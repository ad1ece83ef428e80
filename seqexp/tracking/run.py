"""One MLflow run, addressed by id: its params (the flattened config), metrics in batches, tags,
artifacts, its own folder, the per-epoch metrics of its backup journal (logged once each, also
after a resume or an outage) and the job's outcome.

Uses ``MlflowClient`` with an explicit run id (no fluent active-run stack), so jobs that share
one process (Hydra's basic launcher) or run in parallel never log into each other's runs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from seqexp.errors import SeqexpError
from seqexp.files import write_atomic
from seqexp.tracking.store import StoreAway, short, store_errors

MAX_PARAM_CHARS = 6000


def flatten(tree: Any, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}``; lists stay one value, as written in YAML."""
    out: dict[str, str] = {}
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
    else:
        out[prefix[:-1]] = str(tree)[:MAX_PARAM_CHARS]
    return out


NOT_PARAMS = ("book", "sweep")  # what the book reports for a preset, how a sweep resumes:
# not settings of the run


def params_of(config: Mapping[str, Any]) -> dict[str, str]:
    """A run's params: its flattened config, less what is not a setting of the run."""
    return flatten({key: value for key, value in config.items() if key not in NOT_PARAMS})


CHECKPOINT_TAG = "seqexp.checkpoint_dir"
DESCRIPTION_TAG = "mlflow.note.content"  # the run's description in MLflow's UI
EPOCH_KEY = "epoch_seconds"  # logged with every epoch: which steps the store holds


class Run:
    """One MLflow run, addressed by id."""

    def __init__(self, client, run_id: str, resumed: bool = False, uri: str | None = None):
        self.client = client
        self.id = run_id
        self.resumed = resumed
        self.uri = uri
        self.folder: Path | None = None  # the run's own folder (checkpoint_dir), once known
        self.uploaded: set[str] = set()  # final outcome pieces already in the store
        self._logged_steps: set[int] | None = None  # steps of per-epoch metrics in the store
        self.store_error: str | None = None  # set while the store is away

    def checkpoint_dir(self, root: Path) -> Path:
        """This run's own folder, ``<root>/<run id>``: recorded on the run, so a resume finds
        it; never shared with another run, whatever ``root`` is."""
        if self.resumed:
            recorded = self.client.get_run(self.id).data.tags.get(CHECKPOINT_TAG)
            if not recorded or not Path(recorded).is_dir():
                raise SeqexpError(f"run {self.id} has no checkpoint folder to resume from "
                                  f"({recorded or 'none recorded'}); start a new run instead")
            self.folder = Path(recorded)
            return self.folder
        folder = (root / self.id).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        self.set_tags({CHECKPOINT_TAG: str(folder)})
        self.folder = folder
        return folder

    @property
    def epochs_logged(self) -> int:
        """How many epochs' metrics the store is known to hold."""
        return len(self._logged_steps or ())

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:MAX_PARAM_CHARS]) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.id, params=items[i:i + 100])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0,
                    timestamp: int | None = None) -> None:
        """All metrics in one ``log_batch`` call (one request, whatever their number)."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000) if timestamp is None else timestamp
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        if items:
            self.client.log_batch(self.id, metrics=items)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(k, str(v)) for k, v in tags.items() if v is not None]
        if items:
            self.client.log_batch(self.id, tags=items)

    def set_description(self, text: str) -> None:
        """The run's description in MLflow's UI (Markdown), cut at a line end to fit a tag."""
        if len(text) > 7900:
            text = (text[:text.rfind("\n", 0, 7800)]
                    + "\n\n(cut here: the rest is in the artifacts)")
        self.set_tags({DESCRIPTION_TAG: text})

    def log_text(self, text: str, name: str) -> None:
        self.client.log_text(self.id, text, name)

    def log_artifact(self, path: str | Path) -> None:
        self.client.log_artifact(self.id, str(path))

    # ---------------------------------------------------------------- per-epoch metrics
    def log_epochs(self, journal: list) -> None:
        """Log every committed epoch of ``journal`` (:class:`seqexp.training.backup.Record`)
        that the store does not hold yet, each as one batch at its own step and time: logging is
        idempotent, so a resume or a store that comes back logs each step exactly once.
        While the store is away, the epochs stay in the journal (on disk) and training goes
        on; the first failure is reported in one line."""
        try:
            if self._logged_steps is None:
                self._logged_steps = {m.step for m in self.client.get_metric_history(
                    self.id, EPOCH_KEY)}
            for record in journal:  # MLflow steps count epochs from 1, as Keras prints them
                if record.step + 1 in self._logged_steps:
                    continue
                self.log_metrics(record.metrics, step=record.step + 1,
                                 timestamp=record.timestamp)
                self._logged_steps.add(record.step + 1)
        except store_errors() as err:
            if self.store_error is None:
                print(f"seqexp: warning: the MLflow store is unavailable ({short(err)}); "
                      f"training goes on, metrics wait in {self.folder or 'the backup'}",
                      file=sys.stderr)
            self.store_error = short(err)
            return
        if self.store_error is not None:
            print("seqexp: the MLflow store is back; buffered metrics logged", file=sys.stderr)
        self.store_error = None

    # ---------------------------------------------------------------- the job's outcome
    OUTCOME = ("results.json", "description.md", "learning_curves.png", "best.weights.h5")

    def finish(self, results: Mapping[str, float], figure, description: str = "") -> None:
        """The job's final scores, description and learning curves, kept in the run's folder
        first, then logged with the best weights; while the store is away they wait there and
        :func:`seqexp.tracking.outage.end_run` says how to upload them."""

        write_atomic(self.folder / "results.json",
                     lambda tmp: tmp.write_text(json.dumps(dict(results))))
        if description:
            write_atomic(self.folder / "description.md", lambda tmp: tmp.write_text(description))
        write_atomic(self.folder / "learning_curves.png",
                     lambda tmp: figure.savefig(tmp, format="png"))
        try:
            self.upload_outcome()
        except store_errors() as err:
            self.store_error = self.store_error or short(err)

    def upload_outcome(self) -> None:
        """Log what the store lacks: buffered epochs, the final scores, the artifacts."""
        from seqexp.training.backup import Backup

        self.log_epochs(Backup(self.folder / "backup").journal())
        if self.store_error is not None:
            raise StoreAway(self.store_error)
        results = self.folder / "results.json"
        if results.exists() and "results.json" not in self.uploaded:
            final = json.loads(results.read_text())
            # at the last epoch's step: the table shows the best epoch's val_skill, not the
            # last epoch's
            self.log_metrics(final, step=int(final.get("epochs_run", 0)))
            self.uploaded.add("results.json")
        description = self.folder / "description.md"
        if description.exists() and description.name not in self.uploaded:
            self.set_description(description.read_text())
            self.uploaded.add(description.name)
        for name in self.OUTCOME[2:]:
            if (self.folder / name).exists() and name not in self.uploaded:
                self.log_artifact(self.folder / name)
                self.uploaded.add(name)
