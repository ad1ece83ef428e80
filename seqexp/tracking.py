"""MLflow tracking: one run per job, params, per-epoch metrics in batches, artifacts, tags.

Uses ``MlflowClient`` with an explicit run id (no fluent active-run stack), so jobs that share
one process (Hydra's basic launcher) or run in parallel never log into each other's runs. A
sweep's parent run id reaches each job through ``SEQEXP_PARENT_RUN_ID``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sys
import time
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqexp.errors import SeqexpError

PARENT_ENV = "SEQEXP_PARENT_RUN_ID"
SWEEP_KEYS_ENV = "SEQEXP_SWEEP_KEYS"  # the keys a sweep varies: its jobs are named by them
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


def tracking_uri(cfg: DictConfig) -> str | None:
    """``tracking.uri``, else ``MLFLOW_TRACKING_URI``, else None (MLflow's default store)."""
    return cfg.tracking.uri or os.environ.get("MLFLOW_TRACKING_URI") or None


_READY_STORES: set[str] = set()


def resolved_uri(uri: str | None) -> str:
    """``uri``, or MLflow's default, with a relative sqlite path made absolute."""
    import mlflow

    resolved = uri or mlflow.get_tracking_uri()
    if resolved.startswith("sqlite:///") and not resolved.startswith("sqlite:////"):
        resolved = f"sqlite:///{Path(resolved[len('sqlite:///'):]).resolve()}"
    return resolved


def client_for(uri: str | None):
    """A client of ``uri``; a sqlite store is created or upgraded under a file lock beside
    it, once, so processes opening a fresh store at the same moment never race in MLflow's
    schema migration."""
    import mlflow
    from mlflow.tracking import MlflowClient

    resolved = uri or mlflow.get_tracking_uri()
    if not resolved.startswith("sqlite:///") or resolved in _READY_STORES:
        return MlflowClient(tracking_uri=uri)
    from seqexp.data.download import file_lock

    db = Path(resolved[len("sqlite:///"):].split("?")[0])
    db.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(db.with_name(db.name + ".lock")):
        client = MlflowClient(tracking_uri=uri)  # opens the store: creates or upgrades it
    _READY_STORES.add(resolved)
    return client


def existing_store(uri: str | None) -> str:
    """The resolved ``uri`` of a store a reader opens: a sqlite file that is not there is an
    error, not a new empty store left behind."""
    resolved = resolved_uri(uri or os.environ.get("MLFLOW_TRACKING_URI"))
    if resolved.startswith("sqlite:///") and not Path(resolved.removeprefix("sqlite:///")
                                                       .split("?")[0]).is_file():
        raise SeqexpError(f"no MLflow store at {resolved}: no such file; pass --uri or set "
                          "MLFLOW_TRACKING_URI")
    return resolved


def experiment_id(client, name: str) -> str:
    """Get or create the experiment; safe when parallel jobs race to create it."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


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


CHECKPOINT_TAG = "seqexp.checkpoint_dir"


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

    def history(self, keys: list[str]) -> dict[str, list[float]]:
        """Each metric's per-epoch values as logged, in step order; where a step was logged
        more than once, its latest value (by timestamp) counts."""
        out = {}
        for key in keys:
            logged = sorted(self.client.get_metric_history(self.id, key),
                            key=lambda m: (m.step, m.timestamp))
            by_step = {m.step: m.value for m in logged}
            out[key] = [by_step[step] for step in sorted(by_step)]
        return out

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

    def log_text(self, text: str, name: str) -> None:
        self.client.log_text(self.id, text, name)

    def log_figure(self, figure, name: str) -> None:
        self.client.log_figure(self.id, figure, name)

    def log_artifact(self, path: str | Path) -> None:
        self.client.log_artifact(self.id, str(path))

    # ---------------------------------------------------------------- per-epoch metrics
    def log_epochs(self, journal: list) -> None:
        """Log every committed epoch of ``journal`` (:class:`seqexp.backup.Record`) that the
        store does not hold yet, each as one batch at its own step and time: logging is
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

    def unlogged(self, journal: list) -> list[int]:
        """Steps of ``journal`` not (known to be) in the store."""
        return [r.step for r in journal if r.step + 1 not in (self._logged_steps or set())]

    # ---------------------------------------------------------------- the job's outcome
    OUTCOME = ("results.json", "description.md", "learning_curves.png", "best.weights.h5")

    def finish(self, results: Mapping[str, float], figure, description: str = "") -> None:
        """The job's final scores, description and learning curves, kept in the run's folder
        first, then logged with the best weights; while the store is away they wait there and
        :func:`end_run` says how to upload them."""
        from seqexp.backup import write_atomic

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
        from seqexp.backup import Backup

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
            set_description(self, description.read_text())
            self.uploaded.add(description.name)
        for name in self.OUTCOME[2:]:
            if (self.folder / name).exists() and name not in self.uploaded:
                self.log_artifact(self.folder / name)
                self.uploaded.add(name)


class StoreAway(Exception):
    """The MLflow store could not be reached (the reason is the message)."""


# MLflow retries a failed HTTP request for minutes by default (7 retries, backoff 2, 120 s
# timeout): during training a store that went away would stall every epoch end.
HTTP_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
                "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
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
        from seqexp.backup import Backup, write_atomic

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

    from seqexp.backup import write_atomic

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
    return (f"run {run.id}: {len(run._logged_steps or ())} epochs' metrics, the final scores "
            f"and artifacts are in {run.uri}; status {pending['status']}")


def flush_main(argv: list[str] | None = None) -> None:
    from seqexp import console

    console.quiet()
    parser = console.ArgumentParser(
        prog="seqexp-flush",
        description="Upload the metrics, scores and weights a run kept in its folder while "
                    "its MLflow store was unavailable, and set the run's final status.")
    parser.add_argument("folder", help="the run's folder, as the job's last line named it")
    args = parser.parse_args(argv)
    try:
        print(flush(Path(args.folder)))
    except SeqexpError as err:
        print(f"seqexp-flush: error: {err}", file=sys.stderr)
        sys.exit(2)


EPOCH_KEY = "epoch_seconds"  # logged with every epoch: which steps the store holds


def store_errors() -> tuple[type[BaseException], ...]:
    """What a store that went away raises (server down, sqlite locked, network)."""
    import requests
    from mlflow.exceptions import MlflowException

    errors: list[type[BaseException]] = [MlflowException, requests.RequestException, OSError,
                                         StoreAway]
    try:
        from sqlalchemy.exc import SQLAlchemyError

        errors.append(SQLAlchemyError)
    except ImportError:
        pass
    return tuple(errors)


def short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:160]}" if text else type(err).__name__


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


