"""A job's run from start to end: created (a child of the sweep's parent, if any) or reopened
for ``trainer.resume`` with the run's recorded config, its name, its tags, a FAILED run for a
job refused before it could open one, and :func:`open_run`, which always ends the run.

A sweep's parent run id reaches each job through ``SEQEXP_PARENT_RUN_ID``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator, Mapping

from omegaconf import DictConfig, OmegaConf

from seqexp.errors import SeqexpError
from seqexp.tracking.conventions import applicable_params, context_tags, monitor_system
from seqexp.tracking.outage import end_run
from seqexp.tracking.run import Run, params_of
from seqexp.tracking.store import (
    HTTP_RETRIES,
    check_reachable,
    client_for,
    experiment_id,
    resolved_uri,
    tracking_uri,
    unopenable,
)

PARENT_ENV = "SEQEXP_PARENT_RUN_ID"
SWEEP_KEYS_ENV = "SEQEXP_SWEEP_KEYS"  # the keys a sweep varies: its jobs are named by them


def device() -> str:
    """``gpu:<name>`` or ``cpu`` for the active Keras backend."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"gpu:{gpus[0].name}" if gpus else "cpu"
    if backend == "jax":
        import jax

        first = jax.devices()[0]
        return f"gpu:{first.device_kind}" if first.platform == "gpu" else first.platform
    if backend == "torch":
        import torch

        return f"gpu:{torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "cpu"
    return "cpu"


def run_name(cfg: DictConfig) -> str:
    """``tracking.run_name``; else, in a sweep, the overrides the sweep varies
    (``model=gru,trainer.learning_rate=0.01``); else the job's command-line overrides; else
    ``<dataset>-<model>``."""
    if cfg.tracking.run_name:
        return cfg.tracking.run_name
    try:
        from hydra.core.hydra_config import HydraConfig

        overrides = [o for o in HydraConfig.get().overrides.task if not o.startswith("tracking")]
    except ValueError:  # not under Hydra (tests calling run_job directly)
        overrides = []
    varied = os.environ.get(SWEEP_KEYS_ENV)
    if varied:
        keys = set(varied.split(","))
        overrides = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") in keys]
    return ",".join(overrides)[:250] or f"{cfg.dataset.name}-{cfg.model.name}"


def create_run(cfg: DictConfig, name: str, tags: Mapping[str, str] | None = None) -> Run:
    """A new run in ``tracking.experiment`` (a child of the sweep's parent, if any)."""
    from mlflow.exceptions import MlflowException

    uri = tracking_uri(cfg)
    check_reachable(uri)
    try:
        client = client_for(uri)
        exp = experiment_id(client, cfg.tracking.experiment)
        all_tags = {"mlflow.runName": name, **(tags or {})}
        if os.environ.get(PARENT_ENV):
            all_tags["mlflow.parentRunId"] = os.environ[PARENT_ENV]
        run = client.create_run(exp, run_name=name, tags=all_tags)
    except (MlflowException, OSError) as err:
        raise unopenable(uri, err) from None
    return Run(client, run.info.run_id, uri=resolved_uri(uri))


def record_failure(cfg: DictConfig, err: BaseException) -> None:
    """A FAILED run for a job that failed before it could open one (a refused config in a
    sweep), so the sweep's table shows it with its reason."""
    from seqexp.tracking.identity import JOB_TAG, job_digest

    run = create_run(cfg, run_name(cfg))
    run.set_tags({"error": f"{type(err).__name__}: {err}"[:5000], JOB_TAG: job_digest(cfg)})
    run.log_params(applicable_params(params_of(OmegaConf.to_container(cfg, resolve=False))))
    run.client.set_terminated(run.id, "FAILED")


def reopen_run(cfg: DictConfig, run_id: str) -> Run:
    """An interrupted (KILLED), FAILED or orphaned (RUNNING) run, set RUNNING again."""
    from mlflow.exceptions import MlflowException

    uri = tracking_uri(cfg)
    check_reachable(uri)
    client = client_for(uri)
    try:
        status = client.get_run(run_id).info.status
    except MlflowException:
        raise SeqexpError(f"trainer.resume={run_id}: no such run in the MLflow store "
                          f"{uri or '(default)'}; give the id of a killed or failed run") from None
    if status == "FINISHED":
        raise SeqexpError(f"trainer.resume={run_id}: that run already FINISHED; "
                          "start a new run (e.g. with more trainer.epochs) instead")
    client.update_run(run_id, status="RUNNING")
    return Run(client, run_id, resumed=True, uri=resolved_uri(uri))


def recorded_config(cfg: DictConfig) -> DictConfig:
    """For ``trainer.resume``: the resumed run's own config (its config.yaml artifact), with
    this invocation's tracking settings, sweep switches (a resumed search's trial) and the
    resume id."""
    from mlflow.exceptions import MlflowException

    client = client_for(tracking_uri(cfg))
    run_id = cfg.trainer.resume
    try:
        text = client.download_artifacts(run_id, "config.yaml")
    except (MlflowException, OSError):
        raise SeqexpError(f"trainer.resume={run_id}: no recorded config.yaml for that run in "
                          f"{tracking_uri(cfg) or 'the default MLflow store'}") from None
    recorded = OmegaConf.load(text)
    now = {"tracking": cfg.tracking, "trainer": {"resume": run_id}}
    if cfg.get("sweep") is not None:
        now["sweep"] = cfg.sweep
    return OmegaConf.merge(recorded, now)


@contextlib.contextmanager
def open_run(cfg: DictConfig) -> Iterator[Run]:
    """Start the job's run (a child of the sweep's parent if there is one), log the config,
    and always end it: FINISHED, FAILED with the error recorded, or KILLED on interrupt.
    With ``trainer.resume`` the run is the resumed one, continued in place."""
    if cfg.trainer.get("resume"):
        run = reopen_run(cfg, cfg.trainer.resume)
    else:
        run = create_run(cfg, run_name(cfg))
    for name, value in HTTP_RETRIES.items():  # a store that goes away fails in seconds
        os.environ.setdefault(name, value)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    status = "FAILED"
    monitor = None
    try:
        if cfg.tracking.get("system_metrics", True):
            monitor = monitor_system(run)
        if not run.resumed:
            run.log_params(applicable_params(params_of(resolved)))
            run.log_text(OmegaConf.to_yaml(resolved), "config.yaml")
        from seqexp.tracking.identity import JOB_TAG, job_digest

        run.set_tags({"seqexp.pid": os.getpid(), "seqexp.host": socket.gethostname(),
                      JOB_TAG: job_digest(cfg), **context_tags()})
        yield run
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        run.set_tags({"error": "interrupted (Ctrl-C or SIGTERM); continue it with "
                               f"trainer.resume={run.id}"})
        exc = sys.exc_info()[1]
        exc.run_id = run.id  # for the one-line message of seqexp.cli.run
        raise
    except BaseException as err:
        run.set_tags({"error": f"{type(err).__name__}: {err}"[:5000]})
        err.run_id = run.id  # recorded: seqexp.cli.run need not record it again
        raise
    finally:
        if monitor is not None:
            monitor.finish()
        end_run(run, status)
