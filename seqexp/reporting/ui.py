"""MLflow's UI (``seqexp-ui``, ``make ui``) on the store seqexp's runs went to, with the
address of the experiment's runs table, ready for comparing runs with their baseline.

The store is the one ``seqexp`` writes to: ``tracking.uri`` (from the config, or given as an
override like on ``seqexp``'s command line), else ``MLFLOW_TRACKING_URI``, else MLflow's
default, sqlite ``mlflow.db`` in the working directory. For an ``http(s)://`` tracking server
no UI is started: the address is on that server.

MLflow 3 opens an experiment in its GenAI view; ``#/experiments/<id>/runs?workflowType=
machine_learning`` goes straight to the runs table. The printed address also carries
``viewStateShareKey``: MLflow's "share view" mechanism, a table view saved as the experiment
tag ``mlflow.sharedViewState.<key>``. seqexp saves one that shows each run's
``naive_val_*``, ``best_val_*`` and ``val_skill`` columns first (then its description, dataset
and model), so no column needs picking; a sweep's child runs show with one click on its ``+``.

"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seqexp import console
from seqexp.errors import SeqexpError
from seqexp.tracking.store import default_uri, unreadable

SHARE_KEY = "seqexp-compare"
SHARE_TAG = "mlflow.sharedViewState."


def tracking_settings(overrides: list[str]) -> tuple[str, str]:
    """(store URI, experiment name) as ``seqexp`` would use them with these overrides."""
    unknown = [o for o in overrides if not o.startswith(("tracking.uri=", "tracking.experiment="))]
    if unknown:
        raise SeqexpError(f"{' '.join(unknown)}: seqexp-ui takes tracking.uri=... and "
                          "tracking.experiment=... only")
    from hydra import compose, initialize_config_module

    from seqexp.config import schemas

    schemas.register()
    with initialize_config_module(version_base="1.3", config_module="seqexp.conf"):
        cfg = compose("config", overrides=overrides)
    uri = default_uri(cfg.tracking.uri)
    return uri, cfg.tracking.experiment


def runs_address(base: str, experiment_id: str, share_key: str | None = SHARE_KEY) -> str:
    """The experiment's runs table in model-training mode (with the saved view)."""
    address = f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"
    return f"{address}&viewStateShareKey={share_key}" if share_key else address


def comparison_columns(metric_keys: set[str]) -> list[str]:
    """The table's columns, in order (MLflow's canonical keys): per task (:mod:`seqexp.tasks`)
    the columns it shows (its baseline, the model's best score), the skill; then the
    description, dataset and model."""
    from seqexp.tasks import all_tasks

    columns = []
    for task in all_tasks().values():
        columns += [f"metrics.`{key}`" for key in task.ui_columns() if key in metric_keys]
    if "val_skill" in metric_keys:
        columns.append("metrics.`val_skill`")
    return columns + ["attributes.`Description`", "attributes.`Dataset`", "attributes.`Models`"]


def save_view(client, experiment_id: str) -> str:
    """Save the comparison view as the experiment's shared view state; return its key.
    (Its ``runsExpanded`` is not applied by MLflow 3.17's UI: sweeps open with a click.)"""
    runs = client.search_runs([experiment_id], max_results=1000)
    keys = {key for run in runs for key in run.data.metrics}
    columns = comparison_columns(keys)
    state = {"selectedColumns": columns, "columnOrder": columns}
    client.set_experiment_tag(experiment_id, f"{SHARE_TAG}{SHARE_KEY}", json.dumps(state))
    return SHARE_KEY


def free_port(host: str, wanted: int | None) -> int:
    """``wanted``; else 5000 if free, else any free port."""
    if wanted is not None:
        return wanted
    for port in (5000, 0):
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise SeqexpError(f"no free port on {host}")


def start_server(uri: str, host: str, port: int, log: Path | None) -> subprocess.Popen:
    """``mlflow ui`` on ``uri``; its output goes to ``log`` (None: to this terminal)."""
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
               "--host", host, "--port", str(port)]
    out = open(log, "wb") if log else None  # noqa: SIM115 (the server outlives this call)
    return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT if out else None,
                            start_new_session=True)


def wait_ready(server: subprocess.Popen, base: str, log: Path | None,
               timeout: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise SeqexpError(f"mlflow ui exited with code {server.returncode}: "
                              f"{tail.strip().splitlines()[-1] if tail.strip() else 'no output'}"
                              f"{f' (log: {log})' if log else ''}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SeqexpError(f"mlflow ui did not answer on {base} within {timeout:.0f} s"
                      f"{f' (log: {log})' if log else ''}")


def serve(args: argparse.Namespace) -> None:
    from mlflow.exceptions import MlflowException

    uri, experiment = tracking_settings(args.overrides)
    remote = uri.startswith(("http://", "https://"))
    server, log = None, None
    if remote:
        base = uri.rstrip("/")
    elif args.no_server:
        base = f"http://{args.host}:{args.port or 5000}"
    else:
        port = free_port(args.host, args.port)
        base = f"http://{args.host}:{port}"
        log = (None if console.debug()
               else Path(tempfile.gettempdir()) / f"seqexp-ui-{port}.log")
        server = start_server(uri, args.host, port, log)
        try:
            wait_ready(server, base, log)
        except BaseException:
            stop_server(server)
            raise
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment)
        address = runs_address(base, found.experiment_id, save_view(client, found.experiment_id)
                               ) if found else None
    except MlflowException as err:
        raise unreadable(uri, err) from None

    print(f"seqexp-ui: MLflow UI on {uri}" + ("" if server is None else "  (Ctrl-C stops it)"))
    if address:
        print(f"  runs of experiment {experiment!r}, each beside its baseline:\n    {address}")
        print("  columns: naive_val_* (baseline), best_val_* (model), val_skill "
              "(> 0: better than the baseline)")
        print("  charts (Chart view): val_skill per epoch crosses 0 where a model beats the "
              "baseline")
    else:
        print(f"  no experiment {experiment!r} there yet: run `seqexp` first, then open\n"
              f"    {base}")
    if server is None:
        return
    if log:
        print(f"  server log: {log}")
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_server(server)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_server(server: subprocess.Popen) -> None:
    """End ``mlflow ui`` and the workers it started (its own process group)."""
    if server.poll() is not None:
        return
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    except ProcessLookupError:
        pass