def check_reachable(uri: str | None) -> None:
    """Fail in one line, within seconds, when an HTTP tracking server does not answer
    (MLflow's own client would retry for minutes)."""
    if not uri or not uri.startswith(("http://", "https://")):
        return
    import requests

    try:
        requests.get(uri.rstrip("/") + "/health", timeout=5).raise_for_status()
    except requests.RequestException as err:
        raise SeqexpError(f"the MLflow tracking server {uri} is unreachable "
                          f"({type(err).__name__}); start it or fix tracking.uri / "
                          "MLFLOW_TRACKING_URI") from None


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
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise SeqexpError(f"cannot open the MLflow store {uri or '(default)'}: {first}; "
                          "check tracking.uri / MLFLOW_TRACKING_URI") from None
    return Run(client, run.info.run_id, uri=resolved_uri(uri))


def record_failure(cfg: DictConfig, err: BaseException) -> None:
    """A FAILED run for a job that failed before it could open one (a refused config in a
    sweep), so the sweep's table shows it with its reason."""
    from seqexp.sweeps.identity import JOB_TAG, job_digest

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
    this invocation's tracking settings and the resume id."""
    from mlflow.exceptions import MlflowException

    client = client_for(tracking_uri(cfg))
    run_id = cfg.trainer.resume
    try:
        text = client.download_artifacts(run_id, "config.yaml")
    except (MlflowException, OSError):
        raise SeqexpError(f"trainer.resume={run_id}: no recorded config.yaml for that run in "
                          f"{tracking_uri(cfg) or 'the default MLflow store'}") from None
    recorded = OmegaConf.load(text)
    return OmegaConf.merge(recorded, {"tracking": cfg.tracking,
                                      "trainer": {"resume": run_id}})


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
        from seqexp.sweeps.identity import JOB_TAG, job_digest

        run.set_tags({"seqexp.pid": os.getpid(), "seqexp.host": socket.gethostname(),
                      JOB_TAG: job_digest(cfg), **context_tags()})
        yield run
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        run.set_tags({"error": "interrupted (Ctrl-C or SIGTERM); continue it with "
                               f"trainer.resume={run.id}"})
        exc = sys.exc_info()[1]
        exc.run_id = run.id  # for the one-line message in run.py
        raise
    except BaseException as err:
        run.set_tags({"error": f"{type(err).__name__}: {err}"[:5000]})
        err.run_id = run.id  # recorded: run.py need not record the failure again
        raise
    finally:
        if monitor is not None:
            monitor.finish()
        end_run(run, status)


# ---------------------------------------------------------------- MLflow's UI conventions
# What MLflow's UI fills its columns from: a description (``mlflow.note.content``), source
# and user tags, the dataset as a run input (Dataset column), a logged model (Models column,
# ``mlflow.pyfunc.load_model``, the registry), and system metrics (``system/...`` charts).

DESCRIPTION_TAG = "mlflow.note.content"


