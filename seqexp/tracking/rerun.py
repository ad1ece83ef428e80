"""Run a recorded run again from its own config, in a new run (``seqexp-rerun RUN_ID``).

The recorded ``config.yaml`` (the resolved config the run trained with) becomes a one-off
experiment preset: its dataset, encoder and model options are chosen in its defaults and every
value is set as recorded, so nothing comes from today's defaults. Before it runs, it says how
this checkout and environment differ from the run's record
(:mod:`seqexp.tracking.provenance`); the new run's ``extra.rerun_of`` names the original.
``--check`` only says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from omegaconf import OmegaConf

from seqexp.errors import SeqexpError
from seqexp.tracking import provenance

PROG = "seqexp-rerun"  # its lines start so
GROUP = "rerun"
PATH_KEYS = (("dataset", "path"), ("dataset", "word_index_path"), ("encoder", "path"))


def fetch(client, run_id: str, folder: Path) -> tuple[object, dict[str, str | None]]:
    """The run and its recorded files (config.yaml, requirements, diff; None where absent)."""
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise SeqexpError(f"no run {run_id} in this MLflow store: give the id of a recorded "
                          "run (seqexp-report lists them), or --uri") from None
    files: dict[str, str | None] = {}
    for name in ("config.yaml", provenance.REQUIREMENTS, provenance.DIFF):
        try:
            files[name] = Path(client.download_artifacts(run_id, name, str(folder))).read_text()
        except (MlflowException, OSError):
            files[name] = None
    if files["config.yaml"] is None:
        raise SeqexpError(f"run {run_id} has no config.yaml artifact: it was not recorded by "
                          "seqexp (or not completely), so it cannot be rerun")
    return run, files


def local_paths(recorded) -> list[str]:
    """Files the record names that are not here but ship with this install (the bundled
    sample and corpus): read from this install instead. Returns what it changed."""
    from seqexp.config.schemas import bundled_file

    notes = []
    for group, key in PATH_KEYS:
        value = OmegaConf.select(recorded, f"{group}.{key}")
        if value and not Path(value).exists() and Path(bundled_file(Path(value).name)).exists():
            recorded[group][key] = bundled_file(Path(value).name)
            notes.append(f"{group}.{key}: the run's bundled {Path(value).name} is read from this "
                         "install")
    return notes


def preset(recorded, run, folder: Path) -> str:
    """Write the recorded config as ``experiment=rerun/<id>`` under ``folder``; return it."""
    body = OmegaConf.to_container(recorded, resolve=False)
    body.setdefault("trainer", {})["resume"] = None  # the store, experiment, run name: overrides
    body.pop("sweep", None)  # how the run's sweep resumed it, its trial: not the run's settings
    choices = [{f"override /{group}": body[group]["name"]} for group in
               ("dataset", "encoder", "model")]
    name = f"{GROUP}/{run.info.run_id}"
    target = folder / "experiment" / f"{name}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    text = OmegaConf.to_yaml(OmegaConf.create({"defaults": [*choices, "_self_"], **body}))
    target.write_text(f"# @package _global_\n# written by {PROG}: run {run.info.run_id}'s "
                      f"recorded config\n{text}")
    return name


def quoted(text: str) -> str:
    """``text`` as one quoted value of Hydra's override grammar (commas and ``=`` kept)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def rerun(args) -> int:
    from mlflow.tracking import MlflowClient

    from seqexp.tracking.store import existing_store

    uri = existing_store(args.uri)
    client = MlflowClient(tracking_uri=uri)
    with tempfile.TemporaryDirectory(prefix="seqexp-rerun-") as scratch:
        folder = Path(scratch)
        run, files = fetch(client, args.run_id, folder / "artifacts")
        found = provenance.differences(run.data.tags, files[provenance.REQUIREMENTS],
                                       files[provenance.DIFF])
        for line in found or [f"the same code and packages as run {args.run_id}"]:
            print(f"{PROG}: {line}")
        if args.check:
            return 0
        recorded = OmegaConf.create(files["config.yaml"])
        for line in local_paths(recorded):
            print(f"{PROG}: {line}")
        name = preset(recorded, run, folder)
        experiment = client.get_experiment(run.info.experiment_id).name
        command = [sys.executable, "-m", "seqexp.cli.run", f"hydra.searchpath=[file://{folder}]",
                   f"experiment={name}", f"tracking.uri={uri}",
                   f"tracking.experiment={experiment}",
                   f"tracking.run_name={quoted(f'rerun of {run.info.run_name}')}",
                   f"++extra.rerun_of={args.run_id}", *args.overrides]
        print(f"{PROG}: rerunning {args.run_id} ({run.info.run_name}) in experiment "
              f"{experiment}", flush=True)
        return subprocess.run(command, env={**os.environ}).returncode
