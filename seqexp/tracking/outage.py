"""A store that goes away mid-training: what waits in the run's folder is uploaded when it is
back (:func:`end_run`), else ``pending.json`` stays there and ``seqexp-flush`` (:func:`flush`)
uploads it later and ends the run."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from seqexp.errors import SeqexpError
from seqexp.files import write_atomic
from seqexp.tracking.conventions import log_keras_model
from seqexp.tracking.run import DESCRIPTION_TAG, Run
from seqexp.tracking.store import check_reachable, client_for, short, store_errors

PENDING = "pending.json"  # in a run's folder: what to upload once the store is back


def end_run(run: Run, status: str) -> None:
    """Upload what waits in the run's folder and set its final status; if the store is
    away, leave ``pending.json`` there and say in one line how to upload it later."""
    try:
        if run.folder is not None and run.folder.is_dir():
            run.upload_outcome()
        with contextlib.redirect_stdout(io.StringIO()):  # MLflow's "View run ..." lines
            run.client.set_terminated(run.id, status)
        if status == "FINISHED":
            print(f"seqexp: run {run.id} FINISHED: {run_address(run)}")
    except store_errors() as err:
        if run.folder is None or not run.folder.is_dir():
            raise
        reason = run.store_error or short(err)
        from seqexp.training.backup import Backup

        write_atomic(run.folder / PENDING, lambda tmp: tmp.write_text(json.dumps(
            {"run_id": run.id, "uri": run.uri, "status": status, "reason": reason})))
        epochs = len(Backup(run.folder / "backup").journal())
        raise SeqexpError(
            f"the MLflow store {run.uri} is unavailable ({reason}): run {run.id} ({status}) "
            f"is not fully recorded; its {epochs} epochs' metrics and final scores wait in "
            f"{run.folder}, its best weights in {run.folder / 'best.weights.h5'}; when the "
            f"store is back, upload them with: seqexp-flush {run.folder}") from None


def run_address(run: Run) -> str:
    """Where to see the run: its page on an HTTP tracking server, else its store."""
    uri = run.uri or run.client.tracking_uri
    if uri.startswith(("http://", "https://")):
        experiment = run.client.get_run(run.id).info.experiment_id
        return f"{uri.rstrip('/')}/#/experiments/{experiment}/runs/{run.id}"
    return f"{uri} (seqexp-ui shows it)"


MODEL_FILE, EXAMPLE_FILE = "model.keras", "input_example.npy"  # kept while the store is away


def keep_model(run: Run, model, example) -> None:
    """The trained model and its input example in the run's folder, for seqexp-flush to log
    as the run's MLflow model once the store is back."""
    import numpy as np


    write_atomic(run.folder / EXAMPLE_FILE, lambda tmp: np.save(tmp, example))
    write_atomic(run.folder / MODEL_FILE, model.save)


def flush_model(run: Run) -> None:
    """Log the model a run kept in its folder (:func:`keep_model`), unless the run has one."""
    kept = run.folder / MODEL_FILE
    if not kept.exists():
        return
    experiment = run.client.get_run(run.id).info.experiment_id
    if run.client.search_logged_models([experiment],
                                       filter_string=f"source_run_id = '{run.id}'"):
        return
    from seqexp import console

    console.load_backend()
    import keras
    import numpy as np

    log_keras_model(run, keras.saving.load_model(kept, compile=False),
                    np.load(run.folder / EXAMPLE_FILE))


def flush(folder: Path) -> str:
    """``seqexp-flush``: upload what a run left in ``folder`` while its store was away and
    set the run's final status. Returns a one-line summary."""
    pending_file = Path(folder) / PENDING
    if not pending_file.exists():
        raise SeqexpError(f"{folder} holds no {PENDING}: nothing waits to be uploaded")
    pending = json.loads(pending_file.read_text())
    check_reachable(pending["uri"])
    client = client_for(pending["uri"])
    run = Run(client, pending["run_id"], uri=pending["uri"])
    run.folder = Path(folder)
    recorded = client.get_run(run.id)
    if "best_epoch" in recorded.data.metrics:
        run.uploaded.add("results.json")
    if DESCRIPTION_TAG in recorded.data.tags:
        run.uploaded.add("description.md")
    run.uploaded.update(a.path for a in client.list_artifacts(run.id))
    if pending["status"] == "FINISHED":
        flush_model(run)
    end_run(run, pending["status"])
    pending_file.unlink()
    return (f"run {run.id}: {run.epochs_logged} epochs' metrics, the final scores "
            f"and artifacts are in {run.uri}; status {pending['status']}")