def applicable_params(params: Mapping[str, str]) -> dict[str, str]:
    """The params that say something about the run: no ``None`` fields, and no download
    address or checksum where a local file (``...path``) was given instead."""
    local = {key.removesuffix("path") for key, value in params.items()
             if key.endswith("path") and value not in ("None", "")}
    superseded = {f"{prefix}{what}" for prefix in local for what in ("url", "sha256")}
    return {key: value for key, value in params.items()
            if value != "None" and key not in superseded}


def context_tags() -> dict[str, str]:
    """MLflow's own user and source tags (``mlflow.user``, ``mlflow.source.name`` and
    ``.type``), as the fluent API would set them."""
    from mlflow.tracking.context.registry import resolve_tags

    keep = ("mlflow.user", "mlflow.source.name", "mlflow.source.type")
    return {key: value for key, value in resolve_tags().items() if key in keep}


def run_name_of(run: Run) -> str:
    return run.client.get_run(run.id).info.run_name


def set_description(run: Run, text: str) -> None:
    """The run's description in MLflow's UI (Markdown), cut at a line end to fit a tag."""
    if len(text) > 7900:
        text = text[:text.rfind("\n", 0, 7800)] + "\n\n(cut here: the rest is in the artifacts)"
    run.set_tags({DESCRIPTION_TAG: text})


def log_dataset(run: Run, name: str, source: str, sha256: str | None, url: str | None = None,
                profile: Mapping[str, Any] | None = None) -> None:
    """The dataset as the run's input: name, digest (its sha256's first 8 hex digits) and
    source (the download address, else the local file), so MLflow's Dataset column shows it."""
    import json

    from mlflow.entities import Dataset, DatasetInput, InputTag

    # the source as MLflow's own HTTPDatasetSource / LocalArtifactDatasetSource write it
    source_type, where = ("http", {"url": url}) if url else ("local", {"uri": str(source)})
    entity = Dataset(name=name, digest=str(sha256 or "unknown")[:8],
                     source_type=source_type, source=json.dumps(where),
                     profile=json.dumps(dict(profile), default=str) if profile else None)
    run.client.log_inputs(run.id, datasets=[
        DatasetInput(entity, tags=[InputTag("mlflow.data.context", "training")])])


def log_keras_model(run: Run, model, example) -> None:
    """The trained model as an MLflow model (Keras flavor) with its signature and an input
    example, linked to the run: the Models column, ``mlflow.pyfunc.load_model(
    "runs:/<id>/model")`` and the model registry work with it. Requirements are given (the
    installed keras and backend) rather than inferred, which would reload the model in a
    subprocess."""
    import importlib.metadata

    import keras
    import mlflow
    import mlflow.keras
    from mlflow.models import Model, infer_signature

    backend = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(
        keras.backend.backend())
    requirements = [f"keras=={keras.__version__}"]
    if backend:
        try:
            requirements.append(f"{backend}=={importlib.metadata.version(backend)}")
        except importlib.metadata.PackageNotFoundError:  # tensorflow-cpu and the like
            requirements.append(backend)
    signature = infer_signature(example, model.predict(example, verbose=0))
    # the logged model belongs to the run's experiment (Model.log alone would file it under
    # the fluent API's active experiment, "Default")
    experiment = run.client.get_run(run.id).info.experiment_id
    logged = run.client.create_logged_model(experiment, name="model", source_run_id=run.id,
                                            model_type="keras")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(run.client.tracking_uri)  # Model.log uploads through the fluent API
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras's predict progress bars
            Model.log(artifact_path=None, name="model", flavor=_KERAS_FLAVOR, model=model,
                      signature=signature, input_example=example,
                      pip_requirements=requirements, run_id=run.id, model_id=logged.model_id,
                      validate_serving_input=False)
    finally:
        mlflow.set_tracking_uri(previous)


def _save_keras_model(path: str, validate_serving_input: bool = True, **kwargs: Any) -> None:
    # mlflow.keras.save_model (3.17) writes the input example before it creates ``path``;
    # ``validate_serving_input`` is Model.log's (reload and predict the example), not the flavor's
    os.makedirs(path, exist_ok=True)
    import mlflow.keras

    mlflow.keras.save_model(path=path, **kwargs)


_KERAS_FLAVOR = types.SimpleNamespace(__name__="mlflow.keras", save_model=_save_keras_model)


def monitor_system(run: Run, interval: float = 5.0):
    """MLflow's system-metrics monitor on ``run`` (CPU, memory, disk, network; GPU with
    ``nvidia-ml-py``), started; ``.finish()`` it before the run ends. None without psutil."""
    try:
        import psutil  # noqa: F401  (MLflow's monitors need it)
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
    except ImportError:
        return None
    monitor = SystemMetricsMonitor(run.id, sampling_interval=interval,
                                   resume_logging=run.resumed,
                                   tracking_uri=run.client.tracking_uri)
    monitor.start()
    return monitor
